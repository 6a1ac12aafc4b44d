"""Where new replicas go: host labels, free GPUs by UUID, spread or binpack (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    matching = [h for h in hosts if _labels_match(request.labels, h.labels)]
    if not matching:
        return Unplaced(f"no host has labels {dict(request.labels)}")
    reachable = [h for h in matching if h.reachable]
    if not reachable:
        names = ", ".join(h.name for h in matching)
        return Unplaced(f"{UNREACHABLE} ({names})")
    fitting = [(h, _free_gpus(h)) for h in reachable]
    fitting = [(h, free) for h, free in fitting if len(free) >= request.gpus_needed]
    if not fitting:
        best = max(len(_free_gpus(h)) for h in reachable)
        return Unplaced(
            f"does not fit: needs {request.gpus_needed} free GPU(s) on one host, "
            f"the most free on a matching host is {best}"
        )

    def spread_key(item: tuple[HostCapacity, list[str]]) -> tuple[int, int, str]:
        host, free = item
        return (host.replicas_of.get(request.deployment, 0), -len(free), host.name)

    def binpack_key(item: tuple[HostCapacity, list[str]]) -> tuple[int, str]:
        host, free = item
        return (len(free), host.name)

    key = binpack_key if request.strategy == "binpack" else spread_key
    host, free = min(fitting, key=key)
    return Placed(host.name, tuple(free[: request.gpus_needed]))


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
