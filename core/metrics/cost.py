"""What each deployment used and cost: GPU-hours held (and held idle), tokens, money.

Pure: the engine calls `record()` after each scrape round with what it observed and the
time; nothing here reads a clock or does I/O. `costs()` hands out frozen
`DeploymentCost`s (core/fleet/snapshot.py) for the snapshot.

The rules (tests/unit/test_cost.py walks a trace through them by hand):
- GPU-hours. Between two readings t0 < t1, each replica that held GPUs at t0 holds them
  until t1: gpus x (t1 - t0) / 3600 GPU-hours on its host, costed at that host's
  `gpu_hour_price` as given at t1. The state seen holds until the next look; looks are
  a scrape interval (2 s) apart. A replica holds its GPUs from its start until it is gone
  (the planner's own rule, `holds_gpus` in core/policy/plan.py).
- Idle. The interval (t0, t1] is idle when the reading at t1 is no activity by the idle
  policy's own test (`IdleClock.busy`): the finished-request counter did not move,
  nothing is in flight, and a replica is ready. Its GPU-hours are then idle GPU-hours.
- Tokens. Each replica's vLLM counters' growth since its previous page. A counter that
  went down, or a page from another process (its process marker changed), is a restart:
  the new value is what the new process counted, never a negative delta. A replica's
  first page is only a baseline (what it served before we watched is not ours to count),
  unless the meter saw it loading first: then everything on the page was served while
  watched, and it counts from zero. A replica missing from a reading (not ready, not
  scraped) keeps its last page, so its next page still counts from there.
- Windows. An interval counts in the minute (`bucket_s`) in which it ends. The last hour
  is the current minute and the 59 before it; "since start" is since this meter's first
  reading, i.e. since this fleetdeck process began watching. `window_s` says how many
  seconds each covers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fleetdeck.core.fleet.snapshot import CostFigures, DeploymentCost
from fleetdeck.core.metrics.counters import counter_delta
from fleetdeck.core.metrics.vllm_page import ProcessMarker, process_changed
from fleetdeck.core.policy.idle_policy import IdleClock

BUCKET_S = 60.0
WINDOW_BUCKETS = 60  # the last hour, in minutes
SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Holding:
    """A replica that holds GPUs at a reading."""

    replica_id: str
    host: str
    gpus: int
    ready: bool = True  # answers /health; False while loading


@dataclass(frozen=True)
class TokenCounters:
    """A replica's token counters as its latest /metrics page says (None: not on it)."""

    prompt: float | None
    output: float | None
    process: ProcessMarker | None = None


@dataclass(frozen=True)
class DeploymentReading:
    """One deployment at one reading."""

    deployment: str
    holdings: tuple[Holding, ...] = ()
    counters: Mapping[str, TokenCounters] = field(default_factory=dict)  # by replica id
    requests_total: float | None = None  # finished requests summed over replicas
    in_flight: float = 0.0  # running + waiting
    ready_replicas: int = 0


Prices = Mapping[str, float | None]
"""Host name -> its gpu_hour_price (None or missing: not priced)."""


@dataclass
class _Totals:
    gpu_hours: float = 0.0
    idle_gpu_hours: float = 0.0
    unpriced_gpu_hours: float = 0.0
    cost: float = 0.0
    idle_cost: float = 0.0
    prompt_tokens: float = 0.0
    output_tokens: float = 0.0

    def add(self, other: _Totals) -> None:
        self.gpu_hours += other.gpu_hours
        self.idle_gpu_hours += other.idle_gpu_hours
        self.unpriced_gpu_hours += other.unpriced_gpu_hours
        self.cost += other.cost
        self.idle_cost += other.idle_cost
        self.prompt_tokens += other.prompt_tokens
        self.output_tokens += other.output_tokens

    def figures(self, window_s: float) -> CostFigures:
        priced = self.unpriced_gpu_hours == 0
        cost = self.cost if priced else None
        total_tokens = self.prompt_tokens + self.output_tokens
        return CostFigures(
            window_s=window_s,
            gpu_hours=self.gpu_hours,
            idle_gpu_hours=self.idle_gpu_hours,
            unpriced_gpu_hours=self.unpriced_gpu_hours,
            prompt_tokens=self.prompt_tokens,
            output_tokens=self.output_tokens,
            total_tokens=total_tokens,
            cost=cost,
            idle_cost=self.idle_cost if priced else None,
            cost_per_million_output_tokens=per_million(cost, self.output_tokens),
            cost_per_million_total_tokens=per_million(cost, total_tokens),
        )


def per_million(cost: float | None, tokens: float) -> float | None:
    """Cost per million tokens; None without tokens or without a cost."""
    if cost is None or tokens <= 0:
        return None
    return cost / tokens * 1_000_000


@dataclass
class _DeploymentState:
    last_at: float
    holdings: tuple[Holding, ...]
    idle: IdleClock
    buckets: dict[int, _Totals] = field(default_factory=dict)
    total: _Totals = field(default_factory=_Totals)
    last_hour: CostFigures = CostFigures()
    since_start: CostFigures = CostFigures()


def burn_rate(holdings: Sequence[Holding], prices: Prices) -> tuple[int, float | None]:
    """GPUs held now and what they cost per hour (None when one of them is unpriced)."""
    gpus = sum(h.gpus for h in holdings)
    per_hour: float | None = 0.0
    for holding in holdings:
        price = prices.get(holding.host)
        if holding.gpus and price is None:
            per_hour = None
        elif per_hour is not None and price is not None:
            per_hour += holding.gpus * price
    return gpus, per_hour


