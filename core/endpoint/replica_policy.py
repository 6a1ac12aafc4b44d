"""How the endpoint asks which replica of a backend gets a request.

TODO(policies): replace this module's contents with
`from fleetdeck.core.policy.replica_choice import (ReplicaCandidate, ReplicaPolicy,
RoutingKey, make_replica_policy)` once that module lands on main. Until then every policy
name is served by round robin, behind exactly the shape that module will have, so the
endpoint's code does not change when it arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ReplicaCandidate:
    replica_id: str
    outstanding: int  # requests this endpoint has in flight on it now
    queue_depth: float | None  # vllm:num_requests_waiting, when scraped
    kv_usage: float | None  # vllm:kv_cache_usage_perc (0..1), when scraped


@dataclass(frozen=True)
class RoutingKey:
    prefix: str  # the start of the prompt, for prefix affinity
    session: str | None  # the sticky key (X-Session-Id or the body's user), if any


class ReplicaPolicy(Protocol):
    def choose(self, candidates: Sequence[ReplicaCandidate], key: RoutingKey) -> str | None: ...


class RoundRobin:
    """Each call the next candidate after the last one chosen, by replica id order."""

    def __init__(self) -> None:
        self._last: str | None = None

    def choose(self, candidates: Sequence[ReplicaCandidate], key: RoutingKey) -> str | None:
        if not candidates:
            return None
        ids = [candidate.replica_id for candidate in candidates]
        if self._last is not None:
            # The first id after the last one chosen, in the order given, wrapping round:
            # stable when a replica joins, leaves or is skipped for one request.
            after = [i for i in ids if i > self._last]
            chosen = min(after) if after else min(ids)
        else:
            chosen = ids[0]
        self._last = chosen
        return chosen


def make_replica_policy(name: str) -> ReplicaPolicy:
    """A fresh policy object for one backend; every name is round robin for now."""
    return RoundRobin()
