"""Metric figures and text sparklines for table cells and the detail header.

Pure (numbers in, strings out) so the wording is tested as plain strings. Table cells
are Rich renderables, not widgets, so rows draw their sparkline from block characters;
the detail screen uses Textual's `Sparkline` widget for the same series.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fleetdeck.core.fleet.snapshot import MetricsSnapshot
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE

_BARS = "▁▂▃▄▅▆▇█"


def spark_bars(values: Sequence[float], width: int) -> str:
    """The last `width` values as bars scaled to their own maximum ("" when none)."""
    points = list(values)[-width:]
    if not points:
        return ""
    top = max(points)
    if top <= 0:
        return _BARS[0] * len(points)
    last = len(_BARS) - 1
    return "".join(_BARS[min(last, max(0, round(v / top * last)))] for v in points)


# End-to-end p95 of a chat request: a couple of seconds is a normal long answer; past
# these the sparkline turns to the theme's warning, then critical, colour.
LATENCY_WARNING_S = 2.0
LATENCY_CRITICAL_S = 10.0


def latency_variable(seconds: float) -> str:
    """The theme variable (without `$`) that colours a latency point."""
    if seconds >= LATENCY_CRITICAL_S:
        return "spark-latency-critical"
    if seconds >= LATENCY_WARNING_S:
        return "spark-latency-warning"
    return "spark-latency"


def spark_points(values: Sequence[float], width: int) -> list[float]:
    """The points a `width`-wide sparkline draws: the newest ones."""
    return list(values[-width:])


def format_span(seconds: float) -> str:
    """A time span as a column header says it: "16s", "2m", "1h"."""
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


def range_bars(points: Sequence[float]) -> str:
    """Bars scaled from the lowest point to the highest, so that a steady figure with a
    small wobble is not one solid block; `spark_scale` says what the range is. A flat
    series sits mid-height (the lowest bar would read as zero)."""
    if not points:
        return ""
    low, high = min(points), max(points)
    if high <= low:
        return (_BARS[3] if high > 0 else _BARS[0]) * len(points)
    last = len(_BARS) - 1
    return "".join(_BARS[round((v - low) / (high - low) * last)] for v in points)


def spark_scale(points: Sequence[float], unit: Callable[[float], str]) -> str:
    """The range `range_bars` drew ("0.90s–1.60s"); "" when nothing was measured yet."""
    if not points or max(points) <= 0:
        return ""
    low, high = unit(min(points)), unit(max(points))
    return high if low == high else f"{low}–{high}"


def format_rate(value: float | None) -> str:
    if value is None:
        return NO_VALUE
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def format_seconds(value: float | None) -> str:
    if value is None:
        return NO_VALUE
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def format_count(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value:.0f}"


def format_share(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value * 100:.0f}%"


def metrics_line(metrics: MetricsSnapshot | None) -> str:
    """One line of a deployment's figures for the detail header."""
    if metrics is None:
        return "no metrics yet (the first scrapes are on their way)"
    parts = [
        f"req/s {format_rate(metrics.request_rate)}",
        f"p50 {format_seconds(metrics.e2e_latency_s.p50)}",
        f"p95 {format_seconds(metrics.e2e_latency_s.p95)}",
        f"TTFT p95 {format_seconds(metrics.ttft_s.p95)}",
        f"gen tok/s {format_rate(metrics.generation_tokens_per_s)}",
        f"running {format_count(metrics.running)}",
        f"waiting {format_count(metrics.waiting)}",
        f"KV {format_share(metrics.kv_cache_usage)}",
    ]
    if metrics.error_ratio:
        parts.append(f"errors {format_share(metrics.error_ratio)}")
    return " · ".join(parts)
