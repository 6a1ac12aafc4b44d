"""Per host: reachable, disk_full, and the machine's own CPU, memory and disk. Label: host."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from fleetdeck.core.export.family_group import Gauges, flag
from fleetdeck.core.fleet.snapshot import FleetSnapshot, HostState

MIB = 1024.0 * 1024.0


def families(snapshot: FleetSnapshot) -> Iterator[Metric]:
    gauges = Gauges(["host"])
    gauges.declare(
        "host_reachable",
        "1 while fleetdeck reaches the host over SSH, 0 when it is unreachable "
        "(absent while the first connection is being made)",
    )
    gauges.declare(
        "host_disk_full",
        "1 while the host's state dir has less free space than the host program needs",
    )
    gauges.declare("host_cpu_ratio", "CPU busy, 0..1")
    gauges.declare("host_load1", "1-minute load average")
    gauges.declare("host_memory_used_bytes", "memory in use")
    gauges.declare("host_memory_total_bytes", "memory installed")
    gauges.declare("host_disk_free_bytes", "free space where the host keeps its state")
    for host in snapshot.hosts:
        labels = [host.name]
        if host.state is not HostState.CONNECTING:
            gauges.add("host_reachable", labels, flag(host.state is HostState.UP))
        gauges.add("host_disk_full", labels, flag(host.disk_full is not None))
        gauges.add("host_cpu_ratio", labels, _ratio(host.cpu_pct))
        gauges.add("host_load1", labels, host.load_1m)
        gauges.add("host_memory_used_bytes", labels, _bytes(host.memory_used_mib))
        gauges.add("host_memory_total_bytes", labels, _bytes(host.memory_total_mib))
        gauges.add("host_disk_free_bytes", labels, host.disk_free_bytes)
    yield from gauges


def _ratio(pct: float | None) -> float | None:
    return None if pct is None else pct / 100.0


def _bytes(mib: float | None) -> float | None:
    return None if mib is None else mib * MIB
