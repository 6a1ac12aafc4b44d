"""A deployment's metrics: its replicas' windows added up, with sparklines of its own."""

from __future__ import annotations

from collections.abc import Iterable

from fleetdeck.core.fleet.snapshot import MetricsSnapshot
from fleetdeck.core.metrics import families as f
from fleetdeck.core.metrics.history import Histories
from fleetdeck.core.metrics.replica_metrics import ReplicaMetrics
from fleetdeck.core.metrics.ring import SPARKLINE_POINTS
from fleetdeck.core.metrics.totals import DeploymentTotals, histogram_snapshot
from fleetdeck.core.metrics.window import WindowView, combine_views, snapshot_of


def aggregate(
    t: float, replicas: Iterable[ReplicaMetrics], max_age_s: float | None = None
) -> WindowView | None:
    """The replicas' latest windows summed; a replica not scraped within `max_age_s`
    (gone or unreachable) is left out. None when no replica has a window."""
    views = [
        view
        for replica in replicas
        if (view := replica.view()) is not None and (max_age_s is None or view.at >= t - max_age_s)
    ]
    return combine_views(t, views) if views else None


class DeploymentMetrics:
    """Owned by the engine; call `update` once per scrape round."""

    def __init__(self, history_points: int = SPARKLINE_POINTS) -> None:
        self._histories = Histories(history_points)
        self._view: WindowView | None = None
        self._totals = DeploymentTotals()

    def update(
        self, t: float, replicas: Iterable[ReplicaMetrics], max_age_s: float | None = None
    ) -> MetricsSnapshot | None:
        replicas = list(replicas)
        self._view = aggregate(t, replicas, max_age_s)
        # Every replica, however old its window: the totals only add what it gained.
        self._totals.update({replica: replica.totals() for replica in replicas})
        # No data this round still moves the sparklines (zeros), so they keep time.
        self._histories.push(self._view)
        return self.summary()

    def summary(self) -> MetricsSnapshot | None:
        if self._view is None:
            return None
        return snapshot_of(self._view, self._histories.values()).model_copy(
            update={
                "e2e_latency_histogram": histogram_snapshot(self._totals.get(f.E2E_LATENCY)),
                "ttft_histogram": histogram_snapshot(self._totals.get(f.TTFT)),
            }
        )
