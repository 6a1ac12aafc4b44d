"""A replica over several hosts (Ray): N distinct hosts, GPUs split evenly (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from fleetdeck.core.inventory import parse_inventory
from fleetdeck.core.inventory.models import Deployment
from fleetdeck.core.policy.placement import (
    HostCapacity,
    Placed,
    PlacedGroup,
    PlacementRequest,
    Unplaced,
    place_group,
    with_placed_group,
)
from fleetdeck.core.policy.plan import make_plan
from tests.unit.test_plan_and_status import host_obs


def host(
    name: str, gpus: int, *, zone: str = "eu", busy: int = 0, reachable: bool = True
) -> HostCapacity:
    uuids = tuple(f"GPU-{name}-{i}" for i in range(gpus))
    return HostCapacity(name, {"zone": zone}, reachable, uuids, frozenset(uuids[:busy]))


def request(gpus: int, strategy: str = "spread", **labels: str) -> PlacementRequest:
    return PlacementRequest("big", labels, strategy, gpus)


def test_four_gpus_over_two_hosts_take_two_uuids_on_each() -> None:
    outcome = place_group(request(4), 2, [host("a", 2), host("b", 2)])
    assert outcome == PlacedGroup(
        (Placed("a", ("GPU-a-0", "GPU-a-1")), Placed("b", ("GPU-b-0", "GPU-b-1")))
    )
    assert outcome.head == Placed("a", ("GPU-a-0", "GPU-a-1"))


def test_busy_gpus_are_skipped_on_every_member() -> None:
    outcome = place_group(request(2), 2, [host("a", 2, busy=1), host("b", 2, busy=1)])
    assert outcome == PlacedGroup((Placed("a", ("GPU-a-1",)), Placed("b", ("GPU-b-1",))))


def test_labels_pick_the_members() -> None:
    hosts = [host("a", 2, zone="us"), host("b", 2), host("c", 2)]
    outcome = place_group(request(4, zone="eu"), 2, hosts)
    assert isinstance(outcome, PlacedGroup)
    assert [member.host for member in outcome.members] == ["b", "c"]


def test_a_host_without_enough_free_gpus_is_not_a_member() -> None:
    outcome = place_group(request(4), 2, [host("a", 2), host("b", 2, busy=1), host("c", 2)])
    assert isinstance(outcome, PlacedGroup)
    assert [member.host for member in outcome.members] == ["a", "c"]


def test_too_few_hosts_says_how_many_fit() -> None:
    outcome = place_group(request(4), 2, [host("a", 2), host("b", 2, busy=1)])
    assert outcome == Unplaced(
        "does not fit: needs 2 hosts with 2 free GPU(s) each, 1 matching host(s) have that many"
    )


def test_unreachable_hosts_are_named() -> None:
    outcome = place_group(request(4), 2, [host("a", 2, reachable=False)])
    assert isinstance(outcome, Unplaced)
    assert "unreachable (a)" in outcome.reason


def test_uneven_split_is_refused() -> None:
    assert place_group(request(3), 2, [host("a", 4), host("b", 4)]) == Unplaced(
        "3 GPU(s) do not split evenly over 2 hosts"
    )


def test_spread_moves_the_next_group_to_other_hosts() -> None:
    hosts = [host("a", 4), host("b", 4), host("c", 4), host("d", 4)]
    first = place_group(request(4), 2, hosts)
    assert isinstance(first, PlacedGroup)
    hosts = with_placed_group(hosts, "big", first)
    second = place_group(request(4), 2, hosts)
    assert isinstance(second, PlacedGroup)
    assert {m.host for m in first.members} == {"a", "b"}
    assert {m.host for m in second.members} == {"c", "d"}


def test_binpack_fills_hosts_before_taking_empty_ones() -> None:
    hosts = [host("a", 4), host("b", 4, busy=2), host("c", 4, busy=2)]
    outcome = place_group(request(4, strategy="binpack"), 2, hosts)
    assert isinstance(outcome, PlacedGroup)
    assert [m.host for m in outcome.members] == ["b", "c"]


def test_the_gpus_taken_by_a_group_are_busy_afterwards() -> None:
    hosts = [host("a", 2), host("b", 2)]
    group = place_group(request(4), 2, hosts)
    assert isinstance(group, PlacedGroup)
    after = with_placed_group(hosts, "big", group)
    assert place_group(request(4), 2, after) == Unplaced(
        "does not fit: needs 2 hosts with 2 free GPU(s) each, 0 matching host(s) have that many"
    )
    assert all(h.replicas_of == {"big": 1} for h in after)


def deployment(**fields: object) -> Deployment:
    return Deployment.model_validate({"name": "big", "model": "m", **fields})


def test_gpus_per_node_divides_tensor_times_pipeline_parallel() -> None:
    big = deployment(nodes=2, vllm={"tensor_parallel_size": 2, "pipeline_parallel_size": 2})
    assert (big.gpus_needed, big.gpus_per_node) == (4, 2)
    assert deployment().nodes == 1 and deployment().gpus_per_node == 1


@pytest.mark.parametrize(
    "fields",
    [{"nodes": 2, "gpus_per_replica": 0}, {"nodes": 2, "gpus_per_replica": 3}, {"nodes": 4}],
)
def test_nodes_that_cannot_split_the_gpus_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        deployment(**fields)


MULTI_NODE = """
[fleet]
name = "t"
[[hosts]]
name = "a"
transport = "local"
simulate = { gpus = 2 }
[[hosts]]
name = "b"
transport = "local"
simulate = { gpus = 2 }
[[deployments]]
name = "big"
model = "m"
nodes = 2
[deployments.vllm]
tensor_parallel_size = 2
pipeline_parallel_size = 2
"""


def test_the_plan_names_the_hosts_but_starts_nothing_until_ray_launch_exists() -> None:
    inventory = parse_inventory(MULTI_NODE, Path("fleet.toml"))
    plan = make_plan(inventory, {"a": host_obs("a"), "b": host_obs("b")}, {})
    assert plan.actions == ()
    assert [u.reason for u in plan.unschedulable] == [
        "a replica over 2 hosts would run on a, b; launching replicas over several hosts (Ray)"
        " is not supported yet"
    ]


def test_the_plan_says_why_a_group_does_not_fit() -> None:
    inventory = parse_inventory(MULTI_NODE, Path("fleet.toml"))
    plan = make_plan(inventory, {"a": host_obs("a"), "b": None}, {})
    assert plan.actions == ()
    assert plan.unschedulable[0].reason.startswith("does not fit: needs 2 hosts")