class CostMeter:
    """Owned by the engine; fed once per scrape round."""

    def __init__(self, bucket_s: float = BUCKET_S, window_buckets: int = WINDOW_BUCKETS) -> None:
        self.bucket_s = bucket_s
        self.window_buckets = window_buckets
        self.since: float | None = None  # the first reading
        self._deployments: dict[str, _DeploymentState] = {}
        self._pages: dict[str, TokenCounters] = {}  # replica id -> its last page's counters
        self._loading: set[str] = set()  # replicas seen loading before their first page
        self._seen_at: dict[str, float] = {}  # replica id -> the last reading that named it

    def record(self, now: float, readings: Iterable[DeploymentReading], prices: Prices) -> None:
        """One reading of every deployment at `now`. A deployment known here but left out
        holds nothing from now on."""
        if self.since is None:
            self.since = now
        given = {r.deployment: r for r in readings}
        for name in self._deployments.keys() - given.keys():
            given[name] = DeploymentReading(name)
        for reading in given.values():
            self._record(now, reading, prices)
        self._forget_replicas_before(now - self.bucket_s * self.window_buckets)

    def costs(
        self, holdings: Mapping[str, Sequence[Holding]], prices: Prices, currency: str
    ) -> dict[str, DeploymentCost]:
        """Each deployment's figures as of the last reading, with what it holds now (as
        `holdings` says: the current observation, newer than the last reading)."""
        out = {}
        for name in self._deployments.keys() | holdings.keys():
            held = holdings.get(name, ())
            gpus, per_hour = burn_rate(held, prices)
            state = self._deployments.get(name)
            out[name] = DeploymentCost(
                currency=currency,
                replicas_holding=len(held),
                gpus_held=gpus,
                price_per_hour=per_hour,
                since=self.since,
                last_hour=state.last_hour if state else CostFigures(),
                since_start=state.since_start if state else CostFigures(),
            )
        return out

    def _record(self, now: float, reading: DeploymentReading, prices: Prices) -> None:
        prompt, output = self._tokens(now, reading)
        in_flight, ready = reading.in_flight, reading.ready_replicas
        state = self._deployments.get(reading.deployment)
        if state is None:
            # The first reading only sets the baselines: no interval ends here.
            clock = IdleClock().observe(now, reading.requests_total, in_flight, ready)
            self._deployments[reading.deployment] = _DeploymentState(now, reading.holdings, clock)
            return
        if now <= state.last_at:
            return  # a late or repeated reading would be a zero or negative interval
        interval = _Totals(prompt_tokens=prompt, output_tokens=output)
        hours = (now - state.last_at) / SECONDS_PER_HOUR
        idle = not state.idle.busy(reading.requests_total, in_flight, ready)
        for holding in state.holdings:
            gpu_hours = holding.gpus * hours
            price = prices.get(holding.host)
            interval.gpu_hours += gpu_hours
            if idle:
                interval.idle_gpu_hours += gpu_hours
            if price is None:
                interval.unpriced_gpu_hours += gpu_hours
                continue
            interval.cost += gpu_hours * price
            if idle:
                interval.idle_cost += gpu_hours * price
        state.idle = state.idle.observe(now, reading.requests_total, in_flight, ready)
        state.last_at = now
        state.holdings = reading.holdings
        state.total.add(interval)
        current = self._bucket(now)
        state.buckets.setdefault(current, _Totals()).add(interval)
        oldest = current - self.window_buckets + 1
        for key in [k for k in state.buckets if k < oldest]:
            del state.buckets[key]
        hour = _Totals()
        for totals in state.buckets.values():
            hour.add(totals)
        assert self.since is not None
        window_start = max(oldest * self.bucket_s, self.since)
        state.last_hour = hour.figures(now - window_start)
        state.since_start = state.total.figures(now - self.since)

    def _tokens(self, now: float, reading: DeploymentReading) -> tuple[float, float]:
        """Prompt and output tokens counted since each replica's previous page."""
        for holding in reading.holdings:
            self._seen_at[holding.replica_id] = now
            if not holding.ready and holding.replica_id not in self._pages:
                self._loading.add(holding.replica_id)
        prompt = output = 0.0
        for replica_id, page in reading.counters.items():
            self._seen_at[replica_id] = now
            before = self._pages.get(replica_id)
            if before is None and replica_id in self._loading:
                before = TokenCounters(prompt=0.0, output=0.0)  # served only while watched
            self._pages[replica_id] = page
            self._loading.discard(replica_id)
            if before is None:
                continue  # the baseline
            restarted = process_changed(before.process, page.process)
            prompt += counter_delta(before.prompt, page.prompt, restarted)
            output += counter_delta(before.output, page.output, restarted)
        return prompt, output

    def _forget_replicas_before(self, cutoff: float) -> None:
        """Replicas gone for the whole window: their baselines can count nothing more."""
        for replica_id in [r for r, t in self._seen_at.items() if t < cutoff]:
            del self._seen_at[replica_id]
            self._pages.pop(replica_id, None)
            self._loading.discard(replica_id)

    def _bucket(self, t: float) -> int:
        return math.floor(t / self.bucket_s)
