"""Cost accounting (core/metrics/cost.py) against a trace worked out by hand.

The trace, one deployment "llm" on two hosts with different prices:

    host a: 2.00 USD per GPU-hour     replica llm/r0 holds 2 GPUs there
    host b: 3.00 USD per GPU-hour     replica llm/r1 holds 1 GPU there

    t (s)  replicas    r0 prompt/output  r1 prompt/output  requests  in flight
    0      r0, r1      1000 / 500        0 / 0             10        0    baseline
    1800   r0, r1      3000 / 1500       1000 / 2000       30        0    busy
    3600   r0, r1      3000 / 1500       200 / 100         22        0    r1 restarted
    5400   r0          3000 / 1500       (gone)            22        0    idle; r1 stopped
    7200   r0          3500 / 1600       -                 25        0    r0 restarted,
                                                                          new process marker

Every interval is half an hour. In each, the replicas held at its start hold their GPUs:

    0..1800     r0: 2 GPU x 0.5 h = 1.0 GPU·h x 2.00 = 2.00; r1: 1 x 0.5 = 0.5 x 3.00 = 1.50
                -> 1.5 GPU·h, 3.50 USD, busy (requests 10 -> 30)
                tokens: r0 +2000/+1000, r1 +1000/+2000 -> prompt 3000, output 3000
    1800..3600  same holdings -> 1.5 GPU·h, 3.50 USD, busy (requests 30 -> 22: a counter
                that moved, down included, is activity)
                tokens: r0 +0/+0; r1 went down (1000 -> 200): a restart, the new process
                counted 200/100 -> prompt 200, output 100 (never negative)
    3600..5400  same holdings -> 1.5 GPU·h, 3.50 USD, idle (22 -> 22, nothing in flight,
                2 ready) -> idle 1.5 GPU·h, idle 3.50 USD; tokens 0
    5400..7200  r0 alone -> 1.0 GPU·h, 2.00 USD, busy (22 -> 25)
                tokens: r0's page comes from a new process (marker 100 -> 200) although its
                counters grew: counted whole, 3500/1600 (not 500/100)

Since start (t = 0 .. 7200, window 7200 s):
    GPU·h 1.5 x 3 + 1.0 = 5.5; cost 3.50 x 3 + 2.00 = 12.50; idle 1.5 GPU·h = 3.50
    prompt 3000 + 200 + 0 + 3500 = 6700; output 3000 + 100 + 0 + 1600 = 4700; total 11400
    per million output 12.50 / 4700 x 1e6 = 2659.57...; per million total 12.50 / 11400
    x 1e6 = 1096.49...
Last hour at t = 7200 (minute buckets: an interval counts in the minute it ends; the
window is minute 120 and the 59 before it, so from t = 61 x 60 = 3660, 3540 s):
    the intervals ending at 5400 and 7200: GPU·h 1.5 + 1.0 = 2.5; cost 3.50 + 2.00 = 5.50;
    idle 1.5 GPU·h = 3.50; prompt 3500, output 1600, total 5100
    per million output 5.50 / 1600 x 1e6 = 3437.5; per million total 5.50 / 5100 x 1e6
    = 1078.43...
Now (t = 7200): r0 holds 2 GPUs on a: 2 x 2.00 = 4.00 USD per hour.
"""

from __future__ import annotations

import pytest

from fleetdeck.core.fleet.snapshot import CostFigures, DeploymentCost
from fleetdeck.core.metrics.cost import (
    CostMeter,
    DeploymentReading,
    Holding,
    TokenCounters,
    burn_rate,
)
from fleetdeck.core.policy.idle_policy import idle_savings

PRICES = {"a": 2.00, "b": 3.00}
R0 = Holding("llm/r0", "a", 2)
R1 = Holding("llm/r1", "b", 1)
MARKER = "process_start_time_seconds"


