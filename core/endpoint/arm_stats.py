"""What an endpoint measured per backend (arm) and for its shadow: counts and recent
latencies, kept in memory for `status --json` and the canary analysis to read.

Latencies are the last WINDOW requests' (not a histogram over all time), so a p95 follows
a change within a few hundred requests.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW = 2048


def percentile(values: deque[float] | list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class ArmSummary:
    deployment: str
    weight: float
    requests: int  # answered by a replica or failed, retries counted once
    errors: int  # a 5xx from the replica or the endpoint, or a body cut short
    in_flight: int
    p50_ms: float | None
    p95_ms: float | None
    ttft_p50_ms: float | None  # to the first body byte
    tokens_per_s: float | None  # median of completion tokens / request time, where known
    output_tokens: int  # completion tokens counted over every request (where known)

    def to_json(self) -> dict[str, object]:
        rounded = {
            key: (round(value, 1) if isinstance(value, float) else value)
            for key, value in self.__dict__.items()
        }
        return rounded


@dataclass(frozen=True)
class ArmMark:
    """Where an arm's counters stood when a canary window began."""

    completed: int
    errors: int


@dataclass
class ArmStats:
    deployment: str
    requests: int = 0
    errors: int = 0
    in_flight: int = 0
    completed: int = 0  # requests finished (each added one latency)
    output_tokens: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    ttfts_ms: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    rates: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def started(self) -> None:
        self.requests += 1
        self.in_flight += 1

    def finished(
        self, *, ok: bool, latency_s: float, ttft_s: float | None, tokens: int | None
    ) -> None:
        self.in_flight -= 1
        self.completed += 1
        self.errors += not ok
        self.latencies_ms.append(latency_s * 1000)
        if ttft_s is not None:
            self.ttfts_ms.append(ttft_s * 1000)
        if tokens is not None:
            self.output_tokens += tokens
            if latency_s > 0 and tokens > 0:
                self.rates.append(tokens / latency_s)

    def mark(self) -> ArmMark:
        return ArmMark(self.completed, self.errors)

    def since(self, mark: ArmMark) -> tuple[int, int, float | None]:
        """(requests, errors, p95 ms) of the requests finished after `mark`; the p95 over
        the newest WINDOW of them (the deque holds no more)."""
        finished = self.completed - mark.completed
        count = min(finished, len(self.latencies_ms))
        recent = list(self.latencies_ms)[len(self.latencies_ms) - count :] if count else []
        return finished, self.errors - mark.errors, percentile(recent, 0.95)

    def summary(self, weight: float) -> ArmSummary:
        return ArmSummary(
            deployment=self.deployment,
            weight=weight,
            requests=self.requests,
            errors=self.errors,
            in_flight=self.in_flight,
            p50_ms=percentile(self.latencies_ms, 0.5),
            p95_ms=percentile(self.latencies_ms, 0.95),
            ttft_p50_ms=percentile(self.ttfts_ms, 0.5),
            tokens_per_s=percentile(self.rates, 0.5),
            output_tokens=self.output_tokens,
        )
