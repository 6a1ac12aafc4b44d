"""A deployment's request rate and p95 latency: the current figure and a sparkline of each."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import var
from textual.widgets import Label, Sparkline

from fleetdeck.core.fleet.snapshot import MetricsSnapshot
from fleetdeck.tui.widgets.metrics_text import format_rate, format_seconds


class MetricsStrip(Horizontal):
    metrics: var[MetricsSnapshot | None] = var(None)
    """Set by the detail screen from each snapshot (None: no scrape yet)."""

    def compose(self) -> ComposeResult:
        yield Label(id="rate-label", classes="spark-label")
        yield Sparkline((), id="rate-spark")
        yield Label(id="p95-label", classes="spark-label")
        yield Sparkline((), id="p95-spark")

    def on_mount(self) -> None:
        self._draw(self.metrics)

    def watch_metrics(self, metrics: MetricsSnapshot | None) -> None:
        if self.children:  # before compose there is nothing to draw on; on_mount draws
            self._draw(metrics)

    def _draw(self, metrics: MetricsSnapshot | None) -> None:
        rate = metrics.request_rate if metrics else None
        p95 = metrics.e2e_latency_s.p95 if metrics else None
        self.query_one("#rate-label", Label).update(f"req/s {format_rate(rate)}")
        self.query_one("#p95-label", Label).update(f"p95 {format_seconds(p95)}")
        self.query_one("#rate-spark", Sparkline).data = (
            metrics.request_rate_history if metrics else ()
        )
        self.query_one("#p95-spark", Sparkline).data = metrics.e2e_p95_history if metrics else ()
