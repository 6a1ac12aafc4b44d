"""Every host of the fleet, one row each; Enter opens one host's GPUs and processes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header

from fleetdeck.core.fleet.snapshot import FleetSnapshot, HostSnapshot
from fleetdeck.tui.screens.fleet_follower import FleetFollower
from fleetdeck.tui.screens.host_detail import HostDetailScreen
from fleetdeck.tui.widgets.host_list_table import HostListTable
from fleetdeck.tui.widgets.key_hints import KeyHints


class HostsScreen(FleetFollower):
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self) -> None:
        super().__init__()
        self._hosts: tuple[HostSnapshot, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        yield HostListTable(id="host-list")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one(HostListTable).focus()

    def show_fleet(self, snapshot: FleetSnapshot) -> None:
        self._hosts = snapshot.hosts
        self.query_one(HostListTable).hosts = snapshot.hosts

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        name = event.row_key.value
        if isinstance(event.data_table, HostListTable) and name is not None:
            shown = next((h for h in self._hosts if h.name == name), None)
            self.app.push_screen(HostDetailScreen(name, host=shown))

    def action_back(self) -> None:
        self.dismiss()
