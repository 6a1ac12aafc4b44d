"""The endpoint's replica-choice policies and the routing key of a request."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from fleetdeck.core.policy.replica_choice import (
    BALANCE_ABS_THRESHOLD,
    POLICY_NAMES,
    PREFIX_CHARS,
    ReplicaCandidate,
    RoutingKey,
    make_replica_policy,
    routing_key_from_request,
)

NO_KEY = RoutingKey(prefix="", session=None)


def replica(
    replica_id: str,
    outstanding: int = 0,
    queue_depth: float | None = None,
    kv_usage: float | None = None,
) -> ReplicaCandidate:
    return ReplicaCandidate(replica_id, outstanding, queue_depth, kv_usage)


def replicas(n: int) -> list[ReplicaCandidate]:
    return [replica(f"r{i}") for i in range(n)]


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_no_candidates_means_no_choice(name: str) -> None:
    policy = make_replica_policy(name, random.Random(1))
    assert policy.choose([], RoutingKey(prefix="hello", session="s")) is None
    assert policy.choose([], NO_KEY) is None


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_a_single_candidate_is_always_chosen(name: str) -> None:
    policy = make_replica_policy(name, random.Random(1))
    only = [replica("only", outstanding=500, queue_depth=99)]
    assert policy.choose(only, RoutingKey(prefix="p", session="s")) == "only"


def test_an_unknown_name_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError) as error:
        make_replica_policy("fastest")
    message = str(error.value)
    assert "fastest" in message
    for name in POLICY_NAMES:
        assert name in message


def test_round_robin_takes_each_in_turn() -> None:
    policy = make_replica_policy("round_robin")
    candidates = replicas(3)
    chosen = [policy.choose(candidates, NO_KEY) for _ in range(6)]
    assert chosen == ["r0", "r1", "r2", "r0", "r1", "r2"]


def test_round_robin_neither_skips_nor_repeats_when_a_replica_leaves() -> None:
    policy = make_replica_policy("round_robin")
    assert policy.choose(replicas(3), NO_KEY) == "r0"
    assert policy.choose(replicas(3), NO_KEY) == "r1"
    # r1 leaves: the next after r1 is still r2, then around to r0.
    without_r1 = [replica("r0"), replica("r2")]
    assert policy.choose(without_r1, NO_KEY) == "r2"
    assert policy.choose(without_r1, NO_KEY) == "r0"


def test_least_outstanding_picks_the_least_busy() -> None:
    policy = make_replica_policy("least_outstanding", random.Random(3))
    candidates = [replica("a", 5), replica("b", 2), replica("c", 9)]
    assert {policy.choose(candidates, NO_KEY) for _ in range(20)} == {"b"}


def test_least_outstanding_spreads_ties() -> None:
    policy = make_replica_policy("least_outstanding", random.Random(3))
    chosen = Counter(policy.choose(replicas(4), NO_KEY) for _ in range(400))
    assert set(chosen) == {"r0", "r1", "r2", "r3"}


def test_power_of_two_prefers_the_shorter_scraped_queue() -> None:
    policy = make_replica_policy("power_of_two", random.Random(5))
    # Two candidates: both are always sampled, the queue decides over in-flight counts.
    candidates = [replica("short", outstanding=4, queue_depth=0), replica("long", 0, 7)]
    assert {policy.choose(candidates, NO_KEY) for _ in range(20)} == {"short"}


def test_power_of_two_falls_back_to_outstanding_without_metrics() -> None:
    policy = make_replica_policy("power_of_two", random.Random(5))
    candidates = [replica("busy", outstanding=9), replica("idle", 1, queue_depth=0)]
    assert {policy.choose(candidates, NO_KEY) for _ in range(20)} == {"idle"}


def test_power_of_two_never_picks_the_worst_of_three() -> None:
    policy = make_replica_policy("power_of_two", random.Random(7))
    candidates = [replica("a", 0, 0), replica("b", 0, 3), replica("c", 0, 50)]
    chosen = Counter(policy.choose(candidates, NO_KEY) for _ in range(300))
    assert chosen["c"] == 0
    assert chosen["a"] > chosen["b"] > 0


def test_prefix_affinity_sends_the_same_prefix_to_the_same_replica() -> None:
    policy = make_replica_policy("prefix_affinity", random.Random(1))
    candidates = replicas(5)
    for prefix in (f"system prompt {i}" for i in range(50)):
        key = RoutingKey(prefix=prefix, session=None)
        assert len({policy.choose(candidates, key) for _ in range(5)}) == 1
    # ...and different prefixes use every replica.
    spread = {policy.choose(candidates, RoutingKey(f"p{i}", None)) for i in range(200)}
    assert spread == {"r0", "r1", "r2", "r3", "r4"}


def test_prefix_affinity_keeps_most_keys_when_a_replica_joins() -> None:
    policy = make_replica_policy("prefix_affinity", random.Random(1))
    keys = [RoutingKey(prefix=f"prefix number {i}", session=None) for i in range(2000)]
    before = {k: policy.choose(replicas(4), k) for k in keys}
    after = {k: policy.choose(replicas(5), k) for k in keys}
    moved = [k for k in keys if before[k] != after[k]]
    # Ideal is 1/5 (400); every moved key goes to the newcomer, none between old replicas.
    assert 300 < len(moved) < 500
    assert {after[k] for k in moved} == {"r4"}


def test_prefix_affinity_moves_only_a_leaving_replicas_keys() -> None:
    policy = make_replica_policy("prefix_affinity", random.Random(1))
    keys = [RoutingKey(prefix=f"prefix number {i}", session=None) for i in range(1000)]
    before = {k: policy.choose(replicas(4), k) for k in keys}
    remaining = [c for c in replicas(4) if c.replica_id != "r2"]
    after = {k: policy.choose(remaining, k) for k in keys}
    assert all(after[k] == before[k] for k in keys if before[k] != "r2")


def test_prefix_affinity_guard_leaves_an_overloaded_replica() -> None:
    policy = make_replica_policy("prefix_affinity", random.Random(1))
    key = RoutingKey(prefix="a long shared system prompt", session=None)
    affine = policy.choose(replicas(3), key)
    assert affine is not None

    def with_load(affine_load: int, others: int) -> list[ReplicaCandidate]:
        return [
            replica(c.replica_id, affine_load if c.replica_id == affine else others)
            for c in replicas(3)
        ]

    # Over both thresholds: absolute gap above BALANCE_ABS_THRESHOLD and over 1.5x.
    overloaded = with_load(BALANCE_ABS_THRESHOLD + 10, 5)
    assert policy.choose(overloaded, key) != affine
    # Gap exactly at the absolute threshold: stays.
    assert policy.choose(with_load(BALANCE_ABS_THRESHOLD, 0), key) == affine
    # Large absolute gap but under the relative threshold (high load everywhere): stays.
    assert policy.choose(with_load(200, 150), key) == affine
    # Busier, but by little: stays for its cache.
    assert policy.choose(with_load(6, 1), key) == affine


def test_prefix_affinity_without_a_prompt_goes_least_outstanding() -> None:
    policy = make_replica_policy("prefix_affinity", random.Random(1))
    candidates = [replica("a", 3), replica("b", 0), replica("c", 2)]
    assert policy.choose(candidates, NO_KEY) == "b"


def test_session_affinity_keeps_a_session_on_one_replica() -> None:
    policy = make_replica_policy("session_affinity", random.Random(1))
    for session in (f"user-{i}" for i in range(30)):
        key = RoutingKey(prefix="whatever", session=session)
        # Load does not move a session: its conversation's cache is there.
        busy = [replica(c.replica_id, outstanding=i * 10) for i, c in enumerate(replicas(3))]
        assert len({policy.choose(replicas(3), key), policy.choose(busy, key)}) == 1
    spread = {policy.choose(replicas(3), RoutingKey("", f"s{i}")) for i in range(100)}
    assert spread == {"r0", "r1", "r2"}


def test_session_affinity_without_a_session_goes_least_outstanding() -> None:
    policy = make_replica_policy("session_affinity", random.Random(1))
    candidates = [replica("a", 3), replica("b", 1), replica("c", 2)]
    assert policy.choose(candidates, RoutingKey("same prefix", None)) == "b"


def test_key_from_a_completion_prompt() -> None:
    long_prompt = "x" * (PREFIX_CHARS + 100)
    key = routing_key_from_request({"prompt": long_prompt}, {})
    assert key == RoutingKey(prefix="x" * PREFIX_CHARS, session=None)
    assert routing_key_from_request({"prompt": ["first", "second"]}, {}).prefix == "first"
    assert routing_key_from_request({"prompt": [1, 2, 3]}, {}).prefix == "1 2 3"
    assert routing_key_from_request({"prompt": [[7, 8], [9]]}, {}).prefix == "7 8"


def test_key_from_chat_messages() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "image_url"}]},
        ]
    }
    key = routing_key_from_request(body, {})
    assert key.prefix == "system: You are terse.\nuser: Hi\n"
    same_start = {"messages": [{"role": "system", "content": "s" * PREFIX_CHARS}]}
    other_question = {
        "messages": [*same_start["messages"], {"role": "user", "content": "different"}]
    }
    assert (
        routing_key_from_request(same_start, {}).prefix
        == routing_key_from_request(other_question, {}).prefix
    )


def test_key_without_any_prompt_is_empty() -> None:
    assert routing_key_from_request({"model": "m"}, {}) == NO_KEY
    assert routing_key_from_request({"messages": "not a list", "prompt": 5}, {}) == NO_KEY


def test_session_from_header_then_user() -> None:
    assert routing_key_from_request({"user": "u1"}, {}).session == "u1"
    headers = {"x-session-id": "h1"}
    assert routing_key_from_request({"user": "u1"}, headers).session == "h1"
    assert routing_key_from_request({}, {"X-Session-Id": "h2"}).session == "h2"
    assert routing_key_from_request({"user": 42}, {}).session is None
