"""A deployment's metrics: seven figures, each with its sparkline, and what is running.

One cell per series in a grid (four columns, two rows). Each cell is a label with the
current figure over a sparkline of the same series from `MetricsSnapshot`'s histories
(one point per scrape, oldest first). The cells are as tall as the screen allows: the
detail screen's CSS gives the sparklines one row on a short terminal and three on a
tall one. Latency series take the theme's latency colour, the others its rate colour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.reactive import var
from textual.widgets import Label, Sparkline

from fleetdeck.core.fleet.snapshot import MetricsSnapshot
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE
from fleetdeck.tui.widgets.metrics_text import (
    format_count,
    format_rate,
    format_seconds,
    format_share,
)


@dataclass(frozen=True)
class Series:
    key: str
    """Names the cell's widgets: `#<key>-label`, `#<key>-spark`."""
    label: str
    history: str
    """The MetricsSnapshot field holding its sparkline."""
    current: Callable[[MetricsSnapshot], str]
    latency: bool = False


SERIES = (
    Series("rate", "req/s", "request_rate_history", lambda m: format_rate(m.request_rate)),
    Series("p50", "p50", "e2e_p50_history",
           lambda m: format_seconds(m.e2e_latency_s.p50), latency=True),
    Series("p95", "p95", "e2e_p95_history",
           lambda m: format_seconds(m.e2e_latency_s.p95), latency=True),
    Series("ttft", "TTFT p95", "ttft_p95_history",
           lambda m: format_seconds(m.ttft_s.p95), latency=True),
    Series("gen", "gen tok/s", "generation_tokens_history",
           lambda m: format_rate(m.generation_tokens_per_s)),
    Series("waiting", "waiting", "waiting_history", lambda m: format_count(m.waiting)),
    Series("kv", "KV cache", "kv_cache_history", lambda m: format_share(m.kv_cache_usage)),
)  # fmt: skip


def series_label(series: Series, metrics: MetricsSnapshot | None) -> str:
    return f"{series.label} {series.current(metrics) if metrics else NO_VALUE}"


def series_points(series: Series, metrics: MetricsSnapshot | None) -> tuple[float, ...]:
    if metrics is None:
        return ()
    points: tuple[float, ...] = getattr(metrics, series.history)
    return points


def more_line(metrics: MetricsSnapshot | None) -> str:
    """The last cell: figures with no sparkline of their own."""
    if metrics is None:
        return "no metrics yet"
    parts = [f"running {format_count(metrics.running)}"]
    if metrics.error_ratio:
        parts.append(f"errors {format_share(metrics.error_ratio)}")
    return " · ".join(parts)


class MetricsStrip(Grid):
    metrics: var[MetricsSnapshot | None] = var(None)
    """Set by the detail screen from each snapshot (None: no scrape yet)."""

    def compose(self) -> ComposeResult:
        for series in SERIES:
            with Vertical(classes="metric"):
                yield Label(id=f"{series.key}-label", classes="spark-label")
                kind = "-latency" if series.latency else "-rate"
                yield Sparkline((), id=f"{series.key}-spark", classes=kind)
        with Vertical(classes="metric"):
            yield Label(id="more-label", classes="spark-label")

    def on_mount(self) -> None:
        self._draw(self.metrics)

    def watch_metrics(self, metrics: MetricsSnapshot | None) -> None:
        if self.children:  # before compose there is nothing to draw on; on_mount draws
            self._draw(metrics)

    def _draw(self, metrics: MetricsSnapshot | None) -> None:
        for series in SERIES:
            self.query_one(f"#{series.key}-label", Label).update(series_label(series, metrics))
            self.query_one(f"#{series.key}-spark", Sparkline).data = series_points(series, metrics)
        self.query_one("#more-label", Label).update(more_line(metrics))
