"""One replica's metrics over consecutive scrapes: rates, resets, windows, sparklines."""

from __future__ import annotations

import pytest

from fleetdeck.core.fleet.snapshot import MetricsSnapshot
from fleetdeck.core.metrics import families
from fleetdeck.core.metrics.replica_metrics import ReplicaMetrics
from tests.unit.test_metrics_page import (
    REAL_TEXT,
    drop_lines,
    observe,
    old_named,
    with_values,
    zeroed,
)

LABELS = 'engine="0",finished_reason="{}",model_name="tiny"'
STOP = "vllm:request_success_total{" + LABELS.format("stop") + "}"
LENGTH = "vllm:request_success_total{" + LABELS.format("length") + "}"
ABORT = "vllm:request_success_total{" + LABELS.format("abort") + "}"
ERROR = "vllm:request_success_total{" + LABELS.format("error") + "}"
PROMPT = 'vllm:prompt_tokens_total{engine="0",model_name="tiny"}'
GENERATION = 'vllm:generation_tokens_total{engine="0",model_name="tiny"}'
RUNNING = 'vllm:num_requests_running{engine="0",model_name="tiny"}'
PROCESS_START = "process_start_time_seconds"
REASONS = ("stop", "length", "abort", "error", "repetition")  # all five are on the page


def created(reason: str) -> str:
    return "vllm:request_success_created{" + LABELS.format(reason) + "}"


def summary_of(*pages: tuple[float, str], **options: float) -> MetricsSnapshot:
    metrics = ReplicaMetrics(**options)  # type: ignore[arg-type]
    for t, text in pages:
        metrics.add_sample(t, text)
    summary = metrics.summary()
    assert summary is not None
    return summary


def served(text: str, stop: int, latency_s: float) -> str:
    """The page after `stop` more requests that each took `latency_s`."""
    page_stop = float(text.split(f"{STOP} ")[1].split()[0])
    text = with_values(text, {STOP: page_stop + stop})
    return observe(text, families.E2E_LATENCY, [latency_s] * stop)


def test_one_page_gives_gauges_but_no_rates_yet() -> None:
    summary = summary_of((0.0, with_values(REAL_TEXT, {RUNNING: 3.0})))
    assert summary.running == 3.0
    assert summary.requests_total == 21.0
    assert summary.request_rate is None and summary.prompt_tokens_per_s is None
    assert summary.e2e_latency_s.p50 is None and summary.error_ratio is None
    assert summary.request_rate_history == (0.0,)


def test_the_fixture_served_from_a_fresh_start_over_ten_seconds() -> None:
    summary = summary_of((100.0, zeroed(REAL_TEXT)), (110.0, REAL_TEXT))
    # 21 requests (2 stop + 19 length), 111 prompt and 610 generated tokens in 10 s.
    assert summary.request_rate == pytest.approx(2.1)
    assert summary.prompt_tokens_per_s == pytest.approx(11.1)
    assert summary.generation_tokens_per_s == pytest.approx(61.0)
    assert summary.error_ratio == 0.0
    assert (summary.requests_total, summary.requests_in_window) == (21.0, 21.0)
    # Percentiles as worked out in test_metrics_histograms.
    assert summary.e2e_latency_s.p50 == pytest.approx(0.15)
    assert summary.e2e_latency_s.p95 == pytest.approx(0.285)
    assert summary.ttft_s.p50 == pytest.approx(0.02 + 0.02 * 10 / 15)
    assert summary.inter_token_latency_s.p95 == pytest.approx(0.01 * 558.6 / 576)
    assert summary.queue_time_s.p50 == pytest.approx(0.15)  # 21 in (0, 0.3] too
    assert (summary.running, summary.waiting, summary.kv_cache_usage) == (0.0, 0.0, 0.0)
    assert summary.request_rate_history == pytest.approx((0.0, 2.1))
    assert summary.e2e_p95_history == pytest.approx((0.0, 0.285))
    assert (summary.sampled_at, summary.window_s) == (110.0, 60.0)


def test_aborted_and_errored_requests_make_the_error_ratio() -> None:
    later = with_values(REAL_TEXT, {LENGTH: 25.0, ABORT: 3.0, ERROR: 1.0})
    summary = summary_of((0.0, REAL_TEXT), (5.0, later))
    # 6 length + 3 abort + 1 error = 10 finished in 5 s; 4 of them failed.
    assert summary.request_rate == pytest.approx(2.0)
    assert summary.error_ratio == pytest.approx(0.4)


def test_a_counter_that_went_down_counts_from_zero() -> None:
    # No process marker on either page: the drop itself says the replica restarted.
    before = drop_lines(REAL_TEXT, PROCESS_START, "vllm:request_success_created")
    after = with_values(zeroed(before), {STOP: 1.0, LENGTH: 2.0, PROMPT: 7.0, GENERATION: 30.0})
    summary = summary_of((0.0, before), (3.0, after))
    # 3 requests, 7 and 30 tokens since the restart; never 3 - 21 = -18.
    assert summary.request_rate == pytest.approx(1.0)
    assert summary.prompt_tokens_per_s == pytest.approx(7 / 3)
    assert summary.generation_tokens_per_s == pytest.approx(10.0)
    assert summary.requests_total == 3.0


