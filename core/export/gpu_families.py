"""Per GPU of each host: temperature, utilisation, memory and power, as the host program
read them (NVML, nvidia-smi or simulated). Labels: host, gpu (its index), uuid, name."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from fleetdeck.core.export.family_group import Gauges
from fleetdeck.core.export.host_families import MIB
from fleetdeck.core.fleet.snapshot import FleetSnapshot

LABELS = ("host", "gpu", "uuid", "name")


def families(snapshot: FleetSnapshot) -> Iterator[Metric]:
    gauges = Gauges(LABELS)
    gauges.declare("gpu_temperature_celsius", "GPU core temperature")
    gauges.declare("gpu_utilization_ratio", "time the GPU was busy, 0..1")
    gauges.declare("gpu_memory_used_bytes", "GPU memory in use, by every process")
    gauges.declare("gpu_memory_total_bytes", "GPU memory installed")
    gauges.declare("gpu_power_watts", "power draw")
    gauges.declare("gpu_power_limit_watts", "power limit")
    for host in snapshot.hosts:
        for gpu in host.gpus:
            labels = [host.name, str(gpu.index), gpu.uuid, gpu.name]
            gauges.add("gpu_temperature_celsius", labels, gpu.temperature_c)
            if gpu.utilization_pct is not None:
                gauges.add("gpu_utilization_ratio", labels, gpu.utilization_pct / 100.0)
            if gpu.memory_used_mib is not None:
                gauges.add("gpu_memory_used_bytes", labels, gpu.memory_used_mib * MIB)
            if gpu.memory_total_mib is not None:
                gauges.add("gpu_memory_total_bytes", labels, gpu.memory_total_mib * MIB)
            gauges.add("gpu_power_watts", labels, gpu.power_w)
            gauges.add("gpu_power_limit_watts", labels, gpu.power_limit_w)
    yield from gauges
