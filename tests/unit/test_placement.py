"""Placement by labels, free GPUs, spread and binpack (pure)."""

from __future__ import annotations

from fleetdeck.core.policy.placement import (
    HostCapacity,
    Placed,
    PlacementRequest,
    Unplaced,
    place,
    with_placed,
)


def host(
    name: str, gpus: int, *, zone: str = "eu", busy: int = 0, reachable: bool = True
) -> HostCapacity:
    uuids = tuple(f"GPU-{name}-{i}" for i in range(gpus))
    return HostCapacity(name, {"zone": zone}, reachable, uuids, frozenset(uuids[:busy]))


def request(gpus: int = 1, strategy: str = "spread", **labels: str) -> PlacementRequest:
    return PlacementRequest("llm", labels, strategy, gpus)


def test_spread_alternates_between_hosts() -> None:
    hosts = [host("a", 4), host("b", 4)]
    placed = []
    for _ in range(4):
        outcome = place(request(), hosts)
        assert isinstance(outcome, Placed)
        placed.append(outcome.host)
        hosts = with_placed(hosts, "llm", outcome)
    assert placed == ["a", "b", "a", "b"]


def test_binpack_fills_the_fullest_host_first() -> None:
    hosts = [host("a", 4), host("b", 4, busy=2)]
    outcome = place(request(strategy="binpack"), hosts)
    assert outcome == Placed("b", ("GPU-b-2",))


def test_busy_gpus_are_skipped_and_tensor_parallel_takes_several() -> None:
    outcome = place(request(gpus=2), [host("a", 4, busy=1)])
    assert outcome == Placed("a", ("GPU-a-1", "GPU-a-2"))


def test_label_miss_says_which_labels() -> None:
    outcome = place(request(zone="us"), [host("a", 4)])
    assert isinstance(outcome, Unplaced)
    assert "{'zone': 'us'}" in outcome.reason


def test_does_not_fit_names_the_numbers() -> None:
    outcome = place(request(gpus=4), [host("a", 4, busy=1), host("b", 2)])
    assert isinstance(outcome, Unplaced)
    assert "needs 4 free GPU(s)" in outcome.reason and "is 3" in outcome.reason


def test_unreachable_hosts_are_not_used() -> None:
    outcome = place(request(), [host("a", 4, reachable=False)])
    assert isinstance(outcome, Unplaced)
    assert "unreachable (a)" in outcome.reason


def test_cpu_replicas_need_no_gpu() -> None:
    assert place(request(gpus=0), [host("a", 0)]) == Placed("a", ())
