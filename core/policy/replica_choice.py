"""Which replica serves a request: the endpoint's routing policies (pure, no I/O).

The endpoint builds one `ReplicaCandidate` per ready replica (its own count of requests
in flight, plus the queue depth and KV-cache usage last scraped from /metrics, None when
not scraped yet) and a `RoutingKey` from the request, and asks a policy for a replica id.
Policies keep only small state of their own (a round-robin cursor); everything else comes
in with the call, so a replica joining or leaving needs no notification.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

# Characters of prompt text that make a request's prefix key. vLLM caches prompts in
# blocks of 16 tokens (~64 characters of English), so 256 characters cover the first few
# blocks: requests that share a system prompt or few-shot preamble at least that long land
# on the same replica, while requests that differ inside it (a short system prompt
# followed by different questions) spread out, as their cached prefixes would differ too.
PREFIX_CHARS = 256

# The load-imbalance guard of prefix affinity, with the defaults of vllm-router's (and
# sglang-router's) cache_aware policy: the affine replica is skipped for the least loaded
# one when it has more than `BALANCE_ABS_THRESHOLD` requests in flight above the least
# loaded AND more than `BALANCE_REL_THRESHOLD` times its load. Both must hold, so neither
# a large ratio at low load (3 vs 1) nor a large gap at high load (200 vs 150) trips it.
BALANCE_ABS_THRESHOLD = 64
BALANCE_REL_THRESHOLD = 1.5

SESSION_HEADER = "x-session-id"


@dataclass(frozen=True)
class ReplicaCandidate:
    replica_id: str
    outstanding: int  # requests this endpoint has in flight to the replica now
    queue_depth: float | None  # vllm:num_requests_waiting, last scrape; None: not scraped
    kv_usage: float | None  # vllm:kv_cache_usage_perc (0..1), last scrape; None: not scraped


@dataclass(frozen=True)
class RoutingKey:
    prefix: str  # the first PREFIX_CHARS characters of the prompt text ("" when none)
    session: str | None  # X-Session-Id header or the body's `user`


class ReplicaPolicy(Protocol):
    def choose(self, candidates: Sequence[ReplicaCandidate], key: RoutingKey) -> str | None:
        """The replica id to send the request to; None when there are no candidates."""
        ...


class RoundRobin:
    """Each candidate in turn, in replica-id order; survives candidates coming and going."""

    def __init__(self) -> None:
        self._last: str | None = None

    def choose(self, candidates: Sequence[ReplicaCandidate], key: RoutingKey) -> str | None:
        if not candidates:
            return None
        ids = sorted(c.replica_id for c in candidates)
        # The first id after the last one chosen: a cursor by id, not by index, so a
        # replica leaving does not make the next one be skipped or served twice.
        chosen = next((i for i in ids if self._last is None or i > self._last), ids[0])
        self._last = chosen
        return chosen


class LeastOutstanding:
    """The candidate with the fewest requests in flight; ties broken at random."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def choose(self, candidates: Sequence[ReplicaCandidate], key: RoutingKey) -> str | None:
        return _least_outstanding(candidates, self._rng)


