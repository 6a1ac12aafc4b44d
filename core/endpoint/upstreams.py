"""The replicas of one backend (deployment) an endpoint sends requests to: in-flight
counts, drain, and which replica is next, as its ReplicaPolicy says.

Every request holds a Lease on the upstream it was sent to from the moment it is picked
until its response body has been relayed (or has failed), so ``in_flight`` is exactly
what a drain has to wait for. A replica leaves the rotation in two ways that both let its
requests finish: ``drain()`` (the rolling update's "no new requests, then stop") and
disappearing from the mapping given to ``update()``. A drained replica stays out of the
rotation while it is listed, because the engine keeps re-sending its ready set while a
rollout drains it; ``undrain()`` puts it back. A replica that refused a connection, or
dropped two in a row, is skipped for ``suspend_s`` while others are available, so a dead
one costs one failed connect per few seconds rather than one per request until the
engine notices. One dropped connection alone does not suspend: a kept-alive connection
that the server closed just as a request went out looks the same.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from fleetdeck.core.policy.replica_choice import (
    ReplicaCandidate,
    ReplicaPolicy,
    RoutingKey,
    make_replica_policy,
)

# How a request's turn on an upstream ended: answered (whatever the status), refused
# (no connection: the replica is down), dropped (connection closed with no or half an
# answer: down, or a stale kept-alive connection).
Outcome = Literal["ok", "refused", "dropped"]
_SUSPEND_AFTER_DROPS = 2


@dataclass(frozen=True)
class UpstreamStats:
    replica_id: str
    url: str
    in_flight: int
    requests: int  # requests sent to it, retries included
    failures: int  # connections refused or dropped before a response, bodies cut short
    draining: bool
    listed: bool  # False once it left the mapping and is only finishing requests


@dataclass(frozen=True)
class ProxyStats:
    deployment: str
    url: str
    requests: int  # client requests answered or attempted
    failures: int  # answered with the proxy's own 5xx, or cut short mid-body
    retries: int  # requests sent again to another upstream after a failed connection
    in_flight: Mapping[str, int]  # replica id -> requests it is serving now
    upstreams: tuple[UpstreamStats, ...]


@dataclass
class _Upstream:
    replica_id: str
    base_url: str
    listed: bool = True
    draining: bool = False
    in_flight: int = 0
    requests: int = 0
    failures: int = 0
    suspended_until: float = 0.0
    drops_in_a_row: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()  # nothing in flight yet

    def stats(self) -> UpstreamStats:
        return UpstreamStats(
            self.replica_id,
            self.base_url,
            self.in_flight,
            self.requests,
            self.failures,
            self.draining,
            self.listed,
        )


class Lease:
    """One request's hold on one upstream; release it exactly once."""

    def __init__(self, pool: UpstreamPool, upstream: _Upstream) -> None:
        self._pool = pool
        self._upstream = upstream
        self._released = False

    @property
    def replica_id(self) -> str:
        return self._upstream.replica_id

    @property
    def base_url(self) -> str:
        return self._upstream.base_url

    def release(self, outcome: Outcome = "ok") -> None:
        if not self._released:
            self._released = True
            self._pool._release(self._upstream, outcome)


