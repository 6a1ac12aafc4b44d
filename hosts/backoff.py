"""How long to wait before reconnecting: exponential backoff with jitter, in one place.

Used by the loops that keep a channel to a host open for as long as fleetdeck runs: the
engine's watch of each host (core/engine/host_watchers.py) and the log follower
(hosts/log_follower.py). It lives in hosts/, the lowest layer, so both core and hosts
can use it.

Why not tenacity or backoff: those wrap a call that eventually succeeds or gives up.
These loops never give up; each "attempt" is a stream that may run for hours, and what
matters happens around it: every break is reported to the user (with the wait that
follows), and the delay starts over as soon as data flows again, in the middle of an
attempt, not when a call returns. A retry decorator would need a callback for the
report and a way to reset its count from inside the stream; the plain loop says it
more clearly, and the schedule it needs is the few lines here.

    timer = BackoffTimer(Backoff(first_s=1.0, max_s=15.0))
    while True:
        try:
            async for item in stream():
                timer.reset()  # data flowed: the next break starts over
                ...
        except HostError as exc:
            wait = timer.next_delay()
            report(exc, wait)
            await asyncio.sleep(wait)
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """The schedule: first_s, then times factor per attempt up to max_s, each wait
    spread by +- jitter (a fraction) so that many loops do not retry in step."""

    first_s: float = 0.5
    max_s: float = 15.0
    factor: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not 0 <= self.first_s <= self.max_s:
            raise ValueError(f"need 0 <= first_s <= max_s, got {self.first_s} and {self.max_s}")
        if self.factor < 1:
            raise ValueError(f"factor must be 1 or more, got {self.factor}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")

    def base_delay(self, attempt: int) -> float:
        """The wait before retry `attempt` (1: after the first break), without jitter."""
        if attempt < 1:
            raise ValueError(f"attempts count from 1, got {attempt}")
        try:
            return min(self.first_s * self.factor ** (attempt - 1), self.max_s)
        except OverflowError:  # a loop that has failed for a very long time
            return self.max_s

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """base_delay(attempt) spread by +- jitter (so at most max_s x (1 + jitter))."""
        uniform = rng.uniform if rng is not None else random.uniform
        spread = uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return max(0.0, self.base_delay(attempt) * (1.0 + spread))


class BackoffTimer:
    """One loop's place in a Backoff schedule: next_delay() after each break, reset()
    once the connection has proved itself (data flowed)."""

    def __init__(self, backoff: Backoff, rng: random.Random | None = None) -> None:
        self.backoff = backoff
        self.attempt = 0  # breaks since the last reset
        self._rng = rng

    def next_delay(self) -> float:
        """The wait before the next try; each call counts one more break."""
        self.attempt += 1
        return self.backoff.delay(self.attempt, self._rng)

    def reset(self) -> None:
        self.attempt = 0