def reading(
    holdings: tuple[Holding, ...],
    counters: dict[str, TokenCounters],
    requests: float,
    in_flight: float = 0.0,
) -> DeploymentReading:
    return DeploymentReading(
        "llm",
        holdings,
        counters,
        requests_total=requests,
        in_flight=in_flight,
        ready_replicas=sum(1 for h in holdings if h.ready),
    )


def pages(r0: tuple[float, float, float], r1: tuple[float, float, float] | None = None):
    """Each replica's (prompt, output, process start) as its page says."""
    out = {"llm/r0": TokenCounters(r0[0], r0[1], (MARKER, r0[2]))}
    if r1 is not None:
        out["llm/r1"] = TokenCounters(r1[0], r1[1], (MARKER, r1[2]))
    return out


def the_trace() -> CostMeter:
    meter = CostMeter()
    meter.record(0, [reading((R0, R1), pages((1000, 500, 100), (0, 0, 100)), 10)], PRICES)
    meter.record(1800, [reading((R0, R1), pages((3000, 1500, 100), (1000, 2000, 100)), 30)], PRICES)
    meter.record(3600, [reading((R0, R1), pages((3000, 1500, 100), (200, 100, 300)), 22)], PRICES)
    meter.record(5400, [reading((R0,), pages((3000, 1500, 100)), 22)], PRICES)
    meter.record(7200, [reading((R0,), pages((3500, 1600, 200)), 25)], PRICES)
    return meter


def approx(figures: CostFigures) -> dict[str, object]:
    return {k: pytest.approx(v) if isinstance(v, float) else v for k, v in vars(figures).items()}


def test_since_start_matches_the_hand_computed_trace() -> None:
    cost = the_trace().costs({"llm": (R0,)}, PRICES, "USD")["llm"]
    assert cost.since == 0
    assert vars(cost.since_start) == approx(
        CostFigures(
            window_s=7200.0,
            gpu_hours=5.5,
            idle_gpu_hours=1.5,
            unpriced_gpu_hours=0.0,
            prompt_tokens=6700.0,
            output_tokens=4700.0,
            total_tokens=11400.0,
            cost=12.50,
            idle_cost=3.50,
            cost_per_million_output_tokens=12.50 / 4700 * 1e6,
            cost_per_million_total_tokens=12.50 / 11400 * 1e6,
        )
    )
    assert cost.since_start.cost_per_million_output_tokens == pytest.approx(2659.574, abs=1e-3)


def test_the_last_hour_matches_the_hand_computed_trace() -> None:
    cost = the_trace().costs({"llm": (R0,)}, PRICES, "USD")["llm"]
    assert vars(cost.last_hour) == approx(
        CostFigures(
            window_s=3540.0,
            gpu_hours=2.5,
            idle_gpu_hours=1.5,
            prompt_tokens=3500.0,
            output_tokens=1600.0,
            total_tokens=5100.0,
            cost=5.50,
            idle_cost=3.50,
            cost_per_million_output_tokens=3437.5,
            cost_per_million_total_tokens=5.50 / 5100 * 1e6,
        )
    )


def test_what_it_holds_now_and_its_price_per_hour() -> None:
    cost = the_trace().costs({"llm": (R0,)}, PRICES, "USD")["llm"]
    assert (cost.currency, cost.replicas_holding, cost.gpus_held) == ("USD", 1, 2)
    assert cost.price_per_hour == pytest.approx(4.00)


def test_a_restart_never_makes_tokens_negative() -> None:
    meter = CostMeter()
    meter.record(0, [reading((R0,), pages((5000, 5000, 1)), 1)], PRICES)
    meter.record(60, [reading((R0,), pages((10, 20, 2)), 2)], PRICES)
    figures = meter.costs({}, PRICES, "USD")["llm"].since_start
    assert (figures.prompt_tokens, figures.output_tokens) == (10, 20)


