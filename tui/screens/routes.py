"""Every [[endpoints]] endpoint with one row per backend and the shadow: weights, requests,
errors, latency, TTFT and tokens/s of the arms side by side. `R` or `:routes` opens it.

It follows the fleet (FleetFollower): the app hands it each new snapshot, no timer.
Without an [[endpoints]] table in the inventory it says so, and where to read about them.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, Static

from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.tui.screens.fleet_follower import FleetFollower
from fleetdeck.tui.widgets.key_hints import KeyHints
from fleetdeck.tui.widgets.routes_table import RoutesTable, routed_endpoints

NO_ENDPOINTS = (
    "No [[endpoints]] are defined in this inventory: each deployment is served on its own "
    'endpoint only. README.md, "Endpoints: a router in front of your deployments", shows '
    "how to put one URL in front of several deployments (weights, shadow, sticky)."
)


class RoutesScreen(FleetFollower):
    BINDINGS = [Binding("escape", "back", "Back")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield RoutesTable(id="routes")
        empty = Static(NO_ENDPOINTS, id="routes-empty")
        empty.display = False  # until a snapshot without [[endpoints]]
        yield empty
        yield KeyHints()

    def on_mount(self) -> None:
        # FleetFollower's on_mount (Textual calls each class's handler) shows the fleet.
        self.query_one(RoutesTable).focus()

    def show_fleet(self, snapshot: FleetSnapshot) -> None:
        endpoints = routed_endpoints(snapshot.endpoints)
        table = self.query_one(RoutesTable)
        table.endpoints = endpoints
        table.display = bool(endpoints)
        self.query_one("#routes-empty", Static).display = not endpoints

    def action_back(self) -> None:
        self.dismiss()
