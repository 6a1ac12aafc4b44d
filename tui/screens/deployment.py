"""One deployment up close: its header, metrics, replicas and the live log of one replica.

The app hands each snapshot's copy of this deployment down through `show`; the screen
never asks the engine for state. The log pane follows the replica under the cursor of
the replicas table, so moving the cursor switches the stream.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header

from fleetdeck.core.fleet.snapshot import DeploymentSnapshot
from fleetdeck.core.intents.console_api import ConsoleBackend
from fleetdeck.tui.deployment_access import ClientHint, curl_command_for
from fleetdeck.tui.screens.logs import LogsScreen
from fleetdeck.tui.widgets.deployment_header import DeploymentHeader
from fleetdeck.tui.widgets.log_pane import LogPane
from fleetdeck.tui.widgets.metrics_strip import MetricsStrip
from fleetdeck.tui.widgets.replicas_table import ReplicasTable


class DeploymentScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("c", "copy_test_command", "Copy test command", show=False),  # listed under `?`
        Binding("l", "logs", "Logs"),
    ]

    def __init__(
        self,
        deployment_name: str,
        backend: ConsoleBackend,
        *,
        deployment: DeploymentSnapshot | None = None,
        hint: ClientHint | None = None,
        log_tail: int = 200,
        log_flush_s: float = 0.1,
    ) -> None:
        super().__init__()
        self.deployment_name = deployment_name
        self.deployment = deployment
        """The latest snapshot of this deployment; kept when it leaves the fleet."""
        self._backend = backend
        self._hint = hint
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
        yield LogPane(self._backend, tail=self._log_tail, flush_s=self._log_flush_s, id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ReplicasTable).focus()
        self._mounted = True
        self.show(self.deployment)

    def show(self, deployment: DeploymentSnapshot | None) -> None:
        """Take this deployment's newest snapshot (None: it is no longer in the fleet)."""
        if not self._mounted:  # shown from on_mount, once the widgets exist
            self.deployment = deployment or self.deployment
            return
        header = self.query_one(DeploymentHeader)
        if deployment is None:
            header.border_subtitle = "no longer in the fleet: showing its last state"
            return
        header.border_subtitle = ""
        self.deployment = deployment
        header.deployment = deployment
        self.query_one(MetricsStrip).metrics = deployment.metrics
        table = self.query_one(ReplicasTable)
        table.replicas = deployment.replicas
        log = self.query_one(LogPane)
        if log.following is None:
            replica = table.highlighted_replica()
            if replica is not None:
                log.follow(replica)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if isinstance(event.data_table, ReplicasTable) and event.row_key.value is not None:
            self.query_one(LogPane).follow(event.row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # Enter on a replica: follow it again after its stream ended (a no-op while live).
        if isinstance(event.data_table, ReplicasTable) and event.row_key.value is not None:
            self.query_one(LogPane).follow(event.row_key.value)

    def action_back(self) -> None:
        self.dismiss()

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
