"""Percentiles from bucket deltas, checked by hand against the real fixture page.

histogram_quantile: rank = q * observations; find the first bucket whose cumulative
count reaches the rank; interpolate linearly inside it:
    value = lower_bound + (upper_bound - lower_bound) * (rank - below) / in_bucket
with lower_bound 0 for the first bucket. Every expectation below is worked out in its
comment from the numbers on the page.
"""

from __future__ import annotations

import math

import pytest

from fleetdeck.core.metrics import families
from fleetdeck.core.metrics.histograms import (
    Histogram,
    add_histograms,
    histogram_delta,
    quantile,
)
from fleetdeck.core.metrics.vllm_page import read_page
from tests.unit.test_metrics_page import REAL_TEXT, observe, zeroed

E2E, TTFT, ITL = families.E2E_LATENCY, families.TTFT, families.INTER_TOKEN_LATENCY


def delta(old_text: str, new_text: str, family: str) -> Histogram:
    return histogram_delta(
        read_page(old_text).histograms[family], read_page(new_text).histograms[family]
    )


def test_percentiles_of_the_fixture_page_served_from_a_fresh_start() -> None:
    # From a server that had served nothing (the same page, every value 0) to the fixture.
    e2e = delta(zeroed(REAL_TEXT), REAL_TEXT, E2E)
    assert e2e.count == 21.0 and e2e.sum == 3.32305908203125
    # e2e: all 21 requests in (0, 0.3].
    # p50: rank 0.5*21 = 10.5 -> 0 + 0.3 * 10.5/21 = 0.15
    # p95: rank 0.95*21 = 19.95 -> 0.3 * 19.95/21 = 0.285
    assert quantile(0.5, e2e) == pytest.approx(0.15)
    assert quantile(0.95, e2e) == pytest.approx(0.285)
    # TTFT: cumulative 0 (le 0.01), 1 (le 0.02), 16 (le 0.04), 22 (le 0.06); 22 in all.
    # p50: rank 11 -> bucket (0.02, 0.04] holds 15, 1 below: 0.02 + 0.02 * 10/15
    # p95: rank 20.9 -> bucket (0.04, 0.06] holds 6, 16 below: 0.04 + 0.02 * 4.9/6
    ttft = delta(zeroed(REAL_TEXT), REAL_TEXT, TTFT)
    assert quantile(0.5, ttft) == pytest.approx(0.02 + 0.02 * 10 / 15)  # 0.03333
    assert quantile(0.95, ttft) == pytest.approx(0.04 + 0.02 * 4.9 / 6)  # 0.05633
    # ITL: 576 of 588 tokens in (0, 0.01], 12 in (0.01, 0.025].
    # p50: rank 294 -> 0.01 * 294/576; p95: rank 558.6 -> 0.01 * 558.6/576
    itl = delta(zeroed(REAL_TEXT), REAL_TEXT, ITL)
    assert quantile(0.5, itl) == pytest.approx(0.01 * 294 / 576)  # 0.0051
    assert quantile(0.95, itl) == pytest.approx(0.01 * 558.6 / 576)  # 0.0097


def test_percentiles_of_requests_added_by_hand_to_the_fixture_page() -> None:
    # 10 more requests after the fixture: 4 took 0.4 s, 6 took 0.6 s.
    later = observe(REAL_TEXT, E2E, [0.4] * 4 + [0.6] * 6)
    assert (
        'vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.5",model_name="tiny"} 25.0'
        in (later)
    )
    e2e = delta(REAL_TEXT, later, E2E)
    # Delta buckets: (0, 0.3] 0, (0.3, 0.5] 4, (0.5, 0.8] 6; 10 in all.
    assert (e2e.count, e2e.cumulative[:3], e2e.total) == (10.0, (0.0, 4.0, 10.0), 10.0)
    assert e2e.sum == pytest.approx(4 * 0.4 + 6 * 0.6)
    # p50: rank 5 -> (0.5, 0.8] holds 6, 4 below: 0.5 + 0.3 * 1/6 = 0.55
    # p95: rank 9.5 -> same bucket: 0.5 + 0.3 * 5.5/6 = 0.775
    assert quantile(0.5, e2e) == pytest.approx(0.55)
    assert quantile(0.95, e2e) == pytest.approx(0.775)
    # The totals since start would say otherwise (31 requests, 21 of them under 0.3 s):
    # p50 rank 15.5 falls in the first bucket, 0.3 * 15.5/21 = 0.2214.
    totals = read_page(later).histograms[E2E]
    assert quantile(0.5, totals) == pytest.approx(0.3 * 15.5 / 21)


def test_a_rank_in_the_inf_bucket_is_the_highest_finite_bound() -> None:
    # 3 requests beyond every finite bound (the last is 7680 s): p50 is 7680, as in Prometheus.
    e2e = delta(REAL_TEXT, observe(REAL_TEXT, E2E, [9000.0] * 3), E2E)
    assert e2e.cumulative[-2:] == (0.0, 3.0)
    assert quantile(0.5, e2e) == 7680.0


def test_no_observations_no_percentile() -> None:
    e2e = delta(REAL_TEXT, REAL_TEXT, E2E)
    assert e2e.count == 0.0
    assert quantile(0.5, e2e) is None
    assert quantile(0.95, Histogram((), (), 0.0, 0.0)) is None
    with pytest.raises(ValueError):
        quantile(1.5, e2e)


def test_a_histogram_that_went_down_is_counted_from_zero() -> None:
    # A restarted server: its page shows 2 requests where the old one showed 21.
    restarted = observe(zeroed(REAL_TEXT), E2E, [0.4, 0.6])
    e2e = delta(REAL_TEXT, restarted, E2E)
    assert e2e == read_page(restarted).histograms[E2E]
    assert e2e.count == 2.0
    # p50: rank 1 -> (0.3, 0.5] holds 1: 0.3 + 0.2 * 1/1 = 0.5
    assert quantile(0.5, e2e) == pytest.approx(0.5)


def test_histograms_add_on_their_common_bounds() -> None:
    a = Histogram((0.1, 0.5, 1.0, math.inf), (1.0, 3.0, 4.0, 4.0), 4.0, 1.0)
    b = Histogram((0.5, 1.0, 2.0, math.inf), (2.0, 2.0, 5.0, 6.0), 6.0, 7.0)
    total = add_histograms([a, b])
    assert total.bounds == (0.5, 1.0, math.inf)
    assert total.cumulative == (5.0, 6.0, 10.0)
    assert (total.count, total.sum) == (10.0, 8.0)
    assert add_histograms([]).total == 0.0
