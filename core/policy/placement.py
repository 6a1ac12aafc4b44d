"""Where new replicas go: host labels, free GPUs by UUID, spread or binpack (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

UNREACHABLE = "every matching host is unreachable"


@dataclass(frozen=True)
class HostCapacity:
    name: str
    labels: Mapping[str, str]
    reachable: bool
    gpu_uuids: tuple[str, ...]  # every GPU on the host, in index order
    busy_gpu_uuids: frozenset[str] = frozenset()  # held by our replicas or foreign tenants
    replicas_of: Mapping[str, int] = field(default_factory=dict)  # deployment -> count here


@dataclass(frozen=True)
class PlacementRequest:
    deployment: str
    labels: Mapping[str, str]
    strategy: str  # "spread" | "binpack"
    gpus_needed: int


@dataclass(frozen=True)
class Placed:
    host: str
    gpu_uuids: tuple[str, ...]


@dataclass(frozen=True)
class Unplaced:
    reason: str


def place(request: PlacementRequest, hosts: Sequence[HostCapacity]) -> Placed | Unplaced:
    """One replica's placement; call again with updated capacities for the next one."""
    reachable = _reachable_matching(request, hosts)
    if isinstance(reachable, Unplaced):
        return reachable
    fitting = [(h, _free_gpus(h)) for h in reachable]
    fitting = [(h, free) for h, free in fitting if len(free) >= request.gpus_needed]
    if not fitting:
        best = max(len(_free_gpus(h)) for h in reachable)
        return Unplaced(
            f"does not fit: needs {request.gpus_needed} free GPU(s) on one host, "
            f"the most free on a matching host is {best}"
        )
    host, free = min(fitting, key=_preference(request))
    return Placed(host.name, tuple(free[: request.gpus_needed]))


def _reachable_matching(
    request: PlacementRequest, hosts: Sequence[HostCapacity]
) -> list[HostCapacity] | Unplaced:
    """The reachable hosts whose labels match, or why there are none."""
    matching = [h for h in hosts if _labels_match(request.labels, h.labels)]
    if not matching:
        return Unplaced(f"no host has labels {dict(request.labels)}")
    reachable = [h for h in matching if h.reachable]
    if not reachable:
        names = ", ".join(h.name for h in matching)
        return Unplaced(f"{UNREACHABLE} ({names})")
    return reachable


def _preference(
    request: PlacementRequest,
) -> Callable[[tuple[HostCapacity, list[str]]], tuple[int | str, ...]]:
    """The order hosts (with their free GPUs) are preferred in, best first: spread puts
    the deployment's replicas on the host with fewest of them, then the most free GPUs;
    binpack fills the host with the fewest free GPUs that still fit."""

    def spread_key(item: tuple[HostCapacity, list[str]]) -> tuple[int | str, ...]:
        host, free = item
        return (host.replicas_of.get(request.deployment, 0), -len(free), host.name)

    def binpack_key(item: tuple[HostCapacity, list[str]]) -> tuple[int | str, ...]:
        host, free = item
        return (len(free), host.name)

    return binpack_key if request.strategy == "binpack" else spread_key


def with_placed(
    hosts: Sequence[HostCapacity], deployment: str, placed: Placed
) -> list[HostCapacity]:
    """Capacities after a placement, so the next replica sees the GPUs taken."""
    updated = []
    for host in hosts:
        if host.name == placed.host:
            counts = dict(host.replicas_of)
            counts[deployment] = counts.get(deployment, 0) + 1
            host = HostCapacity(
                host.name,
                host.labels,
                host.reachable,
                host.gpu_uuids,
                host.busy_gpu_uuids | frozenset(placed.gpu_uuids),
                counts,
            )
        updated.append(host)
    return updated


def _free_gpus(host: HostCapacity) -> list[str]:
    return [uuid for uuid in host.gpu_uuids if uuid not in host.busy_gpu_uuids]


def _labels_match(wanted: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in wanted.items())


@dataclass(frozen=True)
class PlacedGroup:
    """One replica over several hosts (a Ray cluster): the head first, then the workers,
    each with the GPUs it holds, gpus_per_node of them."""

    members: tuple[Placed, ...]

    @property
    def head(self) -> Placed:
        return self.members[0]


def place_group(
    request: PlacementRequest, nodes: int, hosts: Sequence[HostCapacity]
) -> PlacedGroup | Unplaced:
    """A replica over `nodes` distinct hosts, request.gpus_needed split evenly over them.

    Spread picks the hosts with the fewest replicas of this deployment (then the most
    free GPUs); binpack the hosts with the fewest free GPUs that still fit, so whole
    hosts stay free for other groups. The head is the first host picked.
    """
    if nodes < 1 or request.gpus_needed % nodes != 0:
        return Unplaced(f"{request.gpus_needed} GPU(s) do not split evenly over {nodes} hosts")
    per_node = request.gpus_needed // nodes
    reachable = _reachable_matching(request, hosts)
    if isinstance(reachable, Unplaced):
        return reachable
    fitting = [(h, free) for h in reachable if len(free := _free_gpus(h)) >= per_node]
    if len(fitting) < nodes:
        return Unplaced(
            f"does not fit: needs {nodes} hosts with {per_node} free GPU(s) each,"
            f" {len(fitting)} matching host(s) have that many"
        )
    chosen = sorted(fitting, key=_preference(request))[:nodes]
    return PlacedGroup(tuple(Placed(host.name, tuple(free[:per_node])) for host, free in chosen))


def with_placed_group(
    hosts: Sequence[HostCapacity], deployment: str, group: PlacedGroup
) -> list[HostCapacity]:
    """Capacities after a group placement: each member host's GPUs taken, and the
    replica counted once on each of its hosts (so spread moves the next group on)."""
    updated = list(hosts)
    for member in group.members:
        updated = with_placed(updated, deployment, member)
    return updated