def test_a_replica_seen_loading_counts_from_zero_and_one_found_serving_from_its_page() -> None:
    loading = Holding("llm/r0", "a", 2, ready=False)
    meter = CostMeter()
    # r0 is loading when first seen: every token on its first page was served since.
    meter.record(0, [reading((loading,), {}, 0)], PRICES)
    meter.record(60, [reading((R0,), pages((300, 40, 1)), 3)], PRICES)
    assert meter.costs({}, PRICES, "USD")["llm"].since_start.output_tokens == 40
    # r1 already serves when first seen: its first page is the baseline.
    other = CostMeter()
    other.record(0, [reading((R1,), {"llm/r1": TokenCounters(300, 40)}, 3)], PRICES)
    other.record(60, [reading((R1,), {"llm/r1": TokenCounters(310, 45)}, 4)], PRICES)
    figures = other.costs({}, PRICES, "USD")["llm"].since_start
    assert (figures.prompt_tokens, figures.output_tokens) == (10, 5)


def test_requests_in_flight_are_not_idle() -> None:
    meter = CostMeter()
    meter.record(0, [reading((R0,), {}, 5)], PRICES)
    meter.record(3600, [reading((R0,), {}, 5, in_flight=1)], PRICES)  # a long generation
    meter.record(7200, [reading((R0,), {}, 5)], PRICES)  # nothing moved, nothing in flight
    figures = meter.costs({}, PRICES, "USD")["llm"].since_start
    assert (figures.gpu_hours, figures.idle_gpu_hours) == (4.0, 2.0)


def test_a_host_without_a_price_leaves_the_cost_unknown_not_zero() -> None:
    meter = CostMeter()
    unpriced = Holding("llm/r2", "c", 1)
    meter.record(0, [reading((R0, unpriced), {}, 0)], PRICES)
    meter.record(3600, [reading((R0, unpriced), {}, 1)], PRICES)
    cost = meter.costs({"llm": (R0, unpriced)}, PRICES, "USD")["llm"]
    assert cost.since_start.gpu_hours == 3.0
    assert cost.since_start.unpriced_gpu_hours == 1.0
    assert cost.since_start.cost is None and cost.price_per_hour is None


def test_a_deployment_left_out_of_a_reading_holds_nothing_from_then_on() -> None:
    meter = CostMeter()
    meter.record(0, [reading((R0,), {}, 0)], PRICES)
    meter.record(3600, [], PRICES)  # gone: the hour before counts, nothing after
    meter.record(7200, [], PRICES)
    assert meter.costs({}, PRICES, "USD")["llm"].since_start.gpu_hours == 2.0


def test_burn_rate() -> None:
    assert burn_rate((R0, R1), PRICES) == (3, pytest.approx(7.0))
    assert burn_rate((), PRICES) == (0, 0.0)
    assert burn_rate((Holding("x/r0", "c", 0),), PRICES) == (0, 0.0)  # a CPU replica


def test_an_idle_shutdown_says_what_it_saves() -> None:
    # Two replicas on a (2 GPUs each, 2.10 per GPU-hour): 4 GPUs, 8.40 per hour.
    cost = DeploymentCost("USD", replicas_holding=2, gpus_held=4, price_per_hour=8.40)
    assert idle_savings(cost, 2) == "stops 2 replicas, saves 4 GPU·h/h = 8.40 USD/h"
    # To autoscale.min = 1: one of the two, its share (which one is the planner's pick).
    assert idle_savings(cost, 1) == "stops 1 replica, saves about 2 GPU·h/h = 4.20 USD/h"
    unpriced = DeploymentCost("EUR", replicas_holding=1, gpus_held=1, price_per_hour=None)
    assert idle_savings(unpriced, 1) == (
        "stops 1 replica, saves 1 GPU·h/h (no gpu_hour_price on its hosts)"
    )
    cpu = DeploymentCost("USD", replicas_holding=1, gpus_held=0)
    assert idle_savings(cpu, 1) == "stops 1 replica, holding no GPU"
