"""The sparkline histories a metrics summary carries: one ring per series, pushed together.

One point per scrape for every series, so the sparklines of a deployment line up in
time; an unknown value is pushed as 0.0 (the sparkline keeps time, the gap shows).
"""

from __future__ import annotations

from fleetdeck.core.metrics import families as f
from fleetdeck.core.metrics.ring import SPARKLINE_POINTS, Ring
from fleetdeck.core.metrics.window import WindowView, percentiles

HISTORY_FIELDS = (
    "request_rate_history",
    "e2e_p50_history",
    "e2e_p95_history",
    "ttft_p95_history",
    "generation_tokens_history",
    "waiting_history",
    "kv_cache_history",
)
"""MetricsSnapshot's history fields, in the order the detail screen draws them."""


def history_points(view: WindowView | None) -> dict[str, float]:
    """One point of each series for `view` (None: no data this round, all 0.0)."""
    if view is None:
        return dict.fromkeys(HISTORY_FIELDS, 0.0)
    e2e = percentiles(view.histograms.get(f.E2E_LATENCY))
    ttft = percentiles(view.histograms.get(f.TTFT))
    return {
        "request_rate_history": view.request_rate or 0.0,
        "e2e_p50_history": e2e.p50 or 0.0,
        "e2e_p95_history": e2e.p95 or 0.0,
        "ttft_p95_history": ttft.p95 or 0.0,
        "generation_tokens_history": view.generation_tokens_per_s or 0.0,
        "waiting_history": view.waiting or 0.0,
        "kv_cache_history": view.kv_cache_usage or 0.0,
    }


class Histories:
    """Owned by one writer (a ReplicaMetrics or DeploymentMetrics); readers get tuples."""

    def __init__(self, capacity: int = SPARKLINE_POINTS) -> None:
        self._rings = {name: Ring(capacity) for name in HISTORY_FIELDS}

    def push(self, view: WindowView | None) -> None:
        for name, value in history_points(view).items():
            self._rings[name].push(value)

    def values(self) -> dict[str, tuple[float, ...]]:
        """MetricsSnapshot keyword arguments: each history, oldest first."""
        return {name: ring.values() for name, ring in self._rings.items()}
