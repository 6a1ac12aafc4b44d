"""The fleetdeck console: deployments and hosts of one fleet, live from the engine.

The app is handed a `SnapshotSource` (the engine, or a small scripted one in tests)
and only reads from it: one worker follows the snapshot stream and posts each
snapshot up as a message; the handler pushes it down into the tables' reactive
attributes in one batch, so the screen repaints once per snapshot.
"""

from __future__ import annotations

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from core.snapshot import DeploymentStatus, FleetSnapshot, HostState, SnapshotSource
from themes import DEFAULT_THEME, FLEETDECK_DARK, FLEETDECK_LIGHT, THEMES, status_variable_defaults
from tui.messages import SnapshotReceived
from tui.widgets.deployments_table import DeploymentsTable
from tui.widgets.hosts_table import HostsTable

SNAPSHOT_WORKER = "snapshots"
_SERVING = frozenset({DeploymentStatus.ACTIVE, DeploymentStatus.IDLE})


def fleet_summary(snapshot: FleetSnapshot) -> str:
    """The header's sub-title: how much of the fleet is up, at a glance."""
    serving = sum(d.status in _SERVING for d in snapshot.deployments)
    up = sum(h.state is HostState.UP for h in snapshot.hosts)
    return (
        f"{serving}/{len(snapshot.deployments)} deployments up · "
        f"{up}/{len(snapshot.hosts)} hosts up"
    )


class FleetdeckApp(App[None]):
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("t", "toggle_theme", "Light/dark"),
    ]

    def __init__(self, source: SnapshotSource, *, title: str, refresh_s: float = 1.0) -> None:
        super().__init__()
        self._source = source
        self._refresh_s = refresh_s
        self.snapshot: FleetSnapshot | None = None
        """The last snapshot shown; None until the first one arrives."""
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = DEFAULT_THEME
        self.title = title
        self.sub_title = "waiting for the first snapshot…"

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return status_variable_defaults(self.current_theme)

    def compose(self) -> ComposeResult:
        yield Header()
        yield DeploymentsTable(id="deployments")
        yield HostsTable(id="hosts")
        yield Footer()

    def on_mount(self) -> None:
        self._follow_snapshots()

    @work(name=SNAPSHOT_WORKER, group=SNAPSHOT_WORKER, exclusive=True, exit_on_error=False)
    async def _follow_snapshots(self) -> None:
        # Thin on purpose: on quit the worker is cancelled while it awaits the next
        # snapshot, and the cancellation ends the engine's stream where it waits.
        async for snapshot in self._source.snapshots(self._refresh_s):
            self.post_message(SnapshotReceived(snapshot))

    def on_snapshot_received(self, message: SnapshotReceived) -> None:
        snapshot = message.snapshot
        with self.batch_update():
            self.snapshot = snapshot
            self.query_one(DeploymentsTable).deployments = snapshot.deployments
            self.query_one(HostsTable).hosts = snapshot.hosts
            self.sub_title = fleet_summary(snapshot)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where the snapshot stream's end or failure is reported."""
        if event.worker.group != SNAPSHOT_WORKER:
            return
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            cause = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        elif event.state is WorkerState.SUCCESS:
            cause = "the engine ended the snapshot stream"
        else:
            return
        self.sub_title = "not updating: showing the last snapshot"
        self.notify(
            f"{cause}\nThe screen keeps the last snapshot; restart fleetdeck to reconnect.",
            title="Fleet updates stopped",
            severity="error",
            timeout=30,
        )

    def action_toggle_theme(self) -> None:
        dark = self.theme == FLEETDECK_DARK.name
        self.theme = FLEETDECK_LIGHT.name if dark else FLEETDECK_DARK.name
