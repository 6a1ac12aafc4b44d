"""A deployment's metrics: rates and gauges summed, percentiles from summed buckets."""

from __future__ import annotations

import pytest

from fleetdeck.core.metrics import families
from fleetdeck.core.metrics.deployment_metrics import DeploymentMetrics, aggregate
from fleetdeck.core.metrics.replica_metrics import ReplicaMetrics
from fleetdeck.core.metrics.ring import Ring
from tests.unit.test_metrics_page import REAL_TEXT, observe, with_values, zeroed
from tests.unit.test_metrics_replica import RUNNING, served

KV = 'vllm:kv_cache_usage_perc{engine="0",model_name="tiny"}'
WAITING = 'vllm:num_requests_waiting{engine="0",model_name="tiny"}'


def replica(t0: float, first: str, t1: float, second: str) -> ReplicaMetrics:
    metrics = ReplicaMetrics()
    metrics.add_sample(t0, first)
    metrics.add_sample(t1, second)
    return metrics


def test_percentiles_come_from_the_summed_buckets_not_from_averaged_percentiles() -> None:
    # Replica a served 4 requests of 0.4 s, replica b 6 of 0.6 s, both in 10 s.
    a = replica(0.0, REAL_TEXT, 10.0, served(REAL_TEXT, 4, 0.4))
    b = replica(0.0, REAL_TEXT, 10.0, served(REAL_TEXT, 6, 0.6))
    a_summary, b_summary = a.summary(), b.summary()
    assert a_summary is not None and b_summary is not None
    # a alone: 4 in (0.3, 0.5], p50 rank 2 -> 0.3 + 0.2 * 2/4 = 0.4
    # b alone: 6 in (0.5, 0.8], p50 rank 3 -> 0.5 + 0.3 * 3/6 = 0.65
    assert a_summary.e2e_latency_s.p50 == pytest.approx(0.4)
    assert b_summary.e2e_latency_s.p50 == pytest.approx(0.65)
    deployment = DeploymentMetrics().update(10.0, [a, b])
    assert deployment is not None
    # Together: (0.3, 0.5] 4, (0.5, 0.8] 6. p50 rank 5 -> 0.5 + 0.3 * 1/6 = 0.55, where the
    # mean of the two percentiles would say 0.525. p95 rank 9.5 -> 0.5 + 0.3 * 5.5/6.
    assert deployment.e2e_latency_s.p50 == pytest.approx(0.55)
    assert deployment.e2e_latency_s.p95 == pytest.approx(0.775)
    assert deployment.request_rate == pytest.approx(1.0)  # 0.4 + 0.6 req/s
    assert deployment.requests_in_window == 10.0
    assert deployment.requests_total == 2 * 21.0 + 10.0


def test_gauges_are_summed_and_kv_usage_averaged() -> None:
    busy = with_values(REAL_TEXT, {RUNNING: 3.0, WAITING: 2.0, KV: 0.5})
    quiet = with_values(REAL_TEXT, {RUNNING: 1.0, KV: 0.1})
    view = aggregate(5.0, [replica(0.0, busy, 5.0, busy), replica(0.0, quiet, 5.0, quiet)])
    assert view is not None
    assert (view.running, view.waiting) == (4.0, 2.0)
    assert view.kv_cache_usage == pytest.approx(0.3)
    assert view.generation_tokens_per_s == 0.0


def test_a_replica_not_scraped_lately_is_left_out() -> None:
    fresh = replica(0.0, zeroed(REAL_TEXT), 100.0, REAL_TEXT)  # 21 requests in 100 s
    stale = replica(0.0, zeroed(REAL_TEXT), 10.0, REAL_TEXT)  # last scraped at t=10
    view = aggregate(100.0, [fresh, stale], max_age_s=30.0)
    assert view is not None and view.request_rate == pytest.approx(0.21)
    assert aggregate(100.0, [stale], max_age_s=30.0) is None
    everything = aggregate(100.0, [fresh, stale])
    assert everything is not None and everything.request_rate == pytest.approx(0.21 + 2.1)


