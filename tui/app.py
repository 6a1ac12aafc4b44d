"""The fleetdeck console: deployments, hosts and events of one fleet, live from the engine.

The app is handed a `ConsoleBackend` (the engine, or a small scripted one in tests).
One worker follows the snapshot stream and posts each snapshot up as a message; the
handler pushes it down into the widgets in one batch, so the screen repaints once per
snapshot. Events arrive through `subscribe` and are marshalled in as messages. Actions
(scale, start, stop, restart) are thin workers: call the backend, post one result;
their failures are reported in one place, `on_worker_state_changed`.

Keys: `q` quits from every screen (the detail screen's Escape goes back); `?` lists all;
`:` opens the command line (tui/commands.py declares every command once: the command
line, the ctrl+p palette and the help are built from that table). `/` filters the
deployments (tui/widgets/filter_input.py); the tables sort and move themselves
(`o`/`O`, j/k/g/G); `h` opens the hosts, `R` the routes (tui/screens/routes.py), `l` the
logs; `n`, `E` and `c` open the deployment form (new, edit, clone: tui/inventory_edits.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Header
from textual.worker import Worker, WorkerState

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import DeploymentStatus, FleetSnapshot, HostState
from fleetdeck.core.intents.console_api import ConsoleBackend
from fleetdeck.themes import DEFAULT_THEME, THEME_NAMES, THEMES, status_variable_defaults
from fleetdeck.tui.command_provider import FleetCommands
from fleetdeck.tui.commands import (
    COMMANDS,
    ConsoleCommand,
    Invocation,
    Jump,
    Names,
    PaletteEntry,
    ParseError,
    available_commands,
    palette_entries,
    parse,
)
from fleetdeck.tui.deployment_access import ClientHint
from fleetdeck.tui.deployment_actions import ACTION_WORKER, DEPLOYMENT_ACTIONS
from fleetdeck.tui.host_trust import HostTrust
from fleetdeck.tui.inventory_edits import FORM_ACTIONS
from fleetdeck.tui.messages import DeploymentSelected, EventReceived, SnapshotReceived
from fleetdeck.tui.preferences import Preferences, PreferencesFile
from fleetdeck.tui.screens.command import CommandScreen
from fleetdeck.tui.screens.confirm import ConfirmScreen
from fleetdeck.tui.screens.deployment import DeploymentScreen
from fleetdeck.tui.screens.deployment_form import DeploymentFormScreen
from fleetdeck.tui.screens.fleet_follower import FleetFollower
from fleetdeck.tui.screens.help import HelpScreen, key_rows
from fleetdeck.tui.screens.hosts import HostsScreen
from fleetdeck.tui.screens.logs import LogsScreen
from fleetdeck.tui.screens.routes import RoutesScreen
from fleetdeck.tui.widgets.deployments_table import DeploymentsTable
from fleetdeck.tui.widgets.events_panel import EventsPanel
from fleetdeck.tui.widgets.filter_input import FilterInput
from fleetdeck.tui.widgets.hosts_table import HostsTable
from fleetdeck.tui.widgets.key_hints import KeyHints

SNAPSHOT_WORKER = "snapshots"
_SERVING = frozenset({DeploymentStatus.ACTIVE, DeploymentStatus.IDLE})


HOSTS_SCREEN = "hosts"
ROUTES_SCREEN = "routes"


def fleet_summary(snapshot: FleetSnapshot) -> str:
    """The header's sub-title: how much of the fleet is up, at a glance."""
    serving = sum(d.status in _SERVING for d in snapshot.deployments)
    up = sum(h.state is HostState.UP for h in snapshot.hosts)
    return (
        f"{serving}/{len(snapshot.deployments)} deployments up · "
        f"{up}/{len(snapshot.hosts)} hosts up"
    )


def host_times(snapshot: FleetSnapshot) -> dict[str, float]:
    """Each host's time of its latest observation, on its own clock (uptimes need it)."""
    return {h.name: h.observed_at for h in snapshot.hosts if h.observed_at is not None}


READONLY_MARKER = "read-only"


