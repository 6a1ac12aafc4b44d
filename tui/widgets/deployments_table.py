"""One row per deployment: status, name, ready/desired, load, latency, hosts, model, endpoint."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.reactive import var
from textual.widgets import DataTable

from fleetdeck.core.fleet.snapshot import DeploymentSnapshot
from fleetdeck.tui.deployment_access import api_base
from fleetdeck.tui.messages import DeploymentSelected
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE
from fleetdeck.tui.widgets.keyed_table import Cells, KeyedTable
from fleetdeck.tui.widgets.metrics_text import format_rate, format_seconds, spark_bars
from fleetdeck.tui.widgets.status_light import deployment_light, light_style, styled_light

SPARK_WIDTH = 8


def replica_hosts(deployment: DeploymentSnapshot) -> str:
    """Hosts the replicas run on, each once, in replica order."""
    hosts = dict.fromkeys(replica.host for replica in deployment.replicas)
    return ", ".join(hosts) or NO_VALUE


class DeploymentsTable(KeyedTable):
    COLUMNS = (
        ("status", "Status"),
        ("name", "Deployment"),
        ("ready", "Ready"),
        ("rate", "Req/s"),
        ("p95", "p95"),
        ("hosts", "Hosts"),
        ("model", "Model"),
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
        variables = self.app.theme_variables
        metrics = deployment.metrics
        return (
            styled_light(deployment_light(deployment.status), variables),
            Text(deployment.name),
            Text(f"{deployment.ready}/{deployment.desired}", justify="right"),
            self._trend(
                format_rate(metrics.request_rate) if metrics else NO_VALUE,
                metrics.request_rate_history if metrics else (),
                light_style("spark-rate", variables),
            ),
            self._trend(
                format_seconds(metrics.e2e_latency_s.p95) if metrics else NO_VALUE,
                metrics.e2e_p95_history if metrics else (),
                light_style("spark-latency", variables),
            ),
            Text(replica_hosts(deployment)),
            Text(deployment.model),
            Text(api_base(deployment) or NO_VALUE),
        )

    @staticmethod
    def _trend(figure: str, history: tuple[float, ...], style: Style) -> Text:
        """The current figure, then a sparkline of its recent history (a cell is no widget)."""
        text = Text(f"{figure:>5} ", justify="left")
        text.append(spark_bars(history, SPARK_WIDTH), style)
        return text

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(DeploymentSelected(event.row_key.value))
