"""Autoscaling and idle shutdown decisions for one deployment: pure, immutable, deterministic.

The engine calls `decide()` once per scrape with a `LoadSample` and carries the returned
`AutoscalerState` to the next call; no clock is read here, so a scripted trace replays
exactly. Each `Decision` carries a machine-readable `reason`, a sentence for people, and
the numbers behind it, and turns into an `Event` with `to_event()`.

The rule (issue 4, item 5), and the choices it leaves open:
- load = running + waiting summed over the ready replicas, averaged over `window` as a
  plain mean of the samples taken in (now - window, now]. The engine scrapes at a fixed
  interval, so this equals the time-weighted mean up to one sample at the edge, and it can
  be checked by hand. Samples taken while no replica is ready are not load readings (no
  replica can see a request) and are left out.
- want = clamp(ceil(load / target_running_per_replica), max(min, 1), max). Load alone never
  takes a deployment to zero, even with min = 0: a sample of zero in flight does not mean
  no requests (short ones finish between scrapes), and at zero nothing can measure load to
  come back. Zero is reached only by idle shutdown, which counts finished requests.
- A change is applied once the need (want > current, or want < current) has held for
  scale_up_delay / scale_down_delay. The timer resets when the need disappears or changes
  direction. It is kept while the need keeps its direction and changes size: scaling up
  then applies the latest want (under-provisioning is the costlier error, and the need to
  grow has held throughout); scaling down applies the highest want seen while waiting
  (remove only replicas that were unneeded for the whole delay). A deployment outside
  [min, max] (a manual `fleetdeck scale`) is brought back the same way, after the delay.
- Idle shutdown (core/idle_policy.py says what counts as activity): once idle_for >=
  idle_timeout, scale straight to autoscale.min, or to 0 without an autoscale table; the
  idle timeout is its own delay, no scale_down_delay on top. A deployment at zero replicas
  stays there, whatever the samples say, until `wake()` (`fleetdeck start`, the TUI).
- Without autoscale the count is "fixed": whatever the engine wants now (inventory
  replicas, or a manual `fleetdeck scale`); only idle_timeout, if set, changes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Literal

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.inventory.models import Autoscale
from fleetdeck.core.policy.idle_policy import IdleClock, idle_floor, wake_target

Reason = Literal[
    "scale-up",  # applied: more replicas
    "scale-down",  # applied: fewer replicas
    "idle-timeout",  # applied: no requests for idle_timeout
    "wake",  # applied: started again from zero (or asked to start)
    "wait-scale-up",  # need to grow, waiting for scale_up_delay
    "wait-scale-down",  # need to shrink, waiting for scale_down_delay
    "at-max",  # load wants more than max
    "at-min",  # load wants fewer than the floor
    "steady",  # load wants what there is
    "fixed",  # no autoscale table
    "at-zero",  # zero replicas: nothing measures load; waits for wake()
    "no-load-reading",  # no replica ready to measure load
]

Direction = Literal["up", "down"]

# Times and loads are floats; a delay of 30 s must be met at 30.000000000004 s as well.
_EPSILON = 1e-9


@dataclass(frozen=True)
class LoadSample:
    """One deployment at one scrape."""

    time: float
    running: float  # requests running, summed over ready replicas
    waiting: float  # requests waiting, summed over ready replicas
    requests_total: float | None  # finished requests summed over replicas; None = no reading
    ready_replicas: int
    current_desired: int  # what the engine wants now, before this decision

    @property
    def load(self) -> float:
        return self.running + self.waiting


@dataclass(frozen=True)
class LoadPoint:
    time: float
    load: float


@dataclass(frozen=True)
class PendingChange:
    """A need that has appeared and is waiting out its delay."""

    direction: Direction
    since: float
    desired: int  # up: the latest want; down: the highest want seen since `since`


@dataclass(frozen=True)
class Decision:
    """What the autoscaler wants at `time`, why, and the numbers behind it."""

    time: float
    previous: int
    desired: int
    reason: Reason
    message: str
    average_load: float | None = None
    samples: int = 0  # load readings in the window
    window: float | None = None
    target_per_replica: float | None = None
    raw_desired: int | None = None  # ceil(average_load / target_per_replica), unclamped
    low: int | None = None  # clamp bounds: max(min, 1) and max
    high: int | None = None
    held_for: float | None = None  # how long the need has held
    delay: float | None = None  # the delay it must hold for
    idle_for: float | None = None
    idle_timeout: float | None = None

    @property
    def changed(self) -> bool:
        return self.desired != self.previous

    def numbers(self) -> dict[str, float | int | None]:
        """The numbers behind the decision, for JSON events and the TUI."""
        skip = {"time", "reason", "message"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}

    def to_event(self, deployment: str) -> Event:
        return Event(
            time=self.time,
            kind=f"autoscale.{self.reason}",
            subject=deployment,
            message=self.message,
        )


@dataclass(frozen=True)
class AutoscalerState:
    """Carried from one decision to the next; start from `AutoscalerState()`."""

    samples: tuple[LoadPoint, ...] = ()  # load readings within the window, oldest first
    pending: PendingChange | None = None
    idle: IdleClock = field(default_factory=IdleClock)
    scaled_to_zero: bool = False  # idle shutdown took it to zero; only wake() undoes it
    last_decision: Decision | None = None


def decide(
    autoscale: Autoscale | None,
    idle_timeout: float | None,
    state: AutoscalerState,
    sample: LoadSample,
) -> tuple[AutoscalerState, Decision]:
    """The next state and the decision for one sample (see the module docstring)."""
    now, current = sample.time, sample.current_desired
    # At zero, replicas still stopping are not "ready": the idle clock must not run there.
    ready = sample.ready_replicas if current > 0 else 0
    idle = state.idle.observe(now, sample.requests_total, sample.load, ready)
    window = autoscale.window if autoscale is not None else 0.0
    samples = tuple(p for p in state.samples if p.time > now - window + _EPSILON)
    if ready > 0:
        samples += (LoadPoint(now, sample.load),)
    scaled_to_zero = state.scaled_to_zero and current <= 0
    pending: PendingChange | None = None
    idle_for = idle.idle_for(now)
    floor = idle_floor(autoscale)
    if current <= 0:
        decision = _at_zero(sample, scaled_to_zero)
    elif idle_timeout is not None and _reached(idle_for, idle_timeout) and current > floor:
        message = f"no requests for {_seconds(idle_for)}: scale {current} -> {floor}"
        decision = Decision(now, current, floor, "idle-timeout", message)
        scaled_to_zero = floor == 0
    elif autoscale is not None and ready > 0:
        decision, pending = _by_load(autoscale, state.pending, samples, sample)
    else:
        decision = _hold(sample, autoscale)
    decision = replace(decision, idle_for=idle_for, idle_timeout=idle_timeout)
    next_state = AutoscalerState(samples, pending, idle, scaled_to_zero, decision)
    return next_state, decision


def wake(
    autoscale: Autoscale | None,
    state: AutoscalerState,
    now: float,
    *,
    current: int = 0,
    fixed_replicas: int = 1,
) -> tuple[AutoscalerState, Decision]:
    """Start again when asked: to max(autoscale.min, 1), or to `fixed_replicas` (at least 1).

    Never lowers a deployment that already runs more (`current`). The idle clock restarts
    at `now` (and only runs once a replica is ready); old load readings and timers are
    dropped, since they describe replicas that are gone.
    """
    desired = max(current, wake_target(autoscale, fixed_replicas))
    decision = Decision(now, current, desired, "wake", f"wake: scale {current} -> {desired}")
    next_state = AutoscalerState(
        samples=(), pending=None, idle=state.idle.restarted(now), last_decision=decision
    )
    return next_state, decision


def worth_reporting(previous: Decision | None, current: Decision) -> bool:
    """Whether `current` deserves an event: a change, or a new reason (not every tick)."""
    return current.changed or previous is None or previous.reason != current.reason


def _at_zero(sample: LoadSample, scaled_to_zero: bool) -> Decision:
    why = "scaled to zero by idle-timeout" if scaled_to_zero else "no replica to measure load"
    message = f"hold at 0: {why}; `fleetdeck start` or the TUI starts it"
    return Decision(sample.time, 0, 0, "at-zero", message)


def _hold(sample: LoadSample, autoscale: Autoscale | None) -> Decision:
    """No load rule to apply: a fixed count, or no ready replica to measure load."""
    current = sample.current_desired
    if autoscale is None:
        return Decision(sample.time, current, current, "fixed", f"fixed at {current} replica(s)")
    message = f"hold at {current}: no ready replica to measure load"
    return Decision(sample.time, current, current, "no-load-reading", message)


def _reached(elapsed: float, limit: float) -> bool:
    return elapsed + _EPSILON >= limit


def _by_load(
    autoscale: Autoscale,
    pending: PendingChange | None,
    samples: tuple[LoadPoint, ...],
    sample: LoadSample,
) -> tuple[Decision, PendingChange | None]:
    now, current = sample.time, sample.current_desired
    target = autoscale.target_running_per_replica
    average = sum(p.load for p in samples) / len(samples)
    # Rounded first so that 16.000000000000004 / 8 asks for 2 replicas, not 3.
    raw = math.ceil(round(average / target, 9))
    low, high = max(autoscale.min, 1), autoscale.max
    want = min(max(raw, low), high)
    base = Decision(
        now,
        current,
        current,
        "steady",
        "",
        average_load=average,
        samples=len(samples),
        window=autoscale.window,
        target_per_replica=target,
        raw_desired=raw,
        low=low,
        high=high,
    )
    load = f"load {_number(average)} over {_seconds(autoscale.window)}"
    wants = f"{load} / {_number(target)} per replica wants {raw}"

    if want == current:
        if raw > high:
            return replace(base, reason="at-max", message=f"hold at max {high}: {wants}"), None
        if raw < low:
            return replace(base, reason="at-min", message=f"hold at min {low}: {wants}"), None
        return replace(base, message=f"hold at {current}: {wants}"), None

    direction: Direction = "up" if want > current else "down"
    if pending is not None and pending.direction == direction:
        since = pending.since
        desired = want if direction == "up" else max(pending.desired, want)
    else:
        since, desired = now, want
    delay = autoscale.scale_up_delay if direction == "up" else autoscale.scale_down_delay
    delay_name = "scale_up_delay" if direction == "up" else "scale_down_delay"
    held = now - since
    timing = f"{_seconds(held)} of {_seconds(delay)}"
    clamped = f" (clamped to [{low}, {high}])" if want != raw else ""
    if _reached(held, delay):
        applied = replace(
            base,
            desired=desired,
            reason="scale-up" if direction == "up" else "scale-down",
            message=f"scale {direction} {current} -> {desired}: {wants}{clamped};"
            f" needed for {timing} {delay_name}",
            held_for=held,
            delay=delay,
        )
        return applied, None
    waiting = replace(
        base,
        reason="wait-scale-up" if direction == "up" else "wait-scale-down",
        message=f"hold at {current}: waiting for {delay_name} ({timing});"
        f" {wants}{clamped} -> {desired}",
        held_for=held,
        delay=delay,
    )
    return waiting, PendingChange(direction, since, desired)


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{_number(value)}s"
