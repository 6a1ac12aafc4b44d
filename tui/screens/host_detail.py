"""One host up close: connection, lease, CPU, memory, disk, network, its GPUs and the
processes on them (ours, with their replica, or a foreign tenant's)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Header

from fleetdeck.core.fleet.snapshot import FleetSnapshot, HostSnapshot
from fleetdeck.tui.screens.fleet_follower import FleetFollower
from fleetdeck.tui.widgets.gpu_processes_table import GpuProcessesTable
from fleetdeck.tui.widgets.gpu_table import GpuTable
from fleetdeck.tui.widgets.host_summary import HostSummary
from fleetdeck.tui.widgets.key_hints import KeyHints


class HostDetailScreen(FleetFollower):
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, host_name: str, *, host: HostSnapshot | None = None) -> None:
        super().__init__()
        self.host_name = host_name
        self.host = host
        """The latest snapshot of this host; kept when it leaves the fleet."""

    def compose(self) -> ComposeResult:
        yield Header()
        # The summary scrolls inside its own box, so a long error never pushes the GPUs
        # off a small terminal.
        with VerticalScroll(id="host-summary-box") as box:
            box.border_title = self.host_name
            yield HostSummary(id="host-summary")
        yield GpuTable(id="gpus")
        yield GpuProcessesTable(id="gpu-processes")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one(GpuTable).focus()
        self.show(self.host)

    def show_fleet(self, snapshot: FleetSnapshot) -> None:
        self.show(next((h for h in snapshot.hosts if h.name == self.host_name), None))

    def show(self, host: HostSnapshot | None) -> None:
        """Take this host's newest snapshot (None: it is no longer in the fleet)."""
        box = self.query_one("#host-summary-box", VerticalScroll)
        if host is None:
            if self.host is not None:
                box.border_subtitle = "no longer in the fleet: showing its last state"
            return
        box.border_subtitle = ""
        self.host = host
        self.query_one(HostSummary).host = host
        self.query_one(GpuTable).gpus = host.gpus
        self.query_one(GpuProcessesTable).gpus = host.gpus

    def action_back(self) -> None:
        self.dismiss()
