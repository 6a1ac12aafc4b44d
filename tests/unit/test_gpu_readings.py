"""The host agent's readings: GPUs (NVML, nvidia-smi, none), our processes, host load.

nvidia-smi is a real executable here (a shell script printing the captured-format
samples in tests/fixtures/nvidia-smi); NVML is a small fake `pynvml` module put in
sys.modules, which tests our parsing of what pynvml returns, not a server. GPU processes
are told apart with real processes carrying (or not) our marker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fleetdeck.hosts.observations import HostObservation, read_message
from fleetdeck.hosts.remote import gpus, hostload, layout, observe
from fleetdeck.hosts.remote.protocol import GpuProcess, GpuReading, HostLoad, encode

FIXTURES = Path(__file__).parent.parent / "fixtures" / "nvidia-smi"
DRIVER_NOT_LOADED = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running."
)


def fake_smi(directory: Path, gpu_csv: str, apps_csv: str, *, fail: str = "") -> Path:
    """An `nvidia-smi` on PATH in `directory` that prints fixture files, or fails."""
    script = directory / "nvidia-smi"
    if fail:
        body = f"echo {fail!r}\necho\nexit 9\n"
    else:
        body = (
            'case "$1" in\n'
            f"  --query-gpu=*) cat '{FIXTURES / gpu_csv}' ;;\n"
            f"  --query-compute-apps=*) cat '{FIXTURES / apps_csv}' ;;\n"
            "  *) exit 2 ;;\n"
            "esac\n"
        )
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


# --- nvidia-smi -------------------------------------------------------------------


def test_smi_csv_with_normal_values() -> None:
    readings = gpus.parse_smi_gpus((FIXTURES / "query-gpu-h100x4.csv").read_text())
    assert len(readings) == 4
    assert readings[1] == GpuReading(
        index=1,
        uuid="GPU-8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        name="NVIDIA H100 80GB HBM3",
        temperature_c=52.0,
        utilization_pct=97.0,
        memory_used_mib=73440.0,
        memory_total_mib=81559.0,
        power_w=612.47,
        power_limit_w=700.0,
        processes=(),
    )


def test_smi_fields_a_gpu_lacks_read_as_none() -> None:
    readings = gpus.parse_smi_gpus((FIXTURES / "query-gpu-not-supported.csv").read_text())
    rtx, t4, a100 = readings
    assert (rtx.power_w, rtx.power_limit_w) == (None, None)
    assert (rtx.temperature_c, rtx.memory_used_mib) == (44.0, 512.0)
    assert (t4.temperature_c, t4.utilization_pct, t4.power_w) == (None, None, 27.41)
    assert a100.utilization_pct is None and a100.memory_total_mib is None
    assert a100.power_limit_w == 400.0


def test_smi_name_with_a_comma_and_junk_lines() -> None:
    text = "No devices were found\n0, GPU-1, Odd, Name, 40, 1, 2, 3, 4.5, 5\n\n"
    (reading,) = gpus.parse_smi_gpus(text)
    assert reading.name == "Odd, Name" and reading.temperature_c == 40.0
    assert reading.power_limit_w == 5.0


def test_smi_compute_apps_by_gpu_uuid() -> None:
    apps = gpus.parse_smi_apps((FIXTURES / "query-compute-apps.csv").read_text())
    assert apps["GPU-8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"] == [
        GpuProcess(pid=412733, memory_mib=72800.0),
        GpuProcess(pid=412790, memory_mib=512.0),
    ]
    assert apps["GPU-deadbeef-aaaa-4bbb-8ccc-dddddddddddd"] == [GpuProcess(10422, None)]
    assert gpus.parse_smi_apps("No running processes found\n") == {}


def test_smi_readings_carry_their_processes(tmp_path: Path) -> None:
    script = fake_smi(tmp_path, "query-gpu-h100x4.csv", "query-compute-apps.csv")
    readings, error = gpus.smi_gpus(str(script))
    assert error is None and readings is not None
    by_index = {r.index: r.processes for r in readings}
    assert by_index[0] == ()
    assert [p.pid for p in by_index[1]] == [412733, 412790]
    assert by_index[2] == (GpuProcess(pid=9921, memory_mib=39600.0),)


def test_smi_with_the_driver_not_loaded(tmp_path: Path) -> None:
    script = fake_smi(tmp_path, "", "", fail=DRIVER_NOT_LOADED)
    readings, error = gpus.smi_gpus(str(script))
    assert readings is None
    assert error == f"nvidia-smi: {DRIVER_NOT_LOADED} (exit 9)"


def test_smi_missing_is_a_cpu_host_not_an_error(tmp_path: Path) -> None:
    assert gpus.smi_gpus(str(tmp_path / "nvidia-smi")) == (None, None)


# --- NVML ---------------------------------------------------------------------------


class NVMLError(Exception):
    pass


def fake_pynvml(*, init_error: str | None = None, count_error: str | None = None) -> Any:
    """What pynvml hands back, for two GPUs: bytes names (old pynvml) on the first."""
    module: Any = types.ModuleType("pynvml")
    module.NVMLError = NVMLError
    module.calls = []

    def init() -> None:
        module.calls.append("init")
        if init_error:
            raise NVMLError(init_error)

    def count() -> int:
        if count_error:
            raise NVMLError(count_error)
        return 2

    def power(handle: int) -> int:
        if handle == 1:
            raise NVMLError("Not Supported")
        return 312_500  # milliwatts

    def processes(handle: int) -> list[Any]:
        if handle == 1:
            return []
        return [
            types.SimpleNamespace(pid=4242, usedGpuMemory=70 * 1024 * 1048576),
            types.SimpleNamespace(pid=4343, usedGpuMemory=None),  # NVML_VALUE_NOT_AVAILABLE
        ]

    module.nvmlInit = init
    module.nvmlShutdown = lambda: module.calls.append("shutdown")
    module.nvmlDeviceGetCount = count
    module.nvmlDeviceGetHandleByIndex = lambda index: index
    module.nvmlDeviceGetName = lambda h: b"NVIDIA A100-SXM4-80GB" if h == 0 else "NVIDIA L4"
    module.nvmlDeviceGetUUID = lambda h: f"GPU-nvml-{h}"
    module.nvmlDeviceGetTemperature = lambda h, sensor: 41 + h
    module.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=77, memory=30)
    module.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(
        used=1024 * 1048576, total=81920 * 1048576, free=80896 * 1048576
    )
    module.nvmlDeviceGetPowerUsage = power
    module.nvmlDeviceGetEnforcedPowerLimit = lambda h: 400_000
    module.nvmlDeviceGetComputeRunningProcesses = processes
    return module


@pytest.fixture
def fresh_nvml(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(gpus, "NVML", gpus.NvmlReader())
    yield


def use_pynvml(monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
    # None in sys.modules makes `import pynvml` raise ImportError: NVML missing.
    monkeypatch.setitem(sys.modules, "pynvml", module)


def use_path(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    monkeypatch.setenv("PATH", f"{directory}:/usr/bin:/bin")


def test_nvml_readings(monkeypatch: pytest.MonkeyPatch, fresh_nvml: None) -> None:
    use_pynvml(monkeypatch, fake_pynvml())
    readings, source, error = gpus.read_gpus(None, "h", [])
    assert (source, error) == ("nvml", None)
    first, second = readings
    assert first == GpuReading(
        index=0,
        uuid="GPU-nvml-0",
        name="NVIDIA A100-SXM4-80GB",
        temperature_c=41.0,
        utilization_pct=77.0,
        memory_used_mib=1024.0,
        memory_total_mib=81920.0,
        power_w=312.5,
        power_limit_w=400.0,
        processes=(GpuProcess(pid=4242, memory_mib=71680.0), GpuProcess(pid=4343, memory_mib=None)),
    )
    assert second.name == "NVIDIA L4" and second.power_w is None  # Not Supported
    assert second.power_limit_w == 400.0


def test_nvml_is_initialised_once(monkeypatch: pytest.MonkeyPatch, fresh_nvml: None) -> None:
    module = fake_pynvml()
    use_pynvml(monkeypatch, module)
    for _ in range(3):
        gpus.read_gpus(None, "h", [])
    assert module.calls == ["init"]


def test_nvml_missing_and_no_nvidia_smi_is_a_cpu_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_nvml: None
) -> None:
    use_pynvml(monkeypatch, None)
    use_path(monkeypatch, tmp_path)  # no nvidia-smi in there
    assert gpus.read_gpus(None, "h", []) == ([], "none", None)


def test_nvml_missing_falls_back_to_nvidia_smi(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_nvml: None
) -> None:
    use_pynvml(monkeypatch, None)
    fake_smi(tmp_path, "query-gpu-h100x4.csv", "query-compute-apps-none.csv")
    use_path(monkeypatch, tmp_path)
    readings, source, error = gpus.read_gpus(None, "h", [])
    assert (source, error, len(readings)) == ("nvidia-smi", None, 4)
    assert all(r.processes == () for r in readings)


def test_driver_not_loaded_falls_back_to_nvidia_smi_then_to_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_nvml: None
) -> None:
    use_pynvml(monkeypatch, fake_pynvml(init_error="Driver Not Loaded"))
    fake_smi(tmp_path, "query-gpu-not-supported.csv", "query-compute-apps-none.csv")
    use_path(monkeypatch, tmp_path)
    readings, source, _ = gpus.read_gpus(None, "h", [])
    assert (source, len(readings)) == ("nvidia-smi", 3)

    fake_smi(tmp_path, "", "", fail=DRIVER_NOT_LOADED)
    assert gpus.read_gpus(None, "h", []) == (
        [],
        "none",
        f"nvml: Driver Not Loaded; nvidia-smi: {DRIVER_NOT_LOADED} (exit 9)",
    )


def test_nvml_failing_after_init_shuts_down_and_retries(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_nvml: None
) -> None:
    module = fake_pynvml(count_error="GPU is lost")
    use_pynvml(monkeypatch, module)
    use_path(monkeypatch, tmp_path)
    assert gpus.read_gpus(None, "h", []) == ([], "none", "nvml: GPU is lost")
    gpus.read_gpus(None, "h", [])
    assert module.calls == ["init", "shutdown", "init", "shutdown"]


# --- whose process is it ----------------------------------------------------------


def start(argv: list[str], marker: Path | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != layout.MARKER_VAR}
    if marker is not None:
        env[layout.MARKER_VAR] = str(marker)
    process = subprocess.Popen(argv, env=env, start_new_session=True)
    # Popen returns once exec is under way; /proc/PID/environ shows the new environment
    # a moment later, when the kernel has set up the new image.
    deadline = time.monotonic() + 5
    while marker is not None and observe.replica_marker(process.pid) != str(marker):
        assert time.monotonic() < deadline, "the marker never showed in /proc/PID/environ"
        time.sleep(0.005)
    return process


def wait_for_children(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if len(children) >= count:
            return [int(c) for c in children]
        time.sleep(0.01)
    raise AssertionError(f"{pid} did not start {count} children")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        os.killpg(process.pid, 9)
        process.wait()


def test_gpu_processes_of_our_replicas_are_told_from_foreign_ones(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    state_dir = tmp_path / "state"
    replica_dir = state_dir / "d" / "r0"
    replica_dir.mkdir(parents=True)
    (replica_dir / "spec.json").write_text("{}")
    # vLLM's leader with a worker child in its group; both carry the marker.
    leader = start(["sh", "-c", "sleep 60 & wait"], replica_dir)
    processes.append(leader)
    (worker,) = wait_for_children(leader.pid, 1)
    (replica_dir / "pgid").write_text(f"{leader.pid}\n")
    foreign = start(["sleep", "60"])
    processes.append(foreign)
    # Ours by marker only: a process that left the group (setsid) but kept the env.
    stray = start(["sleep", "60"], replica_dir)
    # An orphan: our marker for a replica whose state dir is gone.
    orphan = start(["sleep", "60"], state_dir / "d" / "gone")
    # Another console's state dir on the same machine: none of our business.
    other = start(["sleep", "60"], tmp_path / "other-state" / "d" / "r0")
    processes.extend([stray, orphan, other])

    reading = GpuReading(0, "GPU-0", "x", None, None, None, None, None, None)
    readings = [
        replace(
            reading,
            processes=(
                GpuProcess(pid=worker, memory_mib=70000.0),
                GpuProcess(pid=foreign.pid, memory_mib=9000.0),
                GpuProcess(pid=stray.pid, memory_mib=100.0),
            ),
        )
    ]
    (replica,) = observe.observe_replicas(str(state_dir))
    replicas = [replace(replica, alive=True)]  # as if its vLLM were the leader above
    ledger = observe.host_ledger(str(state_dir), replicas, readings)

    marks = [(p.ours, p.replica) for p in ledger.gpus[0].processes]
    assert marks == [(True, "d/r0"), (False, None), (True, "d/r0")]
    orphans = {o.pid: o for o in ledger.orphans}
    assert set(orphans) == {stray.pid, orphan.pid}
    assert orphans[orphan.pid].reason == "its replica has no state dir"
    assert orphans[orphan.pid].marker == str(state_dir / "d" / "gone")
    assert orphans[stray.pid].reason == f"its replica's state names process group {leader.pid}"
    assert all(isinstance(port, int) for port in ledger.ports_in_use)

    sent = HostObservation(
        time=0.0,
        replicas=tuple(replicas),
        gpus=tuple(ledger.gpus),
        gpu_source="nvml",
        load=HostLoad(None, None, None, None),
        ports_in_use=ledger.ports_in_use,
        orphans=ledger.orphans,
    )
    observation = read_message(
        HostObservation, json.loads(encode(sent)), host="h", command="observe"
    )
    assert observation == sent
    assert observation.gpus[0].foreign_memory_mib == 9000.0
    assert observation.foreign_gpu_memory_mib == {"GPU-0": 9000.0}
    assert {o.replica for o in observation.orphans} == {"d/r0", "d/gone"}


# --- host load ----------------------------------------------------------------------

# /proc/net/dev's layout, with its column padding squeezed to fit the line length.
NET_DEV = """\
Inter-| Receive | Transmit
 face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop ...
    lo: 9000000 1000 0 0 0 0 0 0 9000000 1000 0 0 0 0 0 0
  eth0: 1500000 900 0 0 0 0 0 0 250000 700 0 0 0 0 0 0
 ens5f1:   500 3 0 0 0 0 0 0 750 4 0 0 0 0 0 0
"""


def test_network_counters_leave_out_loopback() -> None:
    assert hostload.parse_net_dev(NET_DEV) == (1_500_500, 250_750)


def test_disk_usage_of_a_state_dir_not_made_yet(tmp_path: Path) -> None:
    path, used, total, free = hostload.disk_usage(str(tmp_path / "not" / "yet"))
    assert path == str(tmp_path)
    assert total is not None and used is not None and free is not None
    assert 0 < used <= total and free <= total


def test_host_meter_rates_come_from_the_second_reading(tmp_path: Path) -> None:
    meter = hostload.HostMeter()
    first = meter.read(str(tmp_path))
    assert first.cpu_pct is None and first.net_rx_bytes_s is None
    time.sleep(0.1)
    second = meter.read(str(tmp_path))
    assert second.cpu_pct is not None and 0.0 <= second.cpu_pct <= 100.0
    assert second.net_rx_bytes_s is not None and second.net_rx_bytes_s >= 0.0
    assert second.memory_total_mib is not None and second.memory_total_mib > 0
    assert second.load_15m is not None
