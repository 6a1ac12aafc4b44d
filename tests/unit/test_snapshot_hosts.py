"""What a host reported, as the snapshot carries it to the hosts screens and `status --json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from fleetdeck.core.fleet.snapshot import GpuProcessSnapshot, HostSnapshot, HostState
from fleetdeck.core.fleet.snapshot_builder import HostView, build_snapshot
from fleetdeck.core.inventory import Inventory, parse_inventory
from fleetdeck.hosts.errors import HostError
from fleetdeck.hosts.observations import HostObservation

OBSERVATION = TypeAdapter(HostObservation)

INVENTORY = """
[fleet]
name = "t"
[[hosts]]
name = "a"
transport = "local"
simulate = { gpus = 2 }
[[deployments]]
name = "llm"
model = "m"
replicas = 1
"""

REPLICA: dict[str, Any] = {
    "deployment": "llm",
    "replica": "a-0",
    "port": 8100,
    "bind_host": "127.0.0.1",
    "spec_hash": "h",
    "gpu_uuids": ["GPU-0"],
    "pid": 4242,
    "alive": True,
    "wrapper_alive": True,
    "healthy": True,
    "stop_requested": False,
    "exits": [],
    "started_at": None,
    "created_at": None,
    "log_size": 0,
    "log_tail": [],
}


def gpu(index: int, *processes: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": index,
        "uuid": f"GPU-{index}",
        "name": "NVIDIA H100 80GB HBM3",
        "temperature_c": 61.0,
        "utilization_pct": 87.0,
        "memory_used_mib": 70000.0,
        "memory_total_mib": 81559.0,
        "power_w": 512.5,
        "power_limit_w": 700.0,
        "processes": list(processes),
    }


def observation(**changes: Any) -> HostObservation:
    data: dict[str, Any] = {
        "time": 1000.0,
        "replicas": [REPLICA],
        "gpus": [
            gpu(
                0,
                {"pid": 4242, "memory_mib": 65000.0, "ours": True, "replica": "llm/a-0"},
                {"pid": 777, "memory_mib": 5000.0},
            ),
            gpu(1, {"pid": 9, "memory_mib": None, "ours": True, "replica": "gone/r3"}),
        ],
        "gpu_source": "nvml",
        "load": {
            "cpu_pct": 12.5,
            "load_1m": 0.5,
            "memory_used_mib": 1000.0,
            "memory_total_mib": 64000.0,
            "load_5m": 0.75,
            "load_15m": 1.25,
            "cpu_count": 16,
            "disk_path": "/srv/fleetdeck",
            "disk_used_bytes": 300,
            "disk_total_bytes": 1000,
            "disk_free_bytes": 650,
            "net_rx_bytes_s": 2048.0,
            "net_tx_bytes_s": 512.0,
        },
        "lease": {"holder": "alice@laptop:42", "expires_at": 1015.0},
    }
    data.update(changes)
    return OBSERVATION.validate_python(data)


def inventory() -> Inventory:
    return parse_inventory(INVENTORY, Path("fleet.toml"))


def host(view: HostView) -> HostSnapshot:
    snapshot = build_snapshot(
        inventory(), {"a": view}, last_active={}, pending=(), desired={}, now=1000.0
    )
    (only,) = snapshot.hosts
    return only


def up(obs: HostObservation) -> HostSnapshot:
    return host(HostView(HostState.UP, obs, None))


def test_host_load_lease_and_gpu_source_are_carried() -> None:
    shown = up(observation())
    assert (shown.cpu_pct, shown.cpu_count) == (12.5, 16)
    assert (shown.load_1m, shown.load_5m, shown.load_15m) == (0.5, 0.75, 1.25)
    assert (shown.memory_used_mib, shown.memory_total_mib) == (1000.0, 64000.0)
    assert shown.disk_path == "/srv/fleetdeck"
    assert (shown.disk_used_bytes, shown.disk_total_bytes, shown.disk_free_bytes) == (
        300,
        1000,
        650,
    )
    assert (shown.net_rx_bytes_s, shown.net_tx_bytes_s) == (2048.0, 512.0)
    assert (shown.lease_holder, shown.lease_expires_at) == ("alice@laptop:42", 1015.0)
    assert shown.observed_at == 1000.0
    assert (shown.gpu_source, shown.gpu_error) == ("nvml", None)


def test_gpu_power_and_processes_ours_with_deployment_or_foreign() -> None:
    first, second = up(observation()).gpus
    assert (first.power_w, first.power_limit_w) == (512.5, 700.0)
    assert first.processes == (
        GpuProcessSnapshot(
            pid=4242, memory_mib=65000.0, ours=True, replica="llm/a-0", deployment="llm"
        ),
        GpuProcessSnapshot(pid=777, memory_mib=5000.0),
    )
    # A replica the host no longer lists: its deployment is read from the id itself.
    assert second.processes == (
        GpuProcessSnapshot(pid=9, memory_mib=None, ours=True, replica="gone/r3", deployment="gone"),
    )


def test_an_expired_lease_names_nobody() -> None:
    shown = up(observation(lease={"holder": "bob@ci:7", "expires_at": 999.0}))
    assert (shown.lease_holder, shown.lease_expires_at) == (None, None)


def test_no_gpu_source_says_why() -> None:
    shown = up(observation(gpus=[], gpu_source="none", gpu_error="NVML: driver not loaded"))
    assert (shown.gpu_source, shown.gpu_error, shown.gpus) == (
        "none",
        "NVML: driver not loaded",
        (),
    )


def test_an_unreachable_host_keeps_its_error_and_reports_nothing_else() -> None:
    shown = host(HostView(HostState.UNREACHABLE, None, HostError("ssh: connection refused")))
    assert shown.error == "ssh: connection refused"
    assert (shown.gpu_source, shown.cpu_count, shown.observed_at, shown.gpus) == (
        None,
        None,
        None,
        (),
    )


def test_older_readers_json_gains_fields_and_loses_none() -> None:
    """`status --json` only gains keys: what it had before is still there, same values."""
    document = json.loads(json.dumps(up(observation()).model_dump(mode="json")))
    assert {"name", "address", "state", "error", "gpus", "cpu_pct", "load_1m"} <= set(document)
    assert document["lease_holder"] == "alice@laptop:42"
    assert document["gpus"][0]["processes"][1] == {
        "pid": 777,
        "memory_mib": 5000.0,
        "ours": False,
        "replica": None,
        "deployment": None,
    }
    # A snapshot written by an older fleetdeck (no new keys) still reads.
    old_gpu = gpu(0)
    del old_gpu["processes"]
    old = {"name": "a", "address": "local", "state": "up", "gpus": [old_gpu]}
    assert HostSnapshot.model_validate(old).gpus[0].processes == ()


def test_a_full_state_dir_is_the_hosts_error_and_every_replicas_reason() -> None:
    reason = "state dir /srv/fleetdeck: 0 B free of 1.0 MiB (below 10.2 KiB)"
    snapshot = build_snapshot(
        inventory(),
        {"a": HostView(HostState.UP, observation(disk_full=reason), None)},
        last_active={},
        pending=(),
        desired={},
        now=1000.0,
    )
    (shown,) = snapshot.hosts
    assert shown.disk_full == reason and shown.error == f"disk full: {reason}"
    ((replica,),) = [d.replicas for d in snapshot.deployments]
    assert replica.reason is not None and replica.reason.startswith("disk full")
    roomy = up(observation())
    assert roomy.disk_full is None and roomy.error is None
