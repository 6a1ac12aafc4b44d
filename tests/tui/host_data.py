"""A fixed fleet of hosts for the hosts screens' tests: every state and GPU source once.

gpu-a reads NVML: a hot and a warm H100, our replicas and a foreign tenant on them.
gpu-b reads nvidia-smi: A10s that do not report power or a process's memory.
gpu-c is simulated and idle; gpu-d has no GPU source (the driver is not loaded);
gpu-e is unreachable and gpu-f still connecting.
"""

from __future__ import annotations

from fleetdeck.core.fleet.snapshot import (
    FleetSnapshot,
    GpuProcessSnapshot,
    GpuSnapshot,
    HostSnapshot,
    HostState,
)
from tests.tui.fleet_data import llama

GIB = 1024**3


def ours(pid: int, mib: float | None, replica: str) -> GpuProcessSnapshot:
    deployment = replica.partition("/")[0]
    return GpuProcessSnapshot(
        pid=pid, memory_mib=mib, ours=True, replica=replica, deployment=deployment
    )


def foreign(pid: int | None, mib: float | None) -> GpuProcessSnapshot:
    return GpuProcessSnapshot(pid=pid, memory_mib=mib)


def nvml_host() -> HostSnapshot:
    gpus = (
        GpuSnapshot(
            index=0, uuid="GPU-a0", name="NVIDIA H100 80GB HBM3", temperature_c=86.0,
            utilization_pct=97.0, memory_used_mib=78000.0, memory_total_mib=81559.0,
            power_w=688.4, power_limit_w=700.0,
            processes=(ours(4242, 70000.0, "llama8b/r0"), foreign(31337, 8000.0)),
        ),
        GpuSnapshot(
            index=1, uuid="GPU-a1", name="NVIDIA H100 80GB HBM3", temperature_c=74.0,
            utilization_pct=42.5, memory_used_mib=40960.0, memory_total_mib=81559.0,
            power_w=301.0, power_limit_w=700.0,
            processes=(ours(4343, 40960.0, "llama8b/r2"),),
        ),
    )  # fmt: skip
    return HostSnapshot(
        name="gpu-a", address="10.0.0.11", state=HostState.UP, gpus=gpus,
        cpu_pct=37.2, cpu_count=64, load_1m=4.12, load_5m=3.5, load_15m=2.98,
        memory_used_mib=196608.0, memory_total_mib=515072.0,
        disk_path="/var/lib/fleetdeck", disk_used_bytes=612 * GIB,
        disk_total_bytes=1800 * GIB, disk_free_bytes=1096 * GIB,
        net_rx_bytes_s=12.5 * 1024**2, net_tx_bytes_s=830 * 1024,
        lease_holder="alice@laptop:4711", lease_expires_at=1030.0, observed_at=1000.0,
        gpu_source="nvml",
    )  # fmt: skip


def smi_host() -> HostSnapshot:
    gpus = tuple(
        GpuSnapshot(
            index=i, uuid=f"GPU-b{i}", name="NVIDIA A10", temperature_c=55.0 + i,
            utilization_pct=None if i else 3.0, memory_used_mib=1024.0 * i,
            memory_total_mib=23028.0, power_w=None, power_limit_w=None,
            processes=(foreign(None, None),) if i else (),
        )
        for i in range(2)
    )  # fmt: skip
    return HostSnapshot(
        name="gpu-b", address="10.0.0.12", state=HostState.UP, gpus=gpus,
        cpu_pct=4.0, cpu_count=16, load_1m=0.2, load_5m=0.1, load_15m=0.05,
        memory_used_mib=8192.0, memory_total_mib=64000.0,
        disk_path="/home/ops/.fleetdeck", disk_used_bytes=40 * GIB,
        disk_total_bytes=200 * GIB, disk_free_bytes=150 * GIB,
        net_rx_bytes_s=0.0, net_tx_bytes_s=512.0, observed_at=2000.0,
        gpu_source="nvidia-smi",
    )  # fmt: skip


def simulated_host() -> HostSnapshot:
    gpus = (
        GpuSnapshot(
            index=0, uuid="GPU-c0", name="NVIDIA A100-SXM4-80GB", temperature_c=31.0,
            utilization_pct=0.0, memory_used_mib=0.0, memory_total_mib=81920.0,
            power_w=70.0, power_limit_w=700.0,
        ),
    )  # fmt: skip
    return HostSnapshot(
        name="gpu-c", address="localhost", state=HostState.UP, gpus=gpus,
        cpu_pct=1.0, cpu_count=2, load_1m=0.0, memory_used_mib=512.0,
        memory_total_mib=2048.0, observed_at=5.0, gpu_source="simulated",
    )  # fmt: skip


def no_gpu_host() -> HostSnapshot:
    return HostSnapshot(
        name="gpu-d", address="10.0.0.14", state=HostState.UP, cpu_pct=0.5, cpu_count=8,
        load_1m=0.01, memory_used_mib=900.0, memory_total_mib=32000.0, observed_at=7.0,
        gpu_source="none", gpu_error="nvidia-smi: NVIDIA-SMI has failed because it couldn't "
        "communicate with the NVIDIA driver",
    )  # fmt: skip


def host_fleet(taken_at: float = 1.0) -> FleetSnapshot:
    return FleetSnapshot(
        fleet="lab",
        taken_at=taken_at,
        hosts=(
            nvml_host(),
            smi_host(),
            simulated_host(),
            no_gpu_host(),
            HostSnapshot(
                name="gpu-e",
                address="10.0.0.15",
                state=HostState.UNREACHABLE,
                error="ssh: connect to 10.0.0.15 port 22: Connection refused",
            ),
            HostSnapshot(name="gpu-f", address="10.0.0.16", state=HostState.CONNECTING),
        ),
        deployments=(llama(),),
    )
