"""Histograms that only grow: what Prometheus needs from latencies fleetdeck reads.

A replica's page is cumulative since its process started, so it falls back to zero on
a restart, and a deployment's sum of pages drops whenever a replica goes away. Here a
replica keeps the sum of its scrape-to-scrape deltas (`add_step`), and a deployment adds
what each of its replicas gained since the last round (`DeploymentTotals`): both
count from when this process started reading, and never go down.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

from fleetdeck.core.fleet.snapshot import HistogramSnapshot
from fleetdeck.core.metrics.histograms import Histogram, add_histograms, histogram_delta


def add_step(totals: dict[str, Histogram], step: Mapping[str, Histogram]) -> None:
    """Adds one step's bucket deltas into `totals`, in place."""
    for name, delta in step.items():
        before = totals.get(name)
        totals[name] = delta if before is None else add_histograms([before, delta])


class DeploymentTotals:
    """A deployment's running histograms, from its replicas' running histograms.

    Each round passes every replica's totals keyed by something that names that replica
    for its lifetime (its ReplicaMetrics object); what a key gained since the previous
    round is added. A key seen for the first time counts whole (its totals began with
    this process's first scrape of it), a key that is gone is forgotten.
    """

    def __init__(self) -> None:
        self._seen: dict[Hashable, Mapping[str, Histogram]] = {}
        self._totals: dict[str, Histogram] = {}

    def update(self, replicas: Mapping[Hashable, Mapping[str, Histogram]]) -> None:
        for key, histograms in replicas.items():
            before = self._seen.get(key, {})
            gained = {
                name: histogram if name not in before else histogram_delta(before[name], histogram)
                for name, histogram in histograms.items()
            }
            add_step(self._totals, gained)
        self._seen = {key: dict(histograms) for key, histograms in replicas.items()}

    def get(self, name: str) -> Histogram | None:
        return self._totals.get(name)


def histogram_snapshot(histogram: Histogram | None) -> HistogramSnapshot | None:
    """The snapshot's form: finite bounds only (JSON has no +Inf), the count for +Inf."""
    if histogram is None:
        return None
    finite = [(b, c) for b, c in zip(histogram.bounds, histogram.cumulative, strict=True)
              if not math.isinf(b)]  # fmt: skip
    return HistogramSnapshot(
        bounds=tuple(b for b, _ in finite),
        cumulative=tuple(c for _, c in finite),
        count=histogram.total,
        sum=histogram.sum,
    )
