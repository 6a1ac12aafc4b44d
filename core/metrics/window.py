"""Deltas between consecutive scrapes, and what a window of them adds up to.

A `Step` is what happened between two pages of one replica. A `WindowView` is a
replica's (or, summed, a deployment's) recent traffic: rates over a short window,
histogram deltas over the longer one, and the latest gauges. Views add up exactly, so
a deployment's percentiles come from summed buckets, not from averaged percentiles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fleetdeck.core.fleet.snapshot import LatencyPercentiles, MetricsSnapshot
from fleetdeck.core.metrics import families as f
from fleetdeck.core.metrics.counters import counter_delta, labelled_deltas, rate
from fleetdeck.core.metrics.histograms import Histogram, add_histograms, histogram_delta, quantile
from fleetdeck.core.metrics.vllm_page import PageValues, restarted_between


@dataclass(frozen=True, slots=True)
class Step:
    start: float
    end: float
    finished: float
    failed: float
    prompt_tokens: float
    generation_tokens: float
    histograms: Mapping[str, Histogram]


def step_between(start: float, old: PageValues, end: float, new: PageValues) -> Step:
    restarted = restarted_between(old, new)
    by_reason = labelled_deltas(old.finished, new.finished, restarted)
    histograms = {}
    for name, histogram in new.histograms.items():
        before = old.histograms.get(name)
        if before is not None:
            histograms[name] = histogram if restarted else histogram_delta(before, histogram)
    return Step(
        start=start,
        end=end,
        finished=sum(by_reason.values()),
        failed=sum(v for reason, v in by_reason.items() if reason in f.FAILED_REASONS),
        prompt_tokens=counter_delta(old.prompt_tokens, new.prompt_tokens, restarted),
        generation_tokens=counter_delta(old.generation_tokens, new.generation_tokens, restarted),
        histograms=histograms,
    )


@dataclass(frozen=True, slots=True)
class WindowView:
    at: float
    window_s: float
    request_rate: float | None = None
    prompt_tokens_per_s: float | None = None
    generation_tokens_per_s: float | None = None
    finished_in_window: float = 0.0
    failed_in_window: float = 0.0
    running: float | None = None
    waiting: float | None = None
    kv_cache_usage: float | None = None
    requests_total: float | None = None
    histograms: Mapping[str, Histogram] = field(default_factory=dict)  # deltas, window_s


def view_of(
    at: float, page: PageValues, steps: Sequence[Step], window_s: float, rate_window_s: float
) -> WindowView:
    """A replica's view at `at` from its latest page and its steps inside `window_s`.

    Rates use the steps that ended within `rate_window_s` (at least the last one, so a
    scrape interval longer than that window still gives the last pair's rate).
    """
    recent = [s for s in steps if s.end > at - rate_window_s] or ([steps[-1]] if steps else [])
    span = at - recent[0].start if recent else 0.0

    def per_second(delta: float, present: object) -> float | None:
        # Unknown, not zero, before two pages or when the page lacks the family.
        return rate(delta, span) if recent and present is not None else None

    names = {name for s in steps for name in s.histograms}
    return WindowView(
        at=at,
        window_s=window_s,
        request_rate=per_second(sum(s.finished for s in recent), page.finished_total),
        prompt_tokens_per_s=per_second(sum(s.prompt_tokens for s in recent), page.prompt_tokens),
        generation_tokens_per_s=per_second(
            sum(s.generation_tokens for s in recent), page.generation_tokens
        ),
        finished_in_window=sum(s.finished for s in steps),
        failed_in_window=sum(s.failed for s in steps),
        running=page.running,
        waiting=page.waiting,
        kv_cache_usage=page.kv_cache_usage,
        requests_total=page.finished_total,
        histograms={
            name: add_histograms([s.histograms[name] for s in steps if name in s.histograms])
            for name in sorted(names)
        },
    )


def combine_views(at: float, views: Sequence[WindowView]) -> WindowView:
    """A deployment's view: rates, counts and gauges summed, KV usage averaged, bucket
    deltas summed so that its percentiles are those of all its requests together."""
    names = {name for v in views for name in v.histograms}
    kv = [v.kv_cache_usage for v in views if v.kv_cache_usage is not None]
    return WindowView(
        at=at,
        window_s=max((v.window_s for v in views), default=0.0),
        request_rate=_sum(v.request_rate for v in views),
        prompt_tokens_per_s=_sum(v.prompt_tokens_per_s for v in views),
        generation_tokens_per_s=_sum(v.generation_tokens_per_s for v in views),
        finished_in_window=sum(v.finished_in_window for v in views),
        failed_in_window=sum(v.failed_in_window for v in views),
        running=_sum(v.running for v in views),
        waiting=_sum(v.waiting for v in views),
        kv_cache_usage=sum(kv) / len(kv) if kv else None,
        requests_total=_sum(v.requests_total for v in views),
        histograms={
            name: add_histograms([v.histograms[name] for v in views if name in v.histograms])
            for name in sorted(names)
        },
    )


def percentiles(histogram: Histogram | None) -> LatencyPercentiles:
    if histogram is None:
        return LatencyPercentiles()
    return LatencyPercentiles(p50=quantile(0.5, histogram), p95=quantile(0.95, histogram))


def snapshot_of(
    view: WindowView, histories: Mapping[str, tuple[float, ...]] | None = None
) -> MetricsSnapshot:
    """`histories`: MetricsSnapshot's `*_history` fields by name (core/metrics/history.py)."""
    hist = view.histograms
    return MetricsSnapshot(
        sampled_at=view.at,
        window_s=view.window_s,
        request_rate=view.request_rate,
        error_ratio=(
            view.failed_in_window / view.finished_in_window if view.finished_in_window else None
        ),
        prompt_tokens_per_s=view.prompt_tokens_per_s,
        generation_tokens_per_s=view.generation_tokens_per_s,
        running=view.running,
        waiting=view.waiting,
        kv_cache_usage=view.kv_cache_usage,
        requests_total=view.requests_total,
        requests_in_window=view.finished_in_window,
        e2e_latency_s=percentiles(hist.get(f.E2E_LATENCY)),
        ttft_s=percentiles(hist.get(f.TTFT)),
        inter_token_latency_s=percentiles(hist.get(f.INTER_TOKEN_LATENCY)),
        queue_time_s=percentiles(hist.get(f.QUEUE_TIME)),
        **(histories or {}),
    )


def _sum(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