class FleetdeckApp(HostTrust):
    READONLY_REASON = "this console is read-only"
    """Why the command line refuses a command that changes the fleet."""
    # Absolute, so that a subclass in another module (a test's) finds it too.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    COMMANDS = App.COMMANDS | {FleetCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit",
                tooltip="quit fleetdeck, from any screen (replicas keep running)"),
        Binding("question_mark", "help", "Keys", key_display="?",
                tooltip="this help: every key and command"),
        Binding("colon", "command_line", "Command", key_display=":",
                tooltip="the command line: scale, stop, jump to a name... (Tab completes)"),
        Binding("e", "toggle_events", "Events", tooltip="show / hide the events panel"),
        Binding("h", "hosts", "Hosts", tooltip="every host: GPUs, load, lease"),
        Binding("R", "routes", "Routes", show=False,
                tooltip="every [[endpoints]] endpoint: its backends' weights and numbers"),
        Binding("slash", "open_filter", "Filter", key_display="/",
                tooltip="filter the deployments by name, model, host or status"),
        Binding("l", "logs", "Logs", tooltip="the logs of the deployment under the cursor"),
        Binding("t", "toggle_theme", "Theme", show=False,
                tooltip="next theme: dark, light, high contrast (remembered)"),
    ]  # fmt: skip

    def __init__(
        self,
        backend: ConsoleBackend,
        *,
        title: str,
        refresh_s: float = 1.0,
        hints: Mapping[str, ClientHint] | None = None,
        log_flush_s: float = 0.1,
        readonly: bool = False,
        theme: str | None = None,
        preferences: PreferencesFile | None = None,
    ) -> None:
        """`theme`: the one asked for on the command line (else the remembered one);
        `preferences`: where the theme is remembered (None: nowhere, as in tests)."""
        super().__init__(backend, readonly=readonly)
        self._refresh_s = refresh_s
        self._fleet_screen_shows: FleetSnapshot | None = None
        """The snapshot the fleet screen's tables show (they skip those it cannot show)."""
        self._hints = dict(hints or {})
        self._log_flush_s = log_flush_s
        for registered in THEMES:
            self.register_theme(registered)
        self._preferences = preferences
        self._startup_notices: list[str] = []
        remembered = None
        if preferences is not None:
            loaded = preferences.load()
            remembered = loaded.preferences.theme
            if loaded.problem:
                self._startup_notices.append(
                    f"{loaded.problem}\nUsing the default theme; choosing one rewrites the file."
                )
        chosen = theme or remembered or DEFAULT_THEME
        if chosen not in self.available_themes:
            self._startup_notices.append(f"There is no theme {chosen!r}: using {DEFAULT_THEME}.")
            chosen = DEFAULT_THEME
        self.theme = chosen
        self._remembered_theme = remembered
        self._theme_asked = theme is not None
        self.title = f"{title} · {READONLY_MARKER}" if readonly else title
        self.sub_title = "waiting for the first snapshot…"

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return status_variable_defaults(self.current_theme)

    def compose(self) -> ComposeResult:
        # Kept by reference: `query_one` would search whichever screen is on top.
        self._deployments = DeploymentsTable(id="deployments")
        self._hosts = HostsTable(id="hosts")
        self._events = EventsPanel(id="events")
        self._filter = FilterInput(id="filter")
        self._filter.display = False  # until `/`
        yield Header()
        yield self._deployments
        yield self._hosts
        yield self._events
        # After the tables, so that the first focus goes to the deployments.
        yield self._filter
        yield KeyHints()

    def on_mount(self) -> None:
        self._backend.subscribe(self._event_emitted)
        self._follow_snapshots()
        for notice in self._startup_notices:
            self.notify(notice, title="Console settings", severity="warning", timeout=15)
        # Every way of choosing a theme (t, :theme, --theme, the palette) is remembered.
        self.theme_changed_signal.subscribe(self, lambda _theme: self._remember_theme())
        self.screen_change_signal.subscribe(self, self._screen_changed)
        if self._theme_asked:
            self._remember_theme()

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
            if self._fleet_screen_visible():
                self._show_on_fleet_screen(snapshot)
            self.sub_title = fleet_summary(snapshot)
            for screen in self.screen_stack:
                if isinstance(screen, DeploymentScreen):
                    screen.show(
                        snapshot.deployment(screen.deployment_name),
                        host_times(snapshot),
                        snapshot.endpoints,
                    )
                elif isinstance(screen, LogsScreen):
                    screen.show(snapshot.deployment(screen.deployment_name))
                elif isinstance(screen, FleetFollower):
                    screen.follow()
        self.forget_settled_asks(snapshot)
        self.offer_trust()
        if had_rows != bool(snapshot.deployments):
            self.refresh_bindings()

    def _fleet_screen_visible(self) -> bool:
        """The fleet screen is on show: no screen above it, or only modal ones (help, a
        confirmation) that let it be seen around them."""
        return all(isinstance(screen, ModalScreen) for screen in self.screen_stack[1:])

    def _show_on_fleet_screen(self, snapshot: FleetSnapshot) -> None:
        # Its tables are rebuilt only while it can be seen: behind the hosts or a detail
        # screen that was most of the work of each snapshot at 200 deployments
        # (benchmarks/console_frame.py); coming back shows the newest snapshot at once.
        if snapshot is self._fleet_screen_shows:
            return
        self._fleet_screen_shows = snapshot
        self._deployments.host_labels = {h.name: h.labels for h in snapshot.hosts}
        self._deployments.deployments = snapshot.deployments
        self._hosts.hosts = snapshot.hosts

    def _screen_changed(self, _screen: Screen[object]) -> None:
        if self.snapshot is not None and self._fleet_screen_visible():
            with self.batch_update():
                self._show_on_fleet_screen(self.snapshot)

    def on_event_received(self, message: EventReceived) -> None:
        self._events.add(message.event)
        for screen in self.screen_stack:
            if isinstance(screen, DeploymentScreen):
                screen.add_event(message.event)

    # -- navigation ----------------------------------------------------------------------
    def on_deployment_selected(self, message: DeploymentSelected) -> None:
        shown = self.snapshot.deployment(message.name) if self.snapshot else None
        self.push_screen(
            DeploymentScreen(
                message.name,
                self._backend,
                deployment=shown,
                hint=self._hints.get(message.name),
                events=self._events.events,
                host_times=host_times(self.snapshot) if self.snapshot else None,
                log_flush_s=self._log_flush_s,
                endpoints=self.snapshot.endpoints if self.snapshot else (),
            )
        )

    def action_logs(self) -> None:
        """Every replica of the cursor's deployment, merged (the detail screen's `l` opens one)."""
        name = self.selected_deployment()
        if name is not None:
            self.action_open_logs(name)

    def action_open_logs(self, name: str) -> None:
        """`:logs NAME`: every replica of that deployment, merged."""
        shown = self.snapshot.deployment(name) if self.snapshot else None
        self.push_screen(
            LogsScreen(name, self._backend, deployment=shown, flush_s=self._log_flush_s)
        )

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(key_rows(self.screen, self), self.console_commands()))

    def action_hosts(self) -> None:
        # One hosts screen for the session, installed: closing it keeps its rows, cursor
        # and drawn cells, so opening it again redraws only what changed since (at 40
        # hosts a new screen draws ~500 cells before its first frame).
        if not self.is_screen_installed(HOSTS_SCREEN):
            self.install_screen(HostsScreen(), HOSTS_SCREEN)
        self.push_screen(HOSTS_SCREEN)

    def action_routes(self) -> None:
        # Installed, as the hosts screen is: opening it again redraws only what changed.
        if not self.is_screen_installed(ROUTES_SCREEN):
            self.install_screen(RoutesScreen(), ROUTES_SCREEN)
        self.push_screen(ROUTES_SCREEN)

    def action_open_filter(self) -> None:
        self._filter.value = self._deployments.filter_text
        self._filter.display = True
        self._filter.focus()

    def on_filter_input_filter_edited(self, message: FilterInput.FilterEdited) -> None:
        self._deployments.filter_text = message.text

    def on_filter_input_filter_kept(self, message: FilterInput.FilterKept) -> None:
        # The table's subtitle shows the filter from here on; the line is not needed.
        self._filter.display = False
        self._deployments.focus()

    def on_filter_input_filter_cleared(self, message: FilterInput.FilterCleared) -> None:
        self._deployments.filter_text = ""
        self._filter.display = False
        self._deployments.focus()

    def action_toggle_events(self) -> None:
        self._events.display = not self._events.display

    def action_toggle_theme(self) -> None:
        # Cycles through our own themes; one picked from the palette goes back to the first.
        names = list(THEME_NAMES)
        index = names.index(self.theme) + 1 if self.theme in names else 0
        self.theme = names[index % len(names)]

    def action_set_theme(self, name: str) -> None:
        self.theme = name

    def _remember_theme(self) -> None:
        if self._preferences is None or self.theme == self._remembered_theme:
            return
        try:
            self._preferences.save(Preferences(theme=self.theme))
        except OSError as exc:
            self.notify(
                f"{self._preferences.path}: {exc.strerror or exc}",
                title="Theme not remembered",
                severity="warning",
            )
            return
        self._remembered_theme = self.theme

    async def action_quit(self) -> None:
        running = [w for w in self.workers if w.group == ACTION_WORKER and not w.is_finished]
        if not running or isinstance(self.screen, ConfirmScreen):
            self.exit()
            return
        doing = ", ".join(worker.name for worker in running)
        # Truthful about what happens: the console's controller ends with the console.
        question = ConfirmScreen(
            f"{doing} is still running: quit anyway?",
            "The console's controller stops with the console, so the step under way may "
            "be cut short. The change itself is already recorded (an override): the next "
            "controller (`fleetdeck run`, or this console opened again) applies it.",
        )
        self.push_screen(question, lambda yes: self.exit() if yes else None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("quit", "command_line") and isinstance(self.screen, DeploymentFormScreen):
            return False  # a key meant for a field must not throw the form away
        if action == "trust_host":
            modal = isinstance(self.screen, ModalScreen | DeploymentFormScreen)
            return not modal and bool(self._offered_trust) and not self.readonly
        if action == "new_deployment":
            if isinstance(self.screen, ModalScreen) or self.screen is not self.screen_stack[0]:
                return False
            return not self.readonly  # hidden: a read-only console never edits the file
        if action in FORM_ACTIONS and self.readonly:
            return False  # its key-line room goes to keys that work (a replay's player)
        if action in DEPLOYMENT_ACTIONS or action in FORM_ACTIONS:
            # Hidden on the hosts and logs screens: their keys (s saves a log) come first,
            # and the fleet table's cursor row is out of sight there.
            hidden = isinstance(self.screen, (FleetFollower, LogsScreen, DeploymentFormScreen))
            return not hidden and self.deployment_action_allowed()
        if action in ("toggle_events", "hosts", "routes", "open_filter"):
            return self.screen is self.screen_stack[0]
        if action == "logs":
            on_fleet = self.screen is self.screen_stack[0]
            return on_fleet and (True if self.selected_deployment() is not None else None)
        if action == "command_line":
            return not isinstance(self.screen, ModalScreen)
        return True

    # -- the command line and the palette (one table: tui/commands.py) -------------------
    def console_commands(self) -> tuple[ConsoleCommand, ...]:
        """The commands this console offers: those whose action it has (others' screens
        appear once they exist), less those that change the fleet when read-only."""
        return available_commands(
            COMMANDS,
            lambda action: callable(getattr(self, f"action_{action}", None)),
            readonly=self.readonly,
        )

    def _unavailable(self) -> dict[str, str]:
        offered = {command.name for command in self.console_commands()}
        return {
            command.name: self.READONLY_REASON if self.readonly else "not built yet"
            for command in COMMANDS
            if command.name not in offered
        }

    def command_names(self) -> Names:
        snapshot = self.snapshot
        return Names(
            deployments=tuple(d.name for d in snapshot.deployments) if snapshot else (),
            hosts=tuple(h.name for h in snapshot.hosts) if snapshot else (),
            themes=tuple(sorted(self.available_themes)),
            endpoints=tuple(e.name for e in snapshot.endpoints if not e.own) if snapshot else (),
        )

    def palette_entries(self) -> list[PaletteEntry]:
        return palette_entries(self.console_commands(), self.command_names())

    def action_command_line(self) -> None:
        self.open_command_line()

    def open_command_line(self, line: str = "") -> None:
        screen = CommandScreen(
            self.console_commands(),
            self.command_names(),
            line=line,
            unavailable=self._unavailable(),
        )
        self.push_screen(screen, self._run_parsed)

    def run_command_line(self, line: str) -> None:
        parsed = parse(line, self.console_commands(), self.command_names(), self._unavailable())
        if isinstance(parsed, ParseError):
            self.notify(parsed.message, title=f":{line.strip()}", severity="warning")
            return
        self._run_parsed(parsed)

    def _run_parsed(self, parsed: Invocation | Jump | None) -> None:
        if isinstance(parsed, Invocation):
            action = getattr(self, f"action_{parsed.command.action}")
            self.call_later(action, *parsed.args)
        elif isinstance(parsed, Jump):
            self._jump(parsed)

    def _jump(self, jump: Jump) -> None:
        # Back to the fleet first, so jumping from a detail screen does not stack another.
        while len(self.screen_stack) > 1:
            self.pop_screen()
        table = self._deployments if jump.kind == "deployment" else self._hosts
        table.focus()
        table.move_cursor(row=table.get_row_index(jump.name))
        if jump.kind == "deployment":
            self.post_message(DeploymentSelected(jump.name))

    def selected_deployment(self) -> str | None:
        """The deployment actions apply to: the detail screen's, else the cursor row's."""
        screen = self.screen
        if isinstance(screen, DeploymentScreen):
            return screen.deployment_name
        table = self._deployments
        # Only the fleet screen's cursor picks one: under a modal, or on a screen of
        # hosts, the deployments table is out of sight and must not be acted on.
        if screen is not self.screen_stack[0] or not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    # -- the one place where workers' failures are told --------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == SNAPSHOT_WORKER:
            self._snapshot_worker_changed(event)
        elif event.worker.group == ACTION_WORKER and event.worker.is_finished:
            self.report_action_outcome(event)

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
