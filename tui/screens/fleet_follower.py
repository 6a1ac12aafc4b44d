"""A screen that shows the fleet's newest snapshot, without the app naming it.

The app keeps the newest snapshot in `app.snapshot` and pushes it into the screens it
knows by name. Screens opened from a key (hosts, one host) follow that attribute
instead: a cheap identity check a few times a second, so adding such a screen needs no
change to the app's snapshot handler, which other screens share.
"""

from __future__ import annotations

from textual.screen import Screen

from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.tui.deployment_actions import DeploymentActions

# Snapshots come at most once a second; a tenth of that is quick enough for the eye.
POLL_S = 0.1


class FleetFollower(Screen[None]):
    """Subclasses implement `show_fleet`; it is called once per new snapshot."""

    def on_mount(self) -> None:
        self._shown: FleetSnapshot | None = None
        self.set_interval(POLL_S, self._follow)
        self._follow()

    def show_fleet(self, snapshot: FleetSnapshot) -> None:
        raise NotImplementedError

    def _follow(self) -> None:
        app = self.app
        snapshot = app.snapshot if isinstance(app, DeploymentActions) else None
        if snapshot is not None and snapshot is not self._shown:
            self._shown = snapshot
            self.show_fleet(snapshot)
