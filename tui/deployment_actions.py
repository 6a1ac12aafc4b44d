"""What an operator does to a deployment: scale, start, stop, restart.

Each action is a thin worker: call the backend, post one `ActionSucceeded`. Stop,
restart and scaling down to 0 ask first. The keys act on the selected deployment; the
`:` commands name theirs (`action_stop("llama8b")`). A read-only console refuses all.
A failed call is told once, as a notification with the error's
title, cause and next step (`report_action_outcome`, called from the app's single
worker-state handler). FleetdeckApp derives from this class and supplies the backend,
the current snapshot and which deployment is selected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.app import App
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState

from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.intents.console_api import ConsoleBackend
from fleetdeck.core.intents.outcome import IntentOutcome
from fleetdeck.tui.error_notice import describe_error
from fleetdeck.tui.messages import ActionSucceeded
from fleetdeck.tui.screens.confirm import ConfirmScreen

ACTION_WORKER = "actions"
DEPLOYMENT_ACTIONS = frozenset({"scale", "scale_to", "start", "stop", "restart", "route_to"})


class DeploymentActions(App[None]):
    BINDINGS = [
        Binding("plus", "scale(1)", "Scale up", key_display="+",
                tooltip="scale the selected deployment up by one replica"),
        Binding("minus", "scale(-1)", "Scale down", key_display="-",
                tooltip="scale down by one replica (asks before 0, never below)"),
        Binding("s", "start", "Start",
                tooltip="start the selected deployment at its inventory replica count"),
        # Stop is `x`, not `S`: with caps lock on, `s`/`S` would swap start and stop.
        Binding("x", "stop", "Stop", tooltip="stop the selected deployment (asks first)"),
        Binding("r", "restart", "Restart",
                tooltip="rolling restart of the selected deployment (asks first)"),
    ]  # fmt: skip

    READONLY_MESSAGE = "This console is read-only: nothing was changed."
    """What a refused action says (a replay says why it cannot)."""

    def __init__(self, backend: ConsoleBackend, *, readonly: bool = False) -> None:
        super().__init__()
        self._backend = backend
        self.readonly = readonly
        """Every action is refused: the keys show disabled, fleet commands are hidden."""
        self.snapshot: FleetSnapshot | None = None
        """The last snapshot shown; None until the first one arrives."""
        # Replica counts asked for but maybe not in a snapshot yet, so that `+ +` adds two.
        self._asked_desired: dict[str, int] = {}
        self._action_subjects: dict[Worker[None], str] = {}

    def selected_deployment(self) -> str | None:
        """The deployment the keys act on (the app decides from the screen)."""
        raise NotImplementedError

    def deployment_action_allowed(self) -> bool | None:
        """For check_action: hidden under a modal, shown greyed with nothing selected
        or in a read-only console."""
        if isinstance(self.screen, ModalScreen):
            return False  # a question or the help is open: keys answer it, nothing else
        if self.readonly:
            return None
        return True if self.selected_deployment() is not None else None

    def _refused(self) -> bool:
        # The keys are disabled already; this also stops a command or a direct call.
        if self.readonly:
            self.notify(self.READONLY_MESSAGE, title="Read-only", severity="warning")
        return self.readonly

    def forget_settled_asks(self, snapshot: FleetSnapshot) -> None:
        """Drop asked-for counts that the engine's snapshot now shows (or cannot show)."""
        for name, asked in list(self._asked_desired.items()):
            shown = snapshot.deployment(name)
            if shown is None or shown.desired == asked:
                del self._asked_desired[name]

    def action_scale(self, delta: int) -> None:
        name = self.selected_deployment()
        shown = self.snapshot.deployment(name) if self.snapshot and name else None
        if name is None or shown is None or self._refused():
            return
        target = self._asked_desired.get(name, shown.desired) + delta
        if target < 0:
            self.notify(
                f"{name} has no replica left to stop.",
                title="Already at 0 replicas",
                severity="warning",
            )
            return
        self.action_scale_to(name, target)

    def action_scale_to(self, name: str, target: int) -> None:
        if self._refused():
            return
        backend = self._backend
        what = f"scale {name} to {target} replicas"

        def call() -> Awaitable[IntentOutcome]:
            return backend.scale(name, target)

        summary = f"{name}: {target} replica{'s' if target != 1 else ''} wanted"

        def run() -> None:
            self._asked_desired[name] = target
            self.run_fleet_action(name, what, call, summary)

        if target > 0:
            run()
            return
        # Down to 0 is a stop by another road: it asks, as `x` does.
        question = ConfirmScreen(
            f"Scale {name} to 0?", "Every replica is stopped; `+` or `s` starts it again."
        )
        self.push_screen(question, lambda yes: run() if yes else None)

    def action_route_to(self, endpoint: str, deployment: str) -> None:
        """`:route ENDPOINT DEPLOYMENT`: the CLI's `route` verb (blue-green switch)."""
        if self._refused():
            return
        backend = self._backend
        self.run_fleet_action(
            endpoint,
            f"route {endpoint} to {deployment}",
            lambda: backend.route(endpoint, deployment),
            f"{endpoint}: all traffic to {deployment}",
        )

    def action_start(self, name: str | None = None) -> None:
        name = name or self.selected_deployment()
        if name is not None and not self._refused():
            backend = self._backend
            self.run_fleet_action(
                name, f"start {name}", lambda: backend.start(name), f"{name} started"
            )

    def action_stop(self, name: str | None = None) -> None:
        name = name or self.selected_deployment()
        if name is not None and not self._refused():
            backend = self._backend
            self._confirm_then(
                name,
                ConfirmScreen(f"Stop {name}?", "Every replica is stopped; `s` starts it again."),
                f"stop {name}",
                lambda: backend.stop(name),
                f"{name} stopped",
            )

    def action_restart(self, name: str | None = None) -> None:
        name = name or self.selected_deployment()
        if name is not None and not self._refused():
            backend = self._backend
            self._confirm_then(
                name,
                ConfirmScreen(
                    f"Restart {name}?",
                    "Rolling: each replica is replaced by a new one once that one is ready.",
                ),
                f"restart {name}",
                lambda: backend.restart(name),
                f"{name}: rolling restart under way",
            )

    def _confirm_then(
        self,
        name: str,
        question: ConfirmScreen,
        what: str,
        call: Callable[[], Awaitable[IntentOutcome]],
        done: str,
    ) -> None:
        """Ask first; only a yes runs the action."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_fleet_action(name, what, call, done)

        self.push_screen(question, answered)

    def run_fleet_action(
        self,
        deployment: str,
        doing: str,
        call: Callable[[], Awaitable[IntentOutcome]],
        summary: str,
    ) -> None:
        worker = self.run_worker(
            self._act(deployment, call, summary),
            name=doing,
            group=ACTION_WORKER,
            exit_on_error=False,
        )
        self._action_subjects[worker] = deployment

    async def _act(
        self, deployment: str, call: Callable[[], Awaitable[IntentOutcome]], summary: str
    ) -> None:
        outcome = await call()
        if outcome.handed_over:
            summary += (
                " (handed to the controller in charge: " + ", ".join(outcome.handed_over_to) + ")"
            )
        self.post_message(ActionSucceeded(deployment, summary))

    def on_action_succeeded(self, message: ActionSucceeded) -> None:
        self.notify(message.summary, title="Done", timeout=4)

    def report_action_outcome(self, event: Worker.StateChanged) -> None:
        """Tell a failed action once; the app calls this for every finished action worker."""
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
