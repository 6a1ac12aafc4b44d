"""One row per deployment: status, name, ready/desired, load, latency, cost per hour, hosts,
model, endpoint.

The rows shown are the snapshot's deployments through the filter and the sort
(tui/deployment_rows.py, pure); the sort column's header carries ▲ or ▼ (unsorted:
the inventory's order), the filter is shown in the border's subtitle.

Load and latency are a figure with a sparkline, and the range the bars span in a column
of its own, so that on a narrow terminal the ranges give way before the figures do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import groupby
from typing import ClassVar

from rich.style import Style
from rich.text import Span, Text
from textual.binding import Binding
from textual.reactive import var
from textual.widgets import DataTable

from fleetdeck.core.fleet.snapshot import METRICS_INTERVAL_S, DeploymentSnapshot
from fleetdeck.core.policy.rollout_phase import rollout_phase
from fleetdeck.tui.deployment_access import api_base
from fleetdeck.tui.deployment_rows import (
    cost_per_hour,
    filter_deployments,
    replica_hosts,
    sort_deployments,
)
from fleetdeck.tui.messages import DeploymentSelected
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE
from fleetdeck.tui.widgets.keyed_table import Cells, KeyedTable
from fleetdeck.tui.widgets.metrics_text import (
    format_rate,
    format_seconds,
    format_span,
    latency_variable,
    range_bars,
    spark_points,
    spark_scale,
)
from fleetdeck.tui.widgets.status_light import deployment_light, light_style, styled_light

SPARK_WIDTH = 8
SPARK_SPAN = format_span(SPARK_WIDTH * METRICS_INTERVAL_S)
ASCENDING, DESCENDING = "▲", "▼"
DIM = Style(dim=True)


class DeploymentsTable(KeyedTable):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("o", "cycle_sort", "Sort"),
        Binding("O", "flip_sort", "Reverse", show=False),
    ]

    COLUMNS = (
        ("status", "Status"),
        # The border says "Deployments"; a short header leaves the room to the figures.
        ("name", "Name"),
        ("ready", "Ready"),
        # The sparklines' time span is fixed by their width, so the header says it once.
        ("rate", f"Req/s · {SPARK_SPAN}"),
        ("rate_range", ""),
        ("p95", f"p95 · {SPARK_SPAN}"),
        ("p95_range", ""),
        # What its GPUs cost per hour now, in the inventory's currency (detail: the rest).
        ("cost", "Cost/h"),
        ("hosts", "Hosts"),
        ("model", "Model"),
        ("endpoint", "Endpoint"),
    )
    # At 80 columns: status, name, ready, load, latency and hosts; the detail screen has
    # the rest. The cost per hour outlasts the sparklines' ranges, not the model.
    DROP_ORDER = ("endpoint", "p95_range", "rate_range", "cost", "model", "hosts")
    SORTED_BY: ClassVar[dict[str, str]] = {"rate_range": "rate", "p95_range": "p95"}
    """A column that sorts by another one's values (a range, by its figure)."""

    deployments: var[tuple[DeploymentSnapshot, ...]] = var(())
    """Set by the app from each snapshot; the rows follow."""
    filter_text: var[str] = var("")
    """Only deployments matching this are shown (tui/deployment_rows.py)."""
    sort_column: var[str | None] = var(None)
    """None: the snapshot's (inventory) order."""
    sort_descending: var[bool] = var(False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.host_labels: dict[str, dict[str, str]] = {}
        """Each host's inventory labels, for `key=value` filter words; set with deployments."""
        self.border_title = "Deployments"
        self._label_sort()

    def watch_deployments(self) -> None:
        self.refresh_rows()

    def watch_filter_text(self, text: str) -> None:
        self.border_subtitle = f"filter: {text}" if text else ""
        self.refresh_rows()

    def watch_sort_column(self) -> None:
        self._label_sort()
        self.refresh_rows()

    def watch_sort_descending(self) -> None:
        self._label_sort()
        self.refresh_rows()

    def action_cycle_sort(self) -> None:
        # Through every column on screen, then back to the inventory's order.
        keys: list[str | None] = [*self.sortable_columns(), None]
        at = keys.index(self.sort_column) if self.sort_column in keys else -1
        self.sort_column = keys[(at + 1) % len(keys)]
        self.sort_descending = False

    def sortable_columns(self) -> list[str]:
        """The columns `o` cycles through: those shown, less the ranges."""
        return [key for key in self.shown_columns() if key not in self.SORTED_BY]

    def action_flip_sort(self) -> None:
        self.sort_descending = not self.sort_descending

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        # A click on the sorted column flips it; on another column, sorts by that one.
        event.stop()
        column = str(event.column_key.value)
        column = self.SORTED_BY.get(column, column)
        if column == self.sort_column:
            self.sort_descending = not self.sort_descending
        else:
            self.sort_column = column
            self.sort_descending = False

    def _label_sort(self) -> None:
        arrow = DESCENDING if self.sort_descending else ASCENDING
        for key, label in self.COLUMNS:
            self.relabel(key, f"{label} {arrow}" if key == self.sort_column else label)

    def shown(self) -> tuple[DeploymentSnapshot, ...]:
        """The deployments in the table, filtered and in display order."""
        kept = filter_deployments(self.deployments, self.filter_text, self.host_labels)
        if self.sort_column is None:
            return kept
        return sort_deployments(kept, self.sort_column, descending=self.sort_descending)

    def refresh_rows(self) -> None:
        self.sync_rows({d.name: self._cells(d) for d in self.shown()})

    def _cells(self, deployment: DeploymentSnapshot) -> Cells:
        variables = self.app.theme_variables
        metrics = deployment.metrics
        # Mid-rollout "3/2" reads as a bug; the phase says what is going on.
        ready = rollout_phase(deployment) or f"{deployment.ready}/{deployment.desired}"
        rate_style = light_style("spark-rate", variables)
        return (
            styled_light(deployment_light(deployment.status), variables),
            Text(deployment.name),
            Text(ready, justify="right"),
            *self._trend(
                format_rate(metrics.request_rate) if metrics else NO_VALUE,
                metrics.request_rate_history if metrics else (),
                lambda _value: rate_style,
                format_rate,
            ),
            *self._trend(
                format_seconds(metrics.e2e_latency_s.p95) if metrics else NO_VALUE,
                metrics.e2e_p95_history if metrics else (),
                lambda value: light_style(latency_variable(value), variables),
                format_seconds,
            ),
            Text(cost_per_hour(deployment) or NO_VALUE, justify="right"),
            Text(replica_hosts(deployment) or NO_VALUE),
            Text(deployment.model),
            Text(api_base(deployment) or NO_VALUE),
        )

    @staticmethod
    def _trend(
        figure: str,
        history: Sequence[float],
        style_of: Callable[[float], Style],
        unit: Callable[[float], str],
    ) -> tuple[Text, Text]:
        """The figure with a sparkline of its history; and the range the bars span.

        A cell is no widget, so the sparkline is block characters, each coloured for its
        own point (a latency spike turns the theme's warning colour where it happened);
        bars of one colour share one span, so a calm sparkline is one span to draw.
        """
        points = spark_points(history, SPARK_WIDTH)
        head = f"{figure:>5} "
        spans, start = [], len(head)
        for style, run in groupby(map(style_of, points)):
            end = start + sum(1 for _ in run)
            spans.append(Span(start, end, style))
            start = end
        # Built with its spans at once: Text.append checks every piece for control codes,
        # and this runs for two cells of every row each snapshot.
        trend = Text(head + range_bars(points), justify="left", spans=spans)
        return trend, Text(spark_scale(points, unit), style=DIM)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(DeploymentSelected(event.row_key.value))
