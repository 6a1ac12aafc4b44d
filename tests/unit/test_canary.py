"""Automatic canary analysis over hand-made traces of per-arm windows; times in seconds.

A trace replays like the controller runs it: after a STEP the caller starts new windows,
so each tick's windows below count from the last weight change.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from fleetdeck.core.policy.canary import (
    ArmWindow,
    CanaryAction,
    CanaryConfig,
    CanaryDecision,
    CanaryPhase,
    CanaryState,
    analyse,
    start_canary,
)

CONFIG = CanaryConfig(step=25, interval_s=60, max_error_rate=0.05, max_p95_ratio=1.5)
HEALTHY_BASELINE = ArmWindow(requests=300, errors=1, p95_ms=200)


@dataclass(frozen=True)
class Tick:
    time: float
    canary: ArmWindow
    baseline: ArmWindow = HEALTHY_BASELINE


def replay(ticks: list[Tick], config: CanaryConfig = CONFIG) -> list[CanaryDecision]:
    state = start_canary(config, now=0)
    decisions = []
    for tick in ticks:
        decision = analyse(state, config, tick.baseline, tick.canary, tick.time)
        state = decision.state
        decisions.append(decision)
    return decisions


def healthy(requests: int = 100) -> ArmWindow:
    return ArmWindow(requests=requests, errors=0, p95_ms=210)


def test_a_healthy_canary_steps_up_each_interval_and_is_promoted() -> None:
    ticks = [Tick(t, healthy()) for t in (30, 60, 90, 120, 180, 240)]
    decisions = replay(ticks)
    assert [d.action for d in decisions] == [
        CanaryAction.HOLD,  # 30 s into the first interval
        CanaryAction.STEP,  # 25 -> 50 at 60
        CanaryAction.HOLD,  # 90: only 30 s at 50%
        CanaryAction.STEP,  # 50 -> 75 at 120
        CanaryAction.PROMOTE,  # 75 -> 100 at 180
        CanaryAction.HOLD,  # finished
    ]
    assert [d.state.weight for d in decisions] == [25, 50, 50, 75, 100, 100]
    assert decisions[-1].state.phase is CanaryPhase.PROMOTED
    assert decisions[1].reason == "canary 25% -> 50%: errors 0.0% (0/100), p95 1.05x baseline"
    assert decisions[4].reason.startswith("canary promoted:")


def test_a_step_that_does_not_divide_100_stops_at_100() -> None:
    config = CanaryConfig(step=40, interval_s=10, max_error_rate=0.05, max_p95_ratio=1.5)
    decisions = replay([Tick(t, healthy()) for t in (10, 20, 30)], config)
    assert [d.state.weight for d in decisions] == [80, 100, 100]
    assert decisions[1].action is CanaryAction.PROMOTE


def test_errors_above_the_limit_roll_back_at_once_with_the_numbers() -> None:
    failing = ArmWindow(requests=40, errors=6, p95_ms=210)
    decisions = replay([Tick(30, healthy()), Tick(45, failing), Tick(60, healthy())])
    rollback = decisions[1]
    assert rollback.action is CanaryAction.ROLL_BACK
    assert rollback.state == CanaryState(weight=0, phase=CanaryPhase.ROLLED_BACK, weight_since=45)
    assert rollback.canary_errors == 6 and rollback.canary_requests == 40
    assert rollback.canary_error_rate == pytest.approx(0.15)
    assert rollback.reason == "canary rolled back at 25%: error rate 15.0% (6/40) above 5.0%"
    # Rolled back stays rolled back, whatever comes after.
    assert decisions[2].action is CanaryAction.HOLD
    assert decisions[2].state.weight == 0


def test_a_slow_canary_rolls_back_on_the_p95_ratio() -> None:
    slow = ArmWindow(requests=50, errors=0, p95_ms=480)
    decisions = replay([Tick(60, healthy()), Tick(75, slow)])
    assert decisions[0].action is CanaryAction.STEP
    rollback = decisions[1]
    assert rollback.action is CanaryAction.ROLL_BACK
    assert rollback.p95_ratio == pytest.approx(2.4)
    assert (rollback.canary_p95_ms, rollback.baseline_p95_ms) == (480, 200)
    assert rollback.reason == (
        "canary rolled back at 50%: p95 480 ms is 2.40x the baseline's 200 ms (max 1.50x)"
    )


def test_at_the_limits_is_in_bounds() -> None:
    at_limits = ArmWindow(requests=100, errors=5, p95_ms=300)  # 5.0% and exactly 1.5x
    decisions = replay([Tick(60, at_limits)])
    assert decisions[0].action is CanaryAction.STEP


def test_too_few_requests_decide_nothing() -> None:
    two_requests_one_failed = ArmWindow(requests=2, errors=1, p95_ms=5000)
    decisions = replay([Tick(30, two_requests_one_failed), Tick(60, two_requests_one_failed)])
    assert [d.action for d in decisions] == [CanaryAction.HOLD, CanaryAction.HOLD]
    assert decisions[1].state.weight == 25
    assert decisions[1].p95_ratio is None
    assert decisions[1].reason == "canary held at 25%: canary has 2/20 requests"


def test_a_quiet_baseline_holds_the_step() -> None:
    quiet = ArmWindow(requests=3, errors=0, p95_ms=200)
    decisions = replay([Tick(60, healthy(), baseline=quiet)])
    assert decisions[0].action is CanaryAction.HOLD
    assert decisions[0].reason == "canary held at 25%: baseline has 3/20 requests"


def test_a_held_interval_steps_once_the_requests_arrive() -> None:
    decisions = replay([Tick(60, healthy(5)), Tick(90, healthy(25))])
    assert [d.action for d in decisions] == [CanaryAction.HOLD, CanaryAction.STEP]
    assert decisions[1].state == CanaryState(50, CanaryPhase.PROGRESSING, weight_since=90)


def test_errors_decide_even_when_the_baseline_is_quiet() -> None:
    quiet = ArmWindow(requests=0, errors=0, p95_ms=None)
    failing = ArmWindow(requests=20, errors=20, p95_ms=None)
    decisions = replay([Tick(10, failing, baseline=quiet)])
    assert decisions[0].action is CanaryAction.ROLL_BACK
    assert decisions[0].p95_ratio is None


def test_no_p95_yet_holds() -> None:
    no_latency = ArmWindow(requests=50, errors=0, p95_ms=None)
    decisions = replay([Tick(60, no_latency)])
    assert decisions[0].action is CanaryAction.HOLD
    assert decisions[0].reason == "canary held at 25%: no p95 yet"


@pytest.mark.parametrize(
    "fields",
    [
        dict(step=0),
        dict(step=101),
        dict(interval_s=0),
        dict(max_error_rate=1.5),
        dict(max_p95_ratio=0),
        dict(min_requests=0),
    ],
)
def test_nonsense_configs_are_refused(fields: dict[str, float]) -> None:
    values: dict[str, float] = dict(
        step=10, interval_s=60, max_error_rate=0.05, max_p95_ratio=1.5, min_requests=20
    )
    values.update(fields)
    with pytest.raises(ValueError):
        CanaryConfig(**values)  # type: ignore[arg-type]
