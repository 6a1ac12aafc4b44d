"""Cumulative Prometheus histograms: build from samples, subtract, add, and take quantiles.

Percentiles come from bucket *deltas* over a window, never from the running totals: the
totals since a replica started say nothing about the last minute. The quantile is
Prometheus's `histogram_quantile`: linear interpolation inside the bucket that holds
the rank, the first bucket starting at 0, and the highest finite bound when the rank
falls in the +Inf bucket.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fleetdeck.core.metrics.prometheus_text import Sample


@dataclass(frozen=True, slots=True)
class Histogram:
    """Cumulative bucket counts; `bounds` ascend and end with +Inf."""

    bounds: tuple[float, ...]
    cumulative: tuple[float, ...]
    count: float
    sum: float

    @property
    def total(self) -> float:
        """Observations, from the +Inf bucket (the `_count` sample says the same)."""
        return self.cumulative[-1] if self.cumulative else 0.0


EMPTY = Histogram((math.inf,), (0.0,), 0.0, 0.0)


def histogram_from_samples(family: str, samples: Iterable[Sample]) -> Histogram | None:
    """One histogram from a family's `_bucket/_count/_sum` samples, summed over every
    other label (engines, models). None when the family has no bucket."""
    buckets: dict[float, float] = {}
    count = total = 0.0
    seen_count = False
    bucket_name, count_name, sum_name = f"{family}_bucket", f"{family}_count", f"{family}_sum"
    for sample in samples:
        if sample.name == bucket_name:
            le = sample.label("le")
            bound = _bound(le) if le is not None else None
            if bound is not None:
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
        elif sample.name == count_name:
            count += sample.value
            seen_count = True
        elif sample.name == sum_name:
            total += sample.value
    if not buckets:
        return None
    if math.inf not in buckets:  # a page cut short: _count is the +Inf bucket
        buckets[math.inf] = count if seen_count else max(buckets.values())
    bounds = tuple(sorted(buckets))
    cumulative = _monotonic([buckets[bound] for bound in bounds])
    return Histogram(bounds, cumulative, count if seen_count else cumulative[-1], total)


def histogram_delta(old: Histogram, new: Histogram) -> Histogram:
    """What was observed between two readings of one series. A reading that went down
    (the process restarted) or changed its buckets is counted from zero."""
    if old.bounds != new.bounds or any(
        after < before for before, after in zip(old.cumulative, new.cumulative, strict=True)
    ):
        return new
    if new.count < old.count:
        return new
    return Histogram(
        new.bounds,
        tuple(after - before for before, after in zip(old.cumulative, new.cumulative, strict=True)),
        new.count - old.count,
        new.sum - old.sum,
    )


def add_histograms(histograms: Sequence[Histogram]) -> Histogram:
    """The sum of several histograms, on the bucket bounds they all share.

    Replicas of one deployment normally share buckets; if versions differ, keeping only
    the common bounds gives a coarser but still correct distribution (+Inf is always
    common), where mixing bounds would invent observations.
    """
    present = [h for h in histograms if h.bounds]
    if not present:
        return EMPTY
    first = present[0].bounds
    if all(h.bounds == first for h in present):  # the usual case, and the hot path
        return Histogram(
            first,
            tuple(map(sum, zip(*(h.cumulative for h in present), strict=True))),
            sum(h.count for h in present),
            sum(h.sum for h in present),
        )
    common = set(first).intersection(*(h.bounds for h in present[1:]))
    bounds = tuple(sorted(common))
    cumulative = [0.0] * len(bounds)
    for histogram in present:
        at = dict(zip(histogram.bounds, histogram.cumulative, strict=True))
        for i, bound in enumerate(bounds):
            cumulative[i] += at[bound]
    return Histogram(
        bounds,
        tuple(cumulative),
        sum(h.count for h in present),
        sum(h.sum for h in present),
    )


def quantile(q: float, histogram: Histogram) -> float | None:
    """Prometheus `histogram_quantile(q, ...)`; None when nothing was observed."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside 0..1")
    bounds, cumulative = histogram.bounds, histogram.cumulative
    if len(bounds) < 2 or bounds[-1] != math.inf:
        return None
    observations = cumulative[-1]
    if observations <= 0:
        return None
    rank = q * observations
    # The first bucket holding the rank, +Inf excluded from the search (Prometheus).
    b = next((i for i in range(len(bounds) - 1) if cumulative[i] >= rank), len(bounds) - 1)
    if b == len(bounds) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start = bounds[b - 1] if b > 0 else 0.0
    below = cumulative[b - 1] if b > 0 else 0.0
    in_bucket = cumulative[b] - below
    if in_bucket <= 0:
        return start
    return start + (bounds[b] - start) * ((rank - below) / in_bucket)


def _bound(text: str) -> float | None:
    try:
        bound = float(text)
    except ValueError:
        return None
    return None if math.isnan(bound) else bound


def _monotonic(values: list[float]) -> tuple[float, ...]:
    """Cumulative counts can dip by float noise or a torn read; Prometheus flattens them."""
    out = []
    highest = 0.0
    for value in values:
        highest = max(highest, value if not math.isnan(value) else highest)
        out.append(highest)
    return tuple(out)
