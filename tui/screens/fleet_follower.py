"""A screen that shows the fleet's newest snapshot, without the app naming it.

The app keeps the newest snapshot in `app.snapshot` and, in the same batch as its own
widgets, calls `follow()` on every FleetFollower in the screen stack; a follower shows
a snapshot once (an identity check), so a new screen of this kind needs no change to
the app's snapshot handler. No timer: the screen repaints at the snapshot rate.
"""

from __future__ import annotations

from textual.screen import Screen

from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.tui.deployment_actions import DeploymentActions


class FleetFollower(Screen[None]):
    """Subclasses implement `show_fleet`; it is called once per new snapshot."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: FleetSnapshot | None = None

    def on_mount(self) -> None:
        self.follow()

    def on_screen_resume(self) -> None:
        # A screen kept between visits (the hosts screen) catches up the moment it is back.
        self.follow()

    def show_fleet(self, snapshot: FleetSnapshot) -> None:
        raise NotImplementedError

    def follow(self) -> None:
        """Show the app's newest snapshot, if this screen has not shown it yet."""
        app = self.app
        snapshot = app.snapshot if isinstance(app, DeploymentActions) else None
        if snapshot is not None and snapshot is not self._shown:
            self._shown = snapshot
            self.show_fleet(snapshot)
