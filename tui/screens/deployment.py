"""One deployment up close: its header, metrics, replicas, and below them one panel of
three: the live log of one replica, the deployment's events, or its inventory entry.

The app hands each snapshot's copy of this deployment down through `show`, and each
event through `add_event`. The screen asks the backend only for what the app does not
hold: a replica's log, the inventory entry, and this deployment's history in the journal, its newest
HISTORY_EVENTS (read by a worker through `event_history`, as `fleetdeck events
--deployment` reads them), which the events panel starts from; live events are added on
top, each once.

The log pane follows the replica under the cursor of the replicas table, so moving the
cursor switches the stream. `e` and `i` swap the log for the events or the inventory
entry and back; PageUp/PageDown/Home/End always scroll whichever of the three is shown
(the replicas table is short and keeps the arrows), and End on the log follows it again.

The screen itself never scrolls: every panel has a height it can shrink to and scrolls
inside itself, so at 80x24 the header and the footer stay where they are. On a tall
terminal (`-tall`) the sparklines and the replicas table get more rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, Header

from fleetdeck.core.fleet.events import Event, of_deployment
from fleetdeck.core.fleet.snapshot import DeploymentSnapshot, EndpointSnapshot
from fleetdeck.core.intents.console_api import ConsoleBackend
from fleetdeck.tui.deployment_access import ClientHint, curl_command_for
from fleetdeck.tui.error_notice import describe_error
from fleetdeck.tui.screens.logs import LogsScreen
from fleetdeck.tui.widgets.deployment_header import DeploymentHeader
from fleetdeck.tui.widgets.events_panel import EventsPanel
from fleetdeck.tui.widgets.inventory_panel import InventoryPanel
from fleetdeck.tui.widgets.key_hints import KeyHints
from fleetdeck.tui.widgets.log_pane import LogPane
from fleetdeck.tui.widgets.metrics_strip import MetricsStrip
from fleetdeck.tui.widgets.replicas_table import ReplicasTable
from fleetdeck.tui.widgets.routes_table import routes_to

LOG, EVENTS, INVENTORY = "log", "deployment-events", "inventory"
"""The ids of the three panels that take turns below the replicas."""

HISTORY_EVENTS = 200
"""How many of the deployment's newest events the events panel reads from the journal
(and keeps)."""
HISTORY_WORKER = "deployment-history"

READING = "reading this deployment's events from the journal…"
NO_EVENTS = "no events of this deployment yet"


class DeploymentScreen(Screen[None]):
    # Short below 36 rows: one-row sparklines, three replica rows (80x24 fits).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("c", "copy_test_command", "Copy test command", show=False,
                tooltip="copy a curl that calls the endpoint; the key stays in its variable"),
        Binding("l", "logs", "Logs"),
        Binding("e", "show_panel('deployment-events')", "Events",
                tooltip="this deployment's events and reasons, instead of the log (e again: back)"),
        Binding("i", "show_panel('inventory')", "Inventory",
                tooltip="this deployment's inventory entry, instead of the log (i again: back)"),
        # Priority: the replicas table has focus and would take these to move its cursor.
        Binding("pageup", "scroll_panel('page_up')", "Page up", show=False, priority=True),
        Binding("pagedown", "scroll_panel('page_down')", "Page down", show=False,
                priority=True),
        Binding("home", "scroll_panel('home')", "Top", show=False, priority=True),
        Binding("end", "scroll_panel('end')", "Bottom / follow", show=False, priority=True,
                tooltip="the end of the panel below; on the log, follow it again"),
    ]  # fmt: skip

    def __init__(
        self,
        deployment_name: str,
        backend: ConsoleBackend,
        *,
        deployment: DeploymentSnapshot | None = None,
        hint: ClientHint | None = None,
        events: Iterable[Event] = (),
        host_times: Mapping[str, float] | None = None,
        log_tail: int = 200,
        log_flush_s: float = 0.1,
        endpoints: Iterable[EndpointSnapshot] = (),
    ) -> None:
        """`events`: those the app saw before this screen opened (any order, any subject);
        `host_times`: each host's time of its latest observation (see `show`);
        `endpoints`: the fleet's, for the lines of those that route to this deployment."""
        super().__init__()
        self.deployment_name = deployment_name
        self.deployment = deployment
        """The latest snapshot of this deployment; kept when it leaves the fleet."""
        self.host_times: Mapping[str, float] = host_times or {}
        self._endpoints = tuple(endpoints)
        self._backend = backend
        self._hint = hint
        self._early_events = tuple(events)
        self._log_tail = log_tail
        self._log_flush_s = log_flush_s
        self._mounted = False

    def compose(self) -> ComposeResult:
        yield Header()
        header = DeploymentHeader(id="deployment-header")
        header.hint = self._hint
        header.border_title = self.deployment_name
        yield header
        yield MetricsStrip(id="metrics")
        yield ReplicasTable(id="replicas")
        with ContentSwitcher(initial=LOG, id="lower"):
            yield LogPane(self._backend, tail=self._log_tail, flush_s=self._log_flush_s, id=LOG)
            yield EventsPanel(
                max_events=HISTORY_EVENTS,
                accept=of_deployment(self.deployment_name),
                empty=READING,
                id=EVENTS,
            )
            yield InventoryPanel(id=INVENTORY)
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one(EventsPanel).add_all(self._early_events)
        self._read_history()
        self.query_one(ReplicasTable).focus()
        self._mounted = True
        self.show(self.deployment, self.host_times, self._endpoints)

    @work(group=HISTORY_WORKER, exclusive=True, exit_on_error=False)
    async def _read_history(self) -> None:
        """This deployment's newest events in the journal, merged with those already
        shown (the app's, and live ones that came while the journal was read)."""
        panel = self.query_one(EventsPanel)
        try:
            history = await self._backend.event_history(self.deployment_name, last=HISTORY_EVENTS)
        except Exception as error:  # noqa: BLE001 - told in the panel; live events still come
            notice = describe_error(error, doing="read the event journal", fallback_step="")
            panel.empty = f"{notice.one_line} (events from now on are shown)"
            return
        panel.add_all(history)
        panel.empty = NO_EVENTS

    def show(
        self,
        deployment: DeploymentSnapshot | None,
        host_times: Mapping[str, float] | None = None,
        endpoints: Iterable[EndpointSnapshot] | None = None,
    ) -> None:
        """Take this deployment's newest snapshot (None: it is no longer in the fleet),
        each host's time of its latest observation (for uptimes, on the host's clock), and
        the fleet's endpoints (None: as before)."""
        if host_times is not None:
            self.host_times = host_times
        if endpoints is not None:
            self._endpoints = tuple(endpoints)
        if not self._mounted:  # shown from on_mount, once the widgets exist
            self.deployment = deployment or self.deployment
            return
        header = self.query_one(DeploymentHeader)
        header.routes = tuple(routes_to(self.deployment_name, self._endpoints))
        if deployment is None:
            header.border_subtitle = "no longer in the fleet: showing its last state"
            return
        header.border_subtitle = ""
        self.deployment = deployment
        header.deployment = deployment
        self.query_one(MetricsStrip).metrics = deployment.metrics
        table = self.query_one(ReplicasTable)
        table.host_times = self.host_times
        if table.replicas == deployment.replicas:
            table.refresh_rows()  # the same replicas, but their uptimes moved with the hosts
        else:
            table.replicas = deployment.replicas
        log = self.query_one(LogPane)
        if log.following is None:
            replica = table.highlighted_replica()
            if replica is not None:
                log.follow(replica)

    def add_event(self, event: Event) -> None:
        """Every event the app receives; the panel keeps this deployment's."""
        if self._mounted:
            self.query_one(EventsPanel).add(event)
        else:
            self._early_events += (event,)

    @property
    def shown_panel(self) -> str:
        """The id of the panel below the replicas: LOG, EVENTS or INVENTORY."""
        return self.query_one(ContentSwitcher).current or LOG

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if isinstance(event.data_table, ReplicasTable) and event.row_key.value is not None:
            self.query_one(LogPane).follow(event.row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # Enter on a replica: follow it again after its stream ended (a no-op while live).
        if isinstance(event.data_table, ReplicasTable) and event.row_key.value is not None:
            self.query_one(LogPane).follow(event.row_key.value)

    def action_back(self) -> None:
        self.dismiss()

    def action_show_panel(self, panel: str) -> None:
        """Show `panel` in place of the log; the same key again brings the log back."""
        switcher = self.query_one(ContentSwitcher)
        if switcher.current == panel:
            switcher.current = LOG
            return
        if panel == INVENTORY:
            self._load_inventory()
        switcher.current = panel

    def _load_inventory(self) -> None:
        # Asked each time the panel opens: an inventory applied since shows as it is now.
        inventory = self.query_one(InventoryPanel)
        try:
            entry = self._backend.export(self.deployment_name)
        except Exception as error:  # noqa: BLE001 - told in the panel, as the CLI tells it
            notice = describe_error(
                error, doing=f"read the inventory entry of {self.deployment_name}",
                fallback_step="",
            )  # fmt: skip
            inventory.show_problem(notice.one_line)
            return
        inventory.show_entry(entry)

    def action_scroll_panel(self, how: str) -> None:
        shown = self.query_one(f"#{self.shown_panel}", Widget)
        if how == "page_up":
            shown.scroll_page_up(animate=False)
        elif how == "page_down":
            shown.scroll_page_down(animate=False)
        elif how == "home":
            shown.scroll_home(animate=False)
        elif isinstance(shown, LogPane):
            shown.resume()
        else:
            shown.scroll_end(animate=False)

    def action_logs(self) -> None:
        """The logs screen on the replica under the cursor (`L` there shows them all)."""
        replica = self.query_one(ReplicasTable).highlighted_replica()
        self.app.push_screen(
            LogsScreen(
                self.deployment_name,
                self._backend,
                deployment=self.deployment,
                replica=replica,
                flush_s=self._log_flush_s,
            )
        )

    def action_copy_test_command(self) -> None:
        deployment = self.deployment
        command = curl_command_for(deployment, self._hint) if deployment is not None else None
        if command is None:
            self.notify("No replica is ready yet.", title="Nothing to copy", severity="warning")
            return
        self.app.copy_to_clipboard(command)
        self.notify("The test command is on the clipboard.", title="Copied")
