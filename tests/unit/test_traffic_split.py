"""The endpoint's split between backends, its stickiness and its shadow fraction."""

from __future__ import annotations

from collections import Counter

from fleetdeck.core.policy.traffic_split import next_arm, shadow_due, sticky_arm


def run_split(weights: list[tuple[str, float]], count: int) -> Counter[str]:
    credit: dict[str, float] = {}
    seen: Counter[str] = Counter()
    for _ in range(count):
        arm, credit = next_arm(weights, credit)
        assert arm is not None
        seen[arm] += 1
    return seen


def test_a_weighted_split_is_exact_and_interleaved() -> None:
    assert run_split([("v1", 90), ("v2", 10)], 1000) == {"v1": 900, "v2": 100}
    assert run_split([("a", 1), ("b", 1), ("c", 1)], 9) == {"a": 3, "b": 3, "c": 3}
    credit: dict[str, float] = {}
    order = []
    for _ in range(10):
        arm, credit = next_arm([("v1", 90), ("v2", 10)], credit)
        order.append(arm)
    assert order.count("v2") == 1 and order[0] == "v1"  # not a burst of v2 first


def test_arms_of_weight_zero_get_nothing_and_none_means_no_arm() -> None:
    assert run_split([("blue", 0), ("green", 100)], 50) == {"green": 50}
    assert next_arm([("blue", 0)], {}) == (None, {})
    assert sticky_arm([("blue", 0)], "k") is None


def test_a_sticky_key_keeps_its_arm_and_keys_spread_by_weight() -> None:
    weights = [("v1", 90.0), ("v2", 10.0)]
    assert all(sticky_arm(weights, f"user-{i}") == sticky_arm(weights, f"user-{i}")
               for i in range(100))  # fmt: skip
    share = Counter(sticky_arm(weights, f"user-{i}") for i in range(10_000))
    assert 8_800 < share["v1"] < 9_200
    # Moving weight to v2 moves only keys from v1 to v2, never the other way.
    before = {i: sticky_arm(weights, f"user-{i}") for i in range(2_000)}
    after = {i: sticky_arm([("v1", 50.0), ("v2", 50.0)], f"user-{i}") for i in range(2_000)}
    assert all(after[i] == "v2" for i in before if before[i] == "v2")


def test_a_shadow_fraction_is_exact() -> None:
    owed = 0.0
    shadowed = 0
    for _ in range(1000):
        due, owed = shadow_due(0.2, owed)
        shadowed += due
    assert shadowed == 200
    assert shadow_due(0.0, 0.0) == (False, 0.0)
    assert shadow_due(1.0, 0.0)[0]