class UpstreamPool:
    def __init__(
        self,
        *,
        suspend_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        policy: ReplicaPolicy | None = None,
    ) -> None:
        self._suspend_s = suspend_s
        self._clock = clock
        self._policy = policy if policy is not None else make_replica_policy("round_robin")
        self._upstreams: dict[str, _Upstream] = {}
        self._order: list[str] = []  # listed replica ids, in the mapping's order
        self._load: dict[str, tuple[float | None, float | None]] = {}  # id -> (queue, kv)

    def set_policy(self, policy: ReplicaPolicy) -> None:
        self._policy = policy

    def set_load(self, load: Mapping[str, tuple[float | None, float | None]]) -> None:
        """Per replica id, (queue depth, KV cache usage) as last scraped, for the policy."""
        self._load = dict(load)

    def update(self, upstreams: Mapping[str, str]) -> None:
        """Make ``upstreams`` (replica id -> base URL) the listed set."""
        for replica_id, base_url in upstreams.items():
            known = self._upstreams.get(replica_id)
            if known is not None and known.base_url == base_url:
                known.listed = True
            else:
                # New, or the same id on a new port: requests still running on the old
                # address finish there (their leases hold the old record).
                self._upstreams[replica_id] = _Upstream(replica_id, base_url)
        for replica_id, upstream in list(self._upstreams.items()):
            if replica_id not in upstreams:
                upstream.listed = False
                self._forget_if_done(upstream)
        self._order = list(upstreams)

    def eligible(self) -> int:
        """How many upstreams may get a new request now."""
        return sum(1 for upstream in self._rotation() if not upstream.draining)

    def acquire(self, tried: set[str], key: RoutingKey | None = None) -> Lease | None:
        """The upstream the policy picks, preferring ones not ``tried`` and not suspended."""
        candidates = [u for u in self._rotation() if not u.draining]
        if not candidates:
            return None
        now = self._clock()
        key = key if key is not None else RoutingKey(prefix="", session=None)
        for accept in (
            lambda u: u.replica_id not in tried and u.suspended_until <= now,
            lambda u: u.replica_id not in tried,
            lambda u: True,
        ):
            offered = [u for u in candidates if accept(u)]
            if not offered:
                continue
            chosen_id = self._policy.choose([self._candidate(u) for u in offered], key)
            chosen = next((u for u in offered if u.replica_id == chosen_id), None)
            if chosen is not None:
                chosen.in_flight += 1
                chosen.requests += 1
                chosen.idle.clear()
                return Lease(self, chosen)
        return None

    def _candidate(self, upstream: _Upstream) -> ReplicaCandidate:
        queue, kv = self._load.get(upstream.replica_id, (None, None))
        return ReplicaCandidate(upstream.replica_id, upstream.in_flight, queue, kv)

    def _rotation(self) -> list[_Upstream]:
        return [self._upstreams[replica_id] for replica_id in self._order]

    def _release(self, upstream: _Upstream, outcome: Outcome) -> None:
        upstream.in_flight -= 1
        if outcome == "ok":
            upstream.drops_in_a_row = 0
        else:
            upstream.failures += 1
            upstream.drops_in_a_row += outcome == "dropped"
            if outcome == "refused" or upstream.drops_in_a_row >= _SUSPEND_AFTER_DROPS:
                upstream.suspended_until = self._clock() + self._suspend_s
        if upstream.in_flight == 0:
            upstream.idle.set()
            self._forget_if_done(upstream)

    def _forget_if_done(self, upstream: _Upstream) -> None:
        done = not upstream.listed and upstream.in_flight == 0
        if done and self._upstreams.get(upstream.replica_id) is upstream:
            del self._upstreams[upstream.replica_id]

    async def drain(self, replica_id: str, timeout_s: float) -> bool:
        """No new requests for ``replica_id``; True once its in-flight ones are done."""
        upstream = self._upstreams.get(replica_id)
        if upstream is None:
            return True
        upstream.draining = True
        if upstream.in_flight == 0:
            return True
        try:
            await asyncio.wait_for(upstream.idle.wait(), timeout_s)
        except asyncio.TimeoutError:
            return False
        return True

    def undrain(self, replica_id: str) -> None:
        upstream = self._upstreams.get(replica_id)
        if upstream is not None:
            upstream.draining = False

    def stats(self) -> tuple[UpstreamStats, ...]:
        return tuple(upstream.stats() for upstream in self._upstreams.values())

    def in_flight(self) -> Mapping[str, int]:
        return MappingProxyType(
            {replica_id: u.in_flight for replica_id, u in self._upstreams.items()}
        )
