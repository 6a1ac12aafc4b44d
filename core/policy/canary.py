"""Automatic canary analysis: step the canary's traffic weight up or roll it back (pure).

A canary starts at `step` percent of the traffic. The caller (the endpoint's controller)
keeps, per arm, a window of (requests, errors, p95 latency) counted since the current
weight began, and calls `analyse` every tick with the time. The canary is rolled back as
soon as a window with enough requests is out of bounds; it steps up when a whole
interval has passed in bounds with enough requests on both arms; at 100 it is promoted.
Too few requests never decide either way: the canary holds its weight until they come.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class CanaryPhase(str, Enum):
    PROGRESSING = "progressing"
    PROMOTED = "promoted"  # weight 100: the canary is the deployment now
    ROLLED_BACK = "rolled_back"  # weight 0: the baseline takes all traffic again


class CanaryAction(str, Enum):
    HOLD = "hold"  # keep the weight (interval not over, too few requests, or finished)
    STEP = "step"  # weight raised; the caller starts new windows
    PROMOTE = "promote"
    ROLL_BACK = "roll_back"


@dataclass(frozen=True)
class CanaryConfig:
    step: int  # percent of traffic added after each interval in bounds
    interval_s: float  # how long each weight must stay in bounds
    max_error_rate: float  # canary errors / requests above this rolls back (0..1)
    max_p95_ratio: float  # canary p95 / baseline p95 above this rolls back
    # Requests an arm's window needs before its numbers count: 2 requests, one failed,
    # are a 50% error rate and no evidence of anything.
    min_requests: int = 20

    def __post_init__(self) -> None:
        if not 1 <= self.step <= 100:
            raise ValueError(f"canary step must be 1..100 percent, not {self.step}")
        if self.interval_s <= 0:
            raise ValueError(f"canary interval must be positive, not {self.interval_s}")
        if not 0 <= self.max_error_rate <= 1:
            raise ValueError(f"canary max_error_rate must be 0..1, not {self.max_error_rate}")
        if self.max_p95_ratio <= 0:
            raise ValueError(f"canary max_p95_ratio must be positive, not {self.max_p95_ratio}")
        if self.min_requests < 1:
            raise ValueError(f"canary min_requests must be at least 1, not {self.min_requests}")


@dataclass(frozen=True)
class ArmWindow:
    """One arm's traffic since the current weight began."""

    requests: int
    errors: int
    p95_ms: float | None  # None: no latency measured yet


@dataclass(frozen=True)
class CanaryState:
    weight: int  # percent of traffic to the canary, 0..100
    phase: CanaryPhase
    weight_since: float  # when the current weight began (the caller's windows start here)


@dataclass(frozen=True)
class CanaryDecision:
    """What to do now, with the numbers it was decided on (for the event message)."""

    state: CanaryState  # the state after this decision
    action: CanaryAction
    reason: str  # one line for the event log
    canary_requests: int
    canary_errors: int
    canary_error_rate: float | None  # None: no canary requests yet
    canary_p95_ms: float | None
    baseline_p95_ms: float | None
    p95_ratio: float | None  # None: either arm lacks samples or a p95

    @property
    def changed(self) -> bool:
        return self.action is not CanaryAction.HOLD


def start_canary(config: CanaryConfig, now: float) -> CanaryState:
    """The first state: `step` percent of traffic to the canary from `now`."""
    return CanaryState(weight=config.step, phase=CanaryPhase.PROGRESSING, weight_since=now)


def analyse(
    state: CanaryState,
    config: CanaryConfig,
    baseline: ArmWindow,
    canary: ArmWindow,
    now: float,
) -> CanaryDecision:
    """The decision at `now` from the arms' windows since `state.weight_since`."""
    error_rate = canary.errors / canary.requests if canary.requests else None
    canary_counts = canary.requests >= config.min_requests
    baseline_counts = baseline.requests >= config.min_requests
    ratio = _p95_ratio(baseline, canary) if canary_counts and baseline_counts else None

    def decide(new_state: CanaryState, action: CanaryAction, reason: str) -> CanaryDecision:
        return CanaryDecision(
            state=new_state,
            action=action,
            reason=reason,
            canary_requests=canary.requests,
            canary_errors=canary.errors,
            canary_error_rate=error_rate,
            canary_p95_ms=canary.p95_ms,
            baseline_p95_ms=baseline.p95_ms,
            p95_ratio=ratio,
        )

    if state.phase is not CanaryPhase.PROGRESSING:
        return decide(state, CanaryAction.HOLD, f"canary already {state.phase.value}")

    rolled_back = CanaryState(weight=0, phase=CanaryPhase.ROLLED_BACK, weight_since=now)
    # Out of bounds rolls back at once, mid-interval: a failing canary should not get
    # the rest of its interval's traffic.
    if canary_counts and error_rate is not None and error_rate > config.max_error_rate:
        return decide(
            rolled_back,
            CanaryAction.ROLL_BACK,
            f"canary rolled back at {state.weight}%: error rate {error_rate:.1%} "
            f"({canary.errors}/{canary.requests}) above {config.max_error_rate:.1%}",
        )
    if ratio is not None and ratio > config.max_p95_ratio:
        return decide(
            rolled_back,
            CanaryAction.ROLL_BACK,
            f"canary rolled back at {state.weight}%: p95 {canary.p95_ms:.0f} ms is "
            f"{ratio:.2f}x the baseline's {baseline.p95_ms:.0f} ms "
            f"(max {config.max_p95_ratio:.2f}x)",
        )

    if now - state.weight_since < config.interval_s:
        return decide(state, CanaryAction.HOLD, f"canary at {state.weight}%: in bounds so far")
    waiting = [
        f"{name} has {window.requests}/{config.min_requests} requests"
        for name, window in (("canary", canary), ("baseline", baseline))
        if window.requests < config.min_requests
    ]
    if waiting:
        return decide(
            state,
            CanaryAction.HOLD,
            f"canary held at {state.weight}%: {', '.join(waiting)}",
        )
    if ratio is None:  # enough requests but a p95 missing: nothing to compare yet
        return decide(state, CanaryAction.HOLD, f"canary held at {state.weight}%: no p95 yet")

    evidence = (
        f"errors {error_rate:.1%} ({canary.errors}/{canary.requests}), p95 {ratio:.2f}x baseline"
    )
    weight = min(100, state.weight + config.step)
    if weight == 100:
        promoted = CanaryState(weight=100, phase=CanaryPhase.PROMOTED, weight_since=now)
        return decide(promoted, CanaryAction.PROMOTE, f"canary promoted: {evidence}")
    stepped = replace(state, weight=weight, weight_since=now)
    return decide(stepped, CanaryAction.STEP, f"canary {state.weight}% -> {weight}%: {evidence}")


def _p95_ratio(baseline: ArmWindow, canary: ArmWindow) -> float | None:
    if canary.p95_ms is None or baseline.p95_ms is None:
        return None
    if baseline.p95_ms <= 0:
        # A baseline at 0 ms (a clock's resolution): only a slower canary is a ratio.
        return 1.0 if canary.p95_ms <= 0 else float("inf")
    return canary.p95_ms / baseline.p95_ms
