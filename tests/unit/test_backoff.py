"""The one reconnect schedule: exponential, capped, jittered, started over after success."""

from __future__ import annotations

import random

import pytest

from fleetdeck.hosts.backoff import Backoff, BackoffTimer


def test_doubles_from_first_up_to_max() -> None:
    backoff = Backoff(first_s=1.0, max_s=15.0, factor=2.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0]


def test_a_very_long_outage_stays_at_max() -> None:
    backoff = Backoff(first_s=0.5, max_s=15.0, jitter=0.0)
    assert backoff.delay(5000) == 15.0  # 2.0 ** 4999 would overflow a float


def test_jitter_stays_within_its_fraction_and_varies() -> None:
    backoff = Backoff(first_s=1.0, max_s=15.0, jitter=0.2)
    rng = random.Random(7)
    delays = [backoff.delay(10, rng) for _ in range(500)]
    assert all(12.0 <= d <= 18.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100  # spread, so hosts do not retry in step
    same_seed = random.Random(7)
    assert [backoff.delay(10, same_seed) for _ in range(500)] == delays  # repeatable


def test_timer_counts_breaks_and_starts_over_after_reset() -> None:
    timer = BackoffTimer(Backoff(first_s=0.5, max_s=4.0, jitter=0.0))
    assert [timer.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert timer.attempt == 5
    timer.reset()  # data flowed again
    assert timer.attempt == 0
    assert timer.next_delay() == 0.5


def test_timer_with_a_seeded_generator_is_deterministic() -> None:
    backoff = Backoff(first_s=1.0, max_s=15.0, jitter=0.2)
    first = BackoffTimer(backoff, random.Random(42))
    second = BackoffTimer(backoff, random.Random(42))
    assert [first.next_delay() for _ in range(6)] == [second.next_delay() for _ in range(6)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_s": 5.0, "max_s": 1.0},
        {"first_s": -1.0},
        {"factor": 0.5},
        {"jitter": 1.0},
        {"jitter": -0.1},
    ],
)
def test_a_nonsense_schedule_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        Backoff().delay(0)