@pytest.mark.parametrize("marker", ["process start time", "_created timestamps"])
def test_a_restart_is_seen_even_when_the_counters_grew_past_their_old_values(
    marker: str,
) -> None:
    before = REAL_TEXT
    after = with_values(zeroed(REAL_TEXT), {STOP: 10.0, LENGTH: 20.0, PROMPT: 150.0})
    after = observe(after, families.E2E_LATENCY, [0.2] * 25)  # every bucket above 21
    if marker == "process start time":
        after = with_values(after, {PROCESS_START: 1795317000.0})
    else:
        before, after = (drop_lines(page, PROCESS_START) for page in (before, after))
        after = with_values(after, {created(reason): 1795317000.0 for reason in REASONS})
    metrics = ReplicaMetrics()
    metrics.add_sample(0.0, before)
    metrics.add_sample(10.0, after)
    summary = metrics.summary()
    view = metrics.view()
    assert summary is not None and view is not None
    # 30 requests and 150 prompt tokens since the restart, not 30 - 21 and 150 - 111.
    assert summary.request_rate == pytest.approx(3.0)
    assert summary.prompt_tokens_per_s == pytest.approx(15.0)
    assert view.histograms[families.E2E_LATENCY].count == 25.0


def test_rates_use_the_short_window_and_percentiles_the_long_one() -> None:
    pages = [(0.0, REAL_TEXT)]
    text = served(REAL_TEXT, 2, 1.2)  # 2 requests of 1.2 s between t=0 and t=5
    pages += [(float(t), text) for t in range(5, 75, 5)]
    metrics = ReplicaMetrics(window_s=60.0, rate_window_s=10.0)
    summaries = {}
    for t, page in pages:
        metrics.add_sample(t, page)
        summaries[t] = metrics.summary()
    # t=10: steps (0,5] and (5,10] end within 10 s: 2 requests / 10 s.
    assert summaries[10.0].request_rate == pytest.approx(0.2)  # type: ignore[union-attr]
    # t=15: the rate window holds (5,10] and (10,15] only.
    assert summaries[15.0].request_rate == 0.0  # type: ignore[union-attr]
    # Both requests in (1.0, 1.5]: p95 rank 1.9 -> 1.0 + 0.5 * 1.9/2 = 1.475, until the
    # step that saw them ends 60 s or more before the newest page (t=65).
    for t in (15.0, 60.0):
        assert summaries[t].e2e_latency_s.p95 == pytest.approx(1.475)  # type: ignore[union-attr]
        assert summaries[t].requests_in_window == 2.0  # type: ignore[union-attr]
    assert summaries[65.0].e2e_latency_s.p95 is None  # type: ignore[union-attr]
    assert summaries[65.0].requests_in_window == 0.0  # type: ignore[union-attr]
    assert summaries[65.0].error_ratio is None  # type: ignore[union-attr]


def test_a_scrape_interval_longer_than_the_rate_window_uses_the_last_pair() -> None:
    summary = summary_of((0.0, zeroed(REAL_TEXT)), (30.0, REAL_TEXT), rate_window_s=10.0)
    assert summary.request_rate == pytest.approx(21 / 30)


def test_sparklines_keep_the_newest_points() -> None:
    metrics = ReplicaMetrics(history_points=5)
    text = REAL_TEXT
    for t in range(8):
        metrics.add_sample(float(t), text)
        text = served(text, t, 0.4)  # t more requests by the next scrape, 1 s later
    summary = metrics.summary()
    assert summary is not None
    # Points of the pages at t=3..7; the request rate at t is (t - 1) req/s over the 10 s
    # rate window, i.e. all requests since t=0 over t seconds.
    assert summary.request_rate_history == pytest.approx([3 / 3, 6 / 4, 10 / 5, 15 / 6, 21 / 7])
    assert len(summary.e2e_p95_history) == 5
    assert summary.e2e_p95_history[-1] == pytest.approx(0.3 + 0.2 * 0.95)  # all in (0.3, 0.5]


def test_a_late_sample_is_ignored() -> None:
    summary = summary_of((10.0, REAL_TEXT), (5.0, zeroed(REAL_TEXT)), (10.0, zeroed(REAL_TEXT)))
    assert summary.sampled_at == 10.0
    assert summary.requests_total == 21.0
    assert summary.request_rate_history == (0.0,)


def test_a_page_without_the_families_has_no_rates_or_percentiles() -> None:
    text = f"{RUNNING} 2.0\n"
    summary = summary_of((0.0, text), (5.0, text))
    assert summary.running == 2.0
    assert summary.request_rate is None and summary.generation_tokens_per_s is None
    assert summary.e2e_latency_s.p50 is None and summary.ttft_s.p95 is None
    assert summary.requests_total is None


def test_pages_with_the_old_names_give_the_same_summary() -> None:
    old = summary_of((0.0, zeroed(old_named(REAL_TEXT))), (10.0, old_named(REAL_TEXT)))
    new = summary_of((0.0, zeroed(REAL_TEXT)), (10.0, REAL_TEXT))
    assert old == new
    assert old.inter_token_latency_s.p50 == pytest.approx(0.01 * 294 / 576)
