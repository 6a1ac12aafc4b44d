"""Autoscaling and idle shutdown over scripted load traces, with hand-computed expectations.

A trace replays like the engine runs: one sample per tick, and the decision's desired
count is the next tick's `current_desired`; replicas are ready at once unless a tick says
otherwise. Times are seconds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import pytest

from fleetdeck.core.inventory.models import Autoscale
from fleetdeck.core.policy.autoscaler import (
    AutoscalerState,
    Decision,
    LoadSample,
    decide,
    wake,
    worth_reporting,
)


def scaling(**overrides: float) -> Autoscale:
    values: dict[str, float] = dict(
        min=1, max=4, target_running_per_replica=8, scale_up_delay=30, scale_down_delay=60, window=5
    )
    values.update(overrides)
    return Autoscale(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Tick:
    time: float
    load: float = 0.0  # running; waiting is added in a few ticks to show both count
    waiting: float = 0.0
    requests_total: float | None = None
    ready: int | None = None  # None: every desired replica is ready


class Trace:
    """Feeds ticks to decide() the way the engine does, keeping every decision."""

    def __init__(
        self, autoscale: Autoscale | None, idle_timeout: float | None = None, current: int = 1
    ) -> None:
        self.autoscale, self.idle_timeout, self.current = autoscale, idle_timeout, current
        self.state = AutoscalerState()
        self.decisions: dict[float, Decision] = {}

    def run(self, *ticks: Tick) -> Trace:
        for tick in ticks:
            ready = self.current if tick.ready is None else tick.ready
            sample = LoadSample(
                tick.time, tick.load, tick.waiting, tick.requests_total, ready, self.current
            )
            self.state, decision = decide(self.autoscale, self.idle_timeout, self.state, sample)
            self.decisions[tick.time] = decision
            self.current = decision.desired
        return self

    def wake(self, now: float, fixed_replicas: int = 1) -> Decision:
        self.state, decision = wake(
            self.autoscale, self.state, now, current=self.current, fixed_replicas=fixed_replicas
        )
        self.current = decision.desired
        return decision

    def desired(self) -> dict[float, int]:
        return {time: d.desired for time, d in self.decisions.items()}

    def reasons(self) -> dict[float, str]:
        return {time: d.reason for time, d in self.decisions.items()}


def every(start: float, stop: float, step: float = 5, **fields: float) -> list[Tick]:
    """Ticks at start, start+step, ... up to and including stop, all alike."""
    count = int((stop - start) / step) + 1
    return [Tick(start + i * step, **fields) for i in range(count)]  # type: ignore[arg-type]


def test_load_above_target_for_less_than_scale_up_delay_changes_nothing() -> None:
    # Load 12 from t=10 to t=35 wants ceil(12/8) = 2 for 25 s < 30 s, then falls back.
    trace = Trace(scaling()).run(*every(0, 5, load=4), *every(10, 35, load=12), Tick(40, 8))
    assert set(trace.desired().values()) == {1}
    assert trace.reasons()[10] == "wait-scale-up" and trace.decisions[10].held_for == 0
    assert "waiting for scale_up_delay (25s of 30s)" in trace.decisions[35].message
    assert trace.reasons()[40] == "steady" and trace.state.pending is None


def test_sustained_load_scales_up_exactly_at_scale_up_delay() -> None:
    # running 9 + waiting 3 = 12 from t=10: the need starts at 10 and is met at 10 + 30.
    trace = Trace(scaling()).run(*every(0, 5, load=4), *every(10, 50, load=9, waiting=3))
    desired = trace.desired()
    assert desired[35] == 1 and desired[40] == 2 and desired[45] == 2 and desired[50] == 2
    up = trace.decisions[40]
    assert (up.reason, up.previous, up.held_for, up.delay) == ("scale-up", 1, 30, 30)
    assert (up.average_load, up.target_per_replica, up.raw_desired) == (12, 8, 2)
    assert (up.low, up.high) == (1, 4)
    assert trace.reasons()[45] == "steady"


def test_a_need_that_grows_while_waiting_keeps_its_timer_and_applies_the_latest() -> None:
    # Wants 2 from t=0, wants 4 from t=10: scale to 4 at t=30, not 2 then, nor 4 at t=40.
    trace = Trace(scaling()).run(*every(0, 5, load=12), *every(10, 30, load=28))
    assert trace.desired()[25] == 1
    assert trace.decisions[30].reason == "scale-up" and trace.decisions[30].desired == 4


def test_a_burst_that_ends_before_the_delay_changes_nothing() -> None:
    trace = Trace(scaling()).run(*every(0, 5), *every(10, 30, load=40), *every(35, 120))
    assert set(trace.desired().values()) == {1}
    assert trace.reasons()[30] == "wait-scale-up" and trace.reasons()[35] == "at-min"
    # The same burst later starts a fresh timer: it has to last 30 s again.
    trace.run(*every(125, 150, load=40))
    assert trace.desired()[150] == 1 and trace.decisions[150].held_for == 25


def test_a_need_that_changes_direction_restarts_the_timer() -> None:
    trace = Trace(scaling(), current=2)
    trace.run(*every(0, 50, load=4), *every(55, 80, load=30))  # down for 50 s, then up
    assert set(trace.desired().values()) == {2}
    assert trace.decisions[55].reason == "wait-scale-up" and trace.decisions[55].held_for == 0
    assert trace.run(Tick(85, 30)).decisions[85].desired == 4  # 55 + 30


def test_falling_load_scales_down_only_after_scale_down_delay() -> None:
    # 3 replicas; load 24 wants 3, then 8 from t=5 wants 1: met at 5 + 60 = 65.
    trace = Trace(scaling(), current=3).run(Tick(0, 24), *every(5, 70, load=8))
    desired = trace.desired()
    assert desired[60] == 3 and desired[65] == 1 and desired[70] == 1
    down = trace.decisions[65]
    assert (down.reason, down.held_for, down.delay, down.raw_desired) == ("scale-down", 60, 60, 1)


def test_scale_down_removes_only_what_was_unneeded_for_the_whole_delay() -> None:
    # Wants 2 from t=5, wants 1 from t=30: at t=65 go to 2 (the highest want while
    # waiting), then a fresh 60 s for the step to 1, met at t=130.
    trace = Trace(scaling(), current=3).run(Tick(0, 24), *every(5, 25, load=16))
    trace.run(*every(30, 130, load=4))
    desired = trace.desired()
    assert desired[60] == 3 and desired[65] == 2 and desired[125] == 2 and desired[130] == 1
    assert trace.decisions[70].held_for == 0


def test_clamped_at_max() -> None:
    trace = Trace(scaling(max=3)).run(*every(0, 40, load=100))  # wants ceil(12.5) = 13
    assert trace.desired()[30] == 3
    assert "clamped to [1, 3]" in trace.decisions[30].message
    at_max = trace.decisions[35]
    assert (at_max.reason, at_max.raw_desired, at_max.desired) == ("at-max", 13, 3)


def test_clamped_at_min_and_load_alone_never_goes_to_zero() -> None:
    two = Trace(scaling(min=2), current=2).run(*every(0, 600))
    assert set(two.desired().values()) == {2} and two.reasons()[600] == "at-min"
    zero = Trace(scaling(min=0)).run(*every(0, 600))  # min 0 but no idle_timeout
    assert set(zero.desired().values()) == {1}
    assert (zero.decisions[600].reason, zero.decisions[600].low) == ("at-min", 1)


def test_a_short_spike_in_a_long_window_does_not_scale_up() -> None:
    # Window 60 s, ticks every 5 s: 12 samples. Load 4 with one spike of 40 at t=100:
    # (11 * 4 + 40) / 12 = 7 < 8, so want stays 1 and no timer starts.
    ticks = [Tick(t, 40 if t == 100 else 4) for t in range(0, 200, 5)]
    long = Trace(scaling(window=60)).run(*ticks)
    assert set(long.desired().values()) == {1} and set(long.reasons().values()) == {"steady"}
    spike = long.decisions[100]
    assert (spike.average_load, spike.samples, spike.raw_desired) == (7, 12, 1)
    assert long.decisions[160].average_load == 4  # t=100 is out of (100, 160]
    short = Trace(scaling(window=5)).run(*ticks)  # the same spike, unaveraged
    assert short.reasons()[100] == "wait-scale-up" and set(short.desired().values()) == {1}


def test_sustained_load_rises_through_the_window_before_the_timer_starts() -> None:
    # Load 4 until t=55, 16 from t=60; window 60 s holds 12 samples. The average passes 8
    # when 4 * (12 - k) + 16 * k > 8 * 12, i.e. k = 5 high samples: t=80. Met at t=110.
    ticks = [Tick(t, 4 if t < 60 else 16) for t in range(0, 200, 5)]
    trace = Trace(scaling(window=60)).run(*ticks)
    assert trace.reasons()[75] == "steady" and trace.reasons()[80] == "wait-scale-up"
    assert trace.desired()[105] == 1 and trace.desired()[110] == 2


def test_idle_min_zero_scales_to_zero_exactly_at_the_timeout_then_waits_for_wake() -> None:
    trace = Trace(scaling(min=0, max=2), idle_timeout=60)
    # The first reading is only a baseline; the counter moves by t=5: last activity 5.
    trace.run(Tick(0, requests_total=100), *every(5, 60, requests_total=103))
    assert set(trace.desired().values()) == {1}
    assert trace.decisions[60].idle_for == 55
    trace.run(Tick(65, requests_total=103))
    idle = trace.decisions[65]
    assert (idle.reason, idle.previous, idle.desired, idle.idle_for) == ("idle-timeout", 1, 0, 60)
    # At zero nothing measures load: a stray reading of load does not wake it.
    trace.run(*every(70, 95, load=50, requests_total=103))
    assert set(trace.reasons()[t] for t in range(70, 100, 5)) == {"at-zero"}
    assert trace.state.scaled_to_zero and set(trace.desired()[t] for t in range(70, 100, 5)) == {0}
    woken = trace.wake(100)
    assert (woken.reason, woken.previous, woken.desired) == ("wake", 0, 1)
    assert not trace.state.scaled_to_zero
    # Loading until t=130 (no replica ready): the idle clock only starts once one is.
    trace.run(*every(105, 130, ready=0), *every(135, 195, requests_total=0))
    assert trace.reasons()[130] == "no-load-reading"
    assert trace.desired()[185] == 1 and trace.desired()[190] == 0


def test_idle_with_min_above_zero_scales_to_min() -> None:
    trace = Trace(scaling(min=1, max=3), idle_timeout=30, current=3)
    trace.run(*every(0, 40, requests_total=7))
    assert trace.desired()[25] == 3 and trace.decisions[30].reason == "idle-timeout"
    assert trace.desired()[30] == 1 and not trace.state.scaled_to_zero
    assert trace.reasons()[35] == "at-min"


def test_idle_without_autoscale_stops_and_wakes_to_the_fixed_count() -> None:
    trace = Trace(None, idle_timeout=30, current=2).run(*every(0, 35, requests_total=1))
    assert trace.reasons()[25] == "fixed" and trace.desired()[30] == 0
    assert trace.wake(40, fixed_replicas=2).desired == 2


def test_requests_in_flight_keep_a_deployment_awake() -> None:
    trace = Trace(scaling(min=0), idle_timeout=30).run(*every(0, 100, load=1, requests_total=5))
    assert set(trace.desired().values()) == {1}


def test_a_counter_reset_is_activity_not_idleness() -> None:
    # 500 served, then a replica restarts and its counter starts over at 3 (t=40).
    trace = Trace(scaling(min=0), idle_timeout=60)
    trace.run(*every(0, 35, requests_total=500), *every(40, 100, requests_total=3))
    assert trace.desired()[95] == 1 and trace.desired()[100] == 0
    assert trace.decisions[95].idle_for == 55


def test_a_missing_counter_reading_is_neither_activity_nor_a_new_baseline() -> None:
    ticks = [Tick(t, requests_total=None if t % 10 else 9) for t in range(0, 70, 5)]
    trace = Trace(scaling(min=0), idle_timeout=60).run(*ticks)
    assert trace.desired()[55] == 1 and trace.desired()[60] == 0


def test_fixed_replicas_without_idle_timeout_never_change() -> None:
    trace = Trace(None, current=3).run(*every(0, 600, load=500, requests_total=1))
    assert set(trace.desired().values()) == {3} and set(trace.reasons().values()) == {"fixed"}


def test_no_ready_replica_holds_and_drops_the_timer() -> None:
    trace = Trace(scaling(), current=2).run(*every(0, 20, load=40), Tick(25, 40, ready=0))
    assert trace.reasons()[25] == "no-load-reading" and trace.state.pending is None
    trace.run(*every(30, 55, load=40))
    assert trace.desired()[55] == 2 and trace.run(Tick(60, 40)).desired()[60] == 4


def test_wake_never_lowers_a_running_deployment() -> None:
    state, decision = wake(scaling(min=2), AutoscalerState(), 0, current=3)
    assert decision.desired == 3 and not decision.changed
    assert wake(scaling(min=2), state, 1)[1].desired == 2
    assert wake(scaling(min=0), state, 1)[1].desired == 1


def test_each_decision_becomes_an_event_with_its_reason_and_numbers() -> None:
    trace = Trace(scaling()).run(*every(0, 30, load=12))
    up = trace.decisions[30]
    event = up.to_event("llama8b")
    assert (event.kind, event.subject, event.time) == ("autoscale.scale-up", "llama8b", 30)
    assert event.message == (
        "scale up 1 -> 2: load 12 over 5s / 8 per replica wants 2;"
        " needed for 30s of 30s scale_up_delay"
    )
    numbers = up.numbers()
    assert numbers["average_load"] == 12 and numbers["desired"] == 2
    assert numbers["held_for"] == 30 and numbers["window"] == 5
    assert worth_reporting(None, trace.decisions[0])
    assert not worth_reporting(trace.decisions[5], trace.decisions[10])  # still waiting
    assert worth_reporting(trace.decisions[25], up)


# Property-style checks over random traces, seeded so a failure replays exactly. The
# reference below recomputes, independently of the implementation's state, the window
# average, the direction of the need, how long it has held, and the idle clock.

Record = tuple[LoadSample | None, Decision]  # (None, decision) for a wake


def random_trace(seed: int) -> tuple[Autoscale, float | None, list[Record]]:
    rng = random.Random(seed)
    least = rng.choice([0, 0, 1, 2])
    autoscale = scaling(
        min=least,
        max=rng.randint(max(least, 1), 6),
        target_running_per_replica=rng.choice([1, 4, 8]),
        scale_up_delay=rng.choice([0, 5, 10, 30]),
        scale_down_delay=rng.choice([0, 10, 30, 60]),
        window=rng.choice([0, 5, 15, 60]),
    )
    idle_timeout = rng.choice([None, 20, 60, 120])
    state, current = AutoscalerState(), rng.choice([least, max(least, 1), autoscale.max])
    records: list[Record] = []
    now, level, total = 0.0, 0, 0
    for _ in range(300):
        now += rng.choice([1, 2.5, 5, 5, 5])
        if current == 0 and rng.random() < 0.05:
            state, woken = wake(autoscale, state, now - 0.5)
            records.append((None, woken))
            current = woken.desired
        if rng.random() < 0.05:
            level = rng.choice([0, 0, 0, 1, 4, 8, 12, 30, 80])
        load = max(0, level + rng.choice([-2, -1, 0, 0, 1, 2])) if level else 0
        load = 100 if rng.random() < 0.02 else load
        if load > 0 or rng.random() < 0.01:
            total += rng.randint(1, 5)
        if rng.random() < 0.01:
            total = 0  # a replica restarted
        ready = 0 if rng.random() < 0.05 else current
        sample = LoadSample(
            now,
            load,
            rng.choice([0, 0, 2]) if load else 0,
            None if rng.random() < 0.05 else total,
            ready,
            current,
        )
        state, decision = decide(autoscale, idle_timeout, state, sample)
        records.append((sample, decision))
        current = decision.desired
    return autoscale, idle_timeout, records


def check_trace(autoscale: Autoscale, idle_timeout: float | None, records: list[Record]) -> None:
    low, high, eps = max(autoscale.min, 1), autoscale.max, 1e-9
    readings: list[tuple[float, float]] = []  # (time, load) since the last wake
    last_activity: float | None = None
    last_total: float | None = None
    run: tuple[str, float] | None = None  # (direction, since) of the current need
    for sample, decision in records:
        assert decision.desired == 0 or low <= decision.desired <= high
        if decision.desired == 0:
            assert decision.reason in {"idle-timeout", "at-zero"}
        if decision.changed:
            assert decision.reason in {"scale-up", "scale-down", "idle-timeout", "wake"}
        if sample is None:  # a wake: new replicas, new clock, no old readings or timers
            readings, last_activity, last_total, run = [], decision.time, None, None
            continue
        now, current = sample.time, sample.current_desired
        ready = sample.ready_replicas if current > 0 else 0
        total = sample.requests_total
        moved = total is not None and last_total is not None and total != last_total
        if last_activity is None or moved or sample.load > 0 or ready == 0:
            last_activity = now
        last_total = total if total is not None else last_total
        idle_due = (
            idle_timeout is not None
            and now - last_activity + eps >= idle_timeout
            and current > autoscale.min
        )
        assert (decision.reason == "idle-timeout") == (idle_due and current > 0)
        if ready > 0:
            readings.append((now, sample.load))
        direction = None
        if current > 0 and ready > 0 and not idle_due:
            since = now - autoscale.window + eps  # (now - window, now], and always now
            loads = [load for time, load in readings if time > since or time == now]
            raw = math.ceil(
                round(sum(loads) / len(loads) / autoscale.target_running_per_replica, 9)
            )
            want = min(max(raw, low), high)
            direction = "up" if want > current else "down" if want < current else None
        if direction is None:
            run = None
        elif run is None or run[0] != direction:
            run = (direction, now)
        if run is None:
            assert decision.reason not in {"scale-up", "scale-down"}
            assert not decision.reason.startswith("wait-")
            continue
        delay = autoscale.scale_up_delay if run[0] == "up" else autoscale.scale_down_delay
        held = now - run[1]
        assert decision.held_for == held
        if held + eps >= delay:  # applied exactly when due, never before
            assert decision.reason == f"scale-{run[0]}"
            run = None
        else:
            assert decision.reason == f"wait-scale-{run[0]}" and not decision.changed


@pytest.mark.parametrize("seed", range(40))
def test_random_traces_respect_bounds_and_delays(seed: int) -> None:
    check_trace(*random_trace(seed))


def test_random_traces_are_deterministic_and_reach_every_kind_of_decision() -> None:
    assert random_trace(7) == random_trace(7)
    reasons = {d.reason for seed in range(40) for _, d in random_trace(seed)[2]}
    assert reasons >= {
        "scale-up",
        "scale-down",
        "idle-timeout",
        "wake",
        "wait-scale-up",
        "wait-scale-down",
        "at-max",
        "at-min",
        "steady",
        "at-zero",
        "no-load-reading",
    }