class PowerOfTwo:
    """Two random candidates, the one with the shorter scraped queue.

    The queue depth is as old as the last scrape, so the live in-flight count breaks ties
    (and decides alone when either candidate has not been scraped yet).
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def choose(self, candidates: Sequence[ReplicaCandidate], key: RoutingKey) -> str | None:
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0].replica_id
        a, b = self._rng.sample(list(candidates), 2)
        if a.queue_depth is not None and b.queue_depth is not None:
            load_a: tuple[float, ...] = (a.queue_depth, a.outstanding)
            load_b: tuple[float, ...] = (b.queue_depth, b.outstanding)
        else:
            load_a, load_b = (a.outstanding,), (b.outstanding,)
        return b.replica_id if load_b < load_a else a.replica_id


class PrefixAffinity:
    """Same prompt prefix, same replica (rendezvous hashing), unless that one is overloaded.

    Rendezvous (highest-random-weight) hashing: each (prefix, replica) pair gets a hash and
    the highest wins. A replica joining takes only the keys it now wins (about 1/n of
    them); one leaving gives up only its own. Requests without a prompt, or when the
    affine replica is far busier than the least loaded (see BALANCE_*), go least loaded.
    """

    def __init__(
        self,
        rng: random.Random,
        abs_threshold: int = BALANCE_ABS_THRESHOLD,
        rel_threshold: float = BALANCE_REL_THRESHOLD,
    ) -> None:
        self._rng = rng
        self._abs_threshold = abs_threshold
        self._rel_threshold = rel_threshold

    def choose(self, candidates: Sequence[ReplicaCandidate], key: RoutingKey) -> str | None:
        if not candidates:
            return None
        if not key.prefix:
            return _least_outstanding(candidates, self._rng)
        affine = _rendezvous(candidates, key.prefix)
        least = min(c.outstanding for c in candidates)
        excess = affine.outstanding - least
        if excess > self._abs_threshold and affine.outstanding > least * self._rel_threshold:
            return _least_outstanding(candidates, self._rng)
        return affine.replica_id


class SessionAffinity:
    """Same session, same replica (rendezvous hashing); no session: least outstanding."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def choose(self, candidates: Sequence[ReplicaCandidate], key: RoutingKey) -> str | None:
        if not candidates:
            return None
        if key.session is None:
            return _least_outstanding(candidates, self._rng)
        return _rendezvous(candidates, key.session).replica_id


_POLICIES: dict[str, Callable[[random.Random], ReplicaPolicy]] = {
    "round_robin": lambda rng: RoundRobin(),
    "least_outstanding": LeastOutstanding,
    "power_of_two": PowerOfTwo,
    "prefix_affinity": PrefixAffinity,
    "session_affinity": SessionAffinity,
}

POLICY_NAMES: tuple[str, ...] = tuple(_POLICIES)


def make_replica_policy(name: str, rng: random.Random | None = None) -> ReplicaPolicy:
    """A fresh policy by its inventory name; `rng` makes the random choices reproducible."""
    factory = _POLICIES.get(name)
    if factory is None:
        raise ValueError(
            f"unknown routing policy {name!r}: choose one of {', '.join(POLICY_NAMES)}"
        )
    return factory(rng if rng is not None else random.Random())


def routing_key_from_request(body: Mapping[str, object], headers: Mapping[str, str]) -> RoutingKey:
    """The routing key of an OpenAI request body (completions or chat) and its headers.

    The prefix is the first PREFIX_CHARS characters of `prompt` (the first prompt when it
    is a list; token ids as text) or of the chat `messages` as role and text content in
    order. The session is the X-Session-Id header (any case), else the body's `user`.
    """
    return RoutingKey(prefix=_prompt_text(body)[:PREFIX_CHARS], session=_session(body, headers))


def _least_outstanding(candidates: Sequence[ReplicaCandidate], rng: random.Random) -> str | None:
    if not candidates:
        return None
    least = min(c.outstanding for c in candidates)
    # A random pick among the tied, not the first: at low load every candidate is tied at
    # zero and the first would take all the traffic.
    return rng.choice([c.replica_id for c in candidates if c.outstanding == least])


def _rendezvous(candidates: Sequence[ReplicaCandidate], key: str) -> ReplicaCandidate:
    def weight(candidate: ReplicaCandidate) -> tuple[bytes, str]:
        digest = hashlib.blake2b(
            f"{candidate.replica_id}\0{key}".encode(errors="replace"), digest_size=8
        ).digest()
        return digest, candidate.replica_id

    return max(candidates, key=weight)


def _prompt_text(body: Mapping[str, object]) -> str:
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and prompt:
        first = prompt[0]
        if isinstance(first, str):  # several prompts: the first decides
            return first
        if isinstance(first, int):  # one prompt as token ids
            return " ".join(str(token) for token in prompt)
        if isinstance(first, list):  # several prompts as token ids
            return " ".join(str(token) for token in first)
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    parts: list[str] = []
    length = 0
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        text = f"{message.get('role', '')}: {_content_text(message.get('content'))}\n"
        parts.append(text)
        length += len(text)
        if length >= PREFIX_CHARS:
            break
    return "".join(parts)


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""


def _session(body: Mapping[str, object], headers: Mapping[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() == SESSION_HEADER and value:
            return value
    user = body.get("user")
    return user if isinstance(user, str) and user else None
