"""The fleetdeck console: deployments, hosts and events of one fleet, live from the engine.

The app is handed a `ConsoleBackend` (the engine, or a small scripted one in tests).
One worker follows the snapshot stream and posts each snapshot up as a message; the
handler pushes it down into the widgets in one batch, so the screen repaints once per
snapshot. Events arrive through `subscribe` and are marshalled in as messages. Actions
(scale, start, stop, restart) are thin workers: call the backend, post one result;
their failures are reported in one place, `on_worker_state_changed`.

Keys: `q` quits from every screen (the detail screen's Escape goes back); `?` lists all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from core.console_api import ConsoleBackend
from core.events import Event
from core.snapshot import DeploymentStatus, FleetSnapshot, HostState
from themes import DEFAULT_THEME, FLEETDECK_DARK, FLEETDECK_LIGHT, THEMES, status_variable_defaults
from tui.deployment_access import ClientHint
from tui.error_notice import describe_error
from tui.messages import ActionSucceeded, DeploymentSelected, EventReceived, SnapshotReceived
from tui.screens.confirm import ConfirmScreen
from tui.screens.deployment import DeploymentScreen
from tui.screens.help import HelpScreen
from tui.widgets.deployments_table import DeploymentsTable
from tui.widgets.events_panel import EventsPanel
from tui.widgets.hosts_table import HostsTable

SNAPSHOT_WORKER = "snapshots"
ACTION_WORKER = "actions"
_SERVING = frozenset({DeploymentStatus.ACTIVE, DeploymentStatus.IDLE})
_DEPLOYMENT_ACTIONS = frozenset({"scale", "start", "stop", "restart"})


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
        Binding("question_mark", "help", "Keys", key_display="?"),
        Binding("plus", "scale(1)", "Replica", key_display="+"),
        Binding("minus", "scale(-1)", "Replica", key_display="-"),
        Binding("s", "start", "Start"),
        # Stop is `x`, not `S`: with caps lock on, `s`/`S` would swap start and stop.
        Binding("x", "stop", "Stop"),
        Binding("r", "restart", "Restart"),
        Binding("e", "toggle_events", "Events"),
        Binding("t", "toggle_theme", "Light/dark", show=False),
    ]

    def __init__(
        self,
        backend: ConsoleBackend,
        *,
        title: str,
        refresh_s: float = 1.0,
        hints: Mapping[str, ClientHint] | None = None,
        log_flush_s: float = 0.1,
    ) -> None:
        super().__init__()
        self._backend = backend
        self._refresh_s = refresh_s
        self._hints = dict(hints or {})
        self._log_flush_s = log_flush_s
        self.snapshot: FleetSnapshot | None = None
        """The last snapshot shown; None until the first one arrives."""
        # Replica counts asked for but maybe not in a snapshot yet, so that `+ +` adds two.
        self._asked_desired: dict[str, int] = {}
        self._action_subjects: dict[Worker[None], str] = {}
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = DEFAULT_THEME
        self.title = title
        self.sub_title = "waiting for the first snapshot…"

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return status_variable_defaults(self.current_theme)

    def compose(self) -> ComposeResult:
        # Kept by reference: `query_one` would search whichever screen is on top.
        self._deployments = DeploymentsTable(id="deployments")
        self._hosts = HostsTable(id="hosts")
        self._events = EventsPanel(id="events")
        yield Header()
        yield self._deployments
        yield self._hosts
        yield self._events
        yield Footer()

    def on_mount(self) -> None:
        self._backend.subscribe(self._event_emitted)
        self._follow_snapshots()

    # -- snapshots and events in -------------------------------------------------------
    @work(name=SNAPSHOT_WORKER, group=SNAPSHOT_WORKER, exclusive=True, exit_on_error=False)
    async def _follow_snapshots(self) -> None:
        # Thin on purpose: on quit the worker is cancelled while it awaits the next
        # snapshot, and the cancellation ends the engine's stream where it waits.
        async for snapshot in self._backend.snapshots(self._refresh_s):
            self.post_message(SnapshotReceived(snapshot))

    def _event_emitted(self, event: Event) -> None:
        # Called by the engine on this loop, inside whatever it was doing: only queue.
        self.post_message(EventReceived(event))

    def on_snapshot_received(self, message: SnapshotReceived) -> None:
        snapshot = message.snapshot
        had_rows = bool(self.snapshot and self.snapshot.deployments)
        with self.batch_update():
            self.snapshot = snapshot
            self._deployments.deployments = snapshot.deployments
            self._hosts.hosts = snapshot.hosts
            self.sub_title = fleet_summary(snapshot)
            for screen in self.screen_stack:
                if isinstance(screen, DeploymentScreen):
                    screen.show(snapshot.deployment(screen.deployment_name))
        for name, asked in list(self._asked_desired.items()):
            shown = snapshot.deployment(name)
            if shown is None or shown.desired == asked:
                del self._asked_desired[name]
        if had_rows != bool(snapshot.deployments):
            self.refresh_bindings()

    def on_event_received(self, message: EventReceived) -> None:
        self._events.add(message.event)

    # -- navigation ----------------------------------------------------------------------
    def on_deployment_selected(self, message: DeploymentSelected) -> None:
        shown = self.snapshot.deployment(message.name) if self.snapshot else None
        self.push_screen(
            DeploymentScreen(
                message.name,
                self._backend,
                deployment=shown,
                hint=self._hints.get(message.name),
                log_flush_s=self._log_flush_s,
            )
        )

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_events(self) -> None:
        self._events.display = not self._events.display

    def action_toggle_theme(self) -> None:
        dark = self.theme == FLEETDECK_DARK.name
        self.theme = FLEETDECK_LIGHT.name if dark else FLEETDECK_DARK.name

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _DEPLOYMENT_ACTIONS:
            if isinstance(self.screen, ModalScreen):
                return False  # a question or the help is open: keys answer it, nothing else
            return True if self.selected_deployment() is not None else None
        if action == "toggle_events":
            return self.screen is self.screen_stack[0]
        return True

    def selected_deployment(self) -> str | None:
        """The deployment actions apply to: the detail screen's, else the cursor row's."""
        screen = self.screen
        if isinstance(screen, DeploymentScreen):
            return screen.deployment_name
        table = self._deployments
        if isinstance(screen, ModalScreen) or not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    # -- actions out ---------------------------------------------------------------------
    def action_scale(self, delta: int) -> None:
        name = self.selected_deployment()
        shown = self.snapshot.deployment(name) if self.snapshot and name else None
        if name is None or shown is None:
            return
        target = self._asked_desired.get(name, shown.desired) + delta
        if target < 0:
            self.notify(
                f"{name} has no replica left to stop.",
                title="Already at 0 replicas",
                severity="warning",
            )
            return
        self._asked_desired[name] = target
        backend = self._backend
        self._run_action(
            name,
            f"scale {name} to {target} replicas",
            lambda: backend.scale(name, target),
            f"{name}: {target} replica{'s' if target != 1 else ''} wanted",
        )

    def action_start(self) -> None:
        name = self.selected_deployment()
        if name is not None:
            backend = self._backend
            self._run_action(
                name, f"start {name}", lambda: backend.start_deployment(name), f"{name} started"
            )

    def action_stop(self) -> None:
        name = self.selected_deployment()
        if name is None:
            return
        backend = self._backend

        def answered(yes: bool | None) -> None:
            if yes:
                self._run_action(
                    name, f"stop {name}", lambda: backend.stop_deployment(name), f"{name} stopped"
                )

        self.push_screen(
            ConfirmScreen(f"Stop {name}?", "Every replica is stopped; `s` starts it again."),
            answered,
        )

    def action_restart(self) -> None:
        name = self.selected_deployment()
        if name is None:
            return
        backend = self._backend

        def answered(yes: bool | None) -> None:
            if yes:
                self._run_action(
                    name,
                    f"restart {name}",
                    lambda: backend.restart_deployment(name),
                    f"{name}: rolling restart under way",
                )

        self.push_screen(
            ConfirmScreen(
                f"Restart {name}?",
                "Rolling: each replica is replaced by a new one once that one is ready.",
            ),
            answered,
        )

    def _run_action(
        self, deployment: str, doing: str, call: Callable[[], Awaitable[None]], summary: str
    ) -> None:
        worker = self.run_worker(
            self._act(deployment, call, summary),
            name=doing,
            group=ACTION_WORKER,
            exit_on_error=False,
        )
        self._action_subjects[worker] = deployment

    async def _act(
        self, deployment: str, call: Callable[[], Awaitable[None]], summary: str
    ) -> None:
        await call()
        self.post_message(ActionSucceeded(deployment, summary))

    def on_action_succeeded(self, message: ActionSucceeded) -> None:
        self.notify(message.summary, title="Done", timeout=4)

    # -- the one place where workers' failures are told --------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == SNAPSHOT_WORKER:
            self._snapshot_worker_changed(event)
        elif event.worker.group == ACTION_WORKER and event.worker.is_finished:
            self._action_worker_finished(event)

    def _action_worker_finished(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        deployment = self._action_subjects.pop(worker, None)
        if event.state is not WorkerState.ERROR or worker.error is None:
            return
        if deployment is not None:
            self._asked_desired.pop(deployment, None)
        notice = describe_error(
            worker.error,
            doing=worker.name,
            fallback_step="see the events panel for what the engine saw, then try again",
        )
        self.notify(notice.body, title=notice.title, severity="error", timeout=20)

    def _snapshot_worker_changed(self, event: Worker.StateChanged) -> None:
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
