"""One row per deployment: status light, name, model, ready/desired, hosts, endpoint."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import var
from textual.widgets import DataTable

from core.snapshot import DeploymentSnapshot
from tui.messages import DeploymentSelected
from tui.widgets.gpu_summary import NO_VALUE
from tui.widgets.keyed_table import Cells, KeyedTable
from tui.widgets.status_light import deployment_light, styled_light


def replica_hosts(deployment: DeploymentSnapshot) -> str:
    """Hosts the replicas run on, each once, in replica order."""
    hosts = dict.fromkeys(replica.host for replica in deployment.replicas)
    return ", ".join(hosts) or NO_VALUE


class DeploymentsTable(KeyedTable):
    COLUMNS = (
        ("status", "Status"),
        ("name", "Deployment"),
        ("model", "Model"),
        ("ready", "Ready"),
        ("hosts", "Hosts"),
        ("endpoint", "Endpoint"),
    )

    deployments: var[tuple[DeploymentSnapshot, ...]] = var(())
    """Set by the app from each snapshot; the rows follow."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Deployments"

    def watch_deployments(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        self.sync_rows({d.name: self._cells(d) for d in self.deployments})

    def _cells(self, deployment: DeploymentSnapshot) -> Cells:
        light = styled_light(deployment_light(deployment.status), self.app.theme_variables)
        return (
            light,
            Text(deployment.name),
            Text(deployment.model),
            Text(f"{deployment.ready}/{deployment.desired}", justify="right"),
            Text(replica_hosts(deployment)),
            Text(deployment.endpoint or NO_VALUE),
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(DeploymentSelected(event.row_key.value))