def test_a_deployment_keeps_its_own_sparklines() -> None:
    metrics = DeploymentMetrics(history_points=3)
    assert metrics.update(0.0, []) is None
    one = ReplicaMetrics()
    text = REAL_TEXT
    for t in range(1, 5):
        one.add_sample(float(t), text)
        summary = metrics.update(float(t), [one])
        text = observe(served(text, 2, 0.4), families.TTFT, [0.01] * 2)
    assert summary is not None
    # Updates at t=2..4; 2 requests every second from t=1 on.
    assert summary.request_rate_history == pytest.approx((2.0, 2.0, 2.0))
    assert summary.e2e_p95_history[-1] == pytest.approx(0.3 + 0.2 * 0.95)
    assert summary.ttft_s.p50 == pytest.approx(0.005 + 0.005 * 0.5)  # all in (0.005, 0.01]


def test_a_ring_holds_its_newest_points_oldest_first() -> None:
    ring = Ring(3)
    for value in range(5):
        ring.push(float(value))
    assert ring.values() == (2.0, 3.0, 4.0)
    assert (len(ring), ring.capacity) == (3, 3)
    with pytest.raises(ValueError):
        Ring(0)


def test_every_figure_of_the_detail_screen_has_a_history_in_step() -> None:
    metrics = DeploymentMetrics(history_points=3)
    assert metrics.update(0.0, []) is None  # no data still moves every sparkline
    one = ReplicaMetrics()
    text = REAL_TEXT
    for t in range(1, 5):
        one.add_sample(float(t), text)
        summary = metrics.update(float(t), [one])
        text = observe(served(text, 2, 0.4), families.TTFT, [0.01] * 2)
    assert summary is not None
    histories = (
        summary.request_rate_history, summary.e2e_p50_history, summary.e2e_p95_history,
        summary.ttft_p95_history, summary.generation_tokens_history, summary.waiting_history,
        summary.kv_cache_history,
    )  # fmt: skip
    assert all(len(points) == 3 for points in histories)
    assert summary.e2e_p50_history[-1] == pytest.approx(summary.e2e_latency_s.p50 or 0.0)
    assert summary.ttft_p95_history[-1] == pytest.approx(summary.ttft_s.p95 or 0.0)
    assert summary.waiting_history[-1] == pytest.approx(summary.waiting or 0.0)
    assert summary.kv_cache_history[-1] == pytest.approx(summary.kv_cache_usage or 0.0)
    assert summary.generation_tokens_history[-1] == pytest.approx(
        summary.generation_tokens_per_s or 0.0
    )


def test_latency_totals_only_grow_when_a_replica_restarts_or_goes_away() -> None:
    # What Prometheus reads (core/export): the deployment's buckets since fleetdeck began.
    metrics = DeploymentMetrics()
    a, b = ReplicaMetrics(), ReplicaMetrics()
    a.add_sample(0.0, REAL_TEXT)
    b.add_sample(0.0, REAL_TEXT)
    a.add_sample(1.0, served(REAL_TEXT, 4, 0.4))
    b.add_sample(1.0, served(REAL_TEXT, 6, 0.6))
    first = metrics.update(1.0, [a, b])
    assert first is not None and first.e2e_latency_histogram is not None
    assert first.e2e_latency_histogram.count == 10.0
    assert first.e2e_latency_histogram.sum == pytest.approx(4 * 0.4 + 6 * 0.6)
    assert all(bound != float("inf") for bound in first.e2e_latency_histogram.bounds)
    # a restarts (its page counts from zero: 2 new requests); b is gone.
    a.add_sample(2.0, served(zeroed(REAL_TEXT), 2, 0.4))
    second = metrics.update(2.0, [a])
    assert second is not None and second.e2e_latency_histogram is not None
    assert second.e2e_latency_histogram.count == 12.0
    counts = second.e2e_latency_histogram.cumulative
    assert list(counts) == sorted(counts)  # cumulative
    # Nothing new: the same totals again, not counted twice.
    third = metrics.update(3.0, [a])
    assert third is not None and third.e2e_latency_histogram == second.e2e_latency_histogram
    # A replica's own summary carries none (a deployment's only).
    assert (a.summary() or first).e2e_latency_histogram is None
