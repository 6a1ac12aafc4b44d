"""GPU readings: NVML when pynvml imports, else nvidia-smi, else none; or simulated GPUs.

Each reading is a protocol.GpuReading, with the GPU's compute processes so that the
console can tell our replicas from foreign tenants (observe.mark_gpu_processes adds who
owns each). A field the GPU does not report ("[N/A]", "[Not Supported]", an NVMLError)
reads as None.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import math
import subprocess
import time
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from .layout import JsonDict
from .protocol import GpuProcess, GpuReading, ReplicaObservation

SMI_FIELDS = (
    "index,uuid,name,temperature.gpu,utilization.gpu,memory.used,memory.total,"
    "power.draw,power.limit"
)
SMI_APP_FIELDS = "gpu_uuid,pid,used_memory"
SMI_TIMEOUT_S = 10
MIB = 1048576.0
NVML_TEMPERATURE_GPU = 0

GpuRead = Tuple[List[GpuReading], str, Optional[str]]


def read_gpus(
    simulate: Optional[JsonDict], host_id: str, replicas: List[ReplicaObservation]
) -> GpuRead:
    """Readings, their source (simulated, nvml, nvidia-smi or none), and why none.

    The last is None on a host that simply has no NVIDIA stack (no pynvml, no
    nvidia-smi); it says what failed when one was there and did not answer, e.g. a
    driver that is not loaded.
    """
    if simulate is not None:
        return simulated_gpus(simulate, host_id, replicas, time.time()), "simulated", None
    readings, nvml_error = NVML.read()
    if readings is not None:
        return readings, "nvml", None
    readings, smi_error = smi_gpus()
    if readings is not None:
        return readings, "nvidia-smi", None
    errors = [error for error in (nvml_error, smi_error) if error]
    return [], "none", "; ".join(errors) or None


def simulated_gpus(
    simulate: JsonDict, host_id: str, replicas: List[ReplicaObservation], now: float
) -> List[GpuReading]:
    """GPUs whose memory and load follow the replicas placed on them."""
    count = int(simulate.get("gpus", 0))
    total = float(simulate.get("memory_gib", 80)) * 1024.0
    name = str(simulate.get("gpu_name", "NVIDIA H100 80GB HBM3"))
    seed = hashlib.sha256(host_id.encode()).hexdigest()
    readings = []
    for index in range(count):
        uuid = simulated_uuid(host_id, index)
        users = [r for r in replicas if uuid in r.gpu_uuids and r.alive]
        used = 0.0
        util = 0.0
        for replica in users:
            fraction = float(replica.meta.get("gpu_memory_utilization", 0.9))
            used += total * fraction / max(1, len(replica.gpu_uuids))
            if replica.healthy:
                phase = int(seed[index % 32], 16) + index
                util = max(util, 35.0 + 45.0 * abs(math.sin(now / 9.0 + phase)))
        readings.append(
            GpuReading(
                index=index,
                uuid=uuid,
                name=name,
                temperature_c=round(31.0 + util * 0.45, 1),
                utilization_pct=round(util, 1),
                memory_used_mib=round(min(used, total), 1),
                memory_total_mib=total,
                power_w=round(70.0 + util * 5.5, 1),
                power_limit_w=700.0,
                processes=tuple(
                    GpuProcess(r.pid, round(used / max(1, len(users)), 1)) for r in users
                ),
            )
        )
    return readings


def simulated_uuid(host_id: str, index: int) -> str:
    digest = hashlib.sha256(("%s/%d" % (host_id, index)).encode()).hexdigest()
    return "GPU-%s-%s-%s-%s-%s" % (
        digest[:8],
        digest[8:12],
        digest[12:16],
        digest[16:20],
        digest[20:32],
    )


class NvmlReader:
    """pynvml, initialised once per process (nvmlInit costs tens of ms on a big box)."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._missing = False

    def read(self) -> Tuple[Optional[List[GpuReading]], Optional[str]]:
        """Readings, or None with the reason (None too when pynvml is not installed)."""
        if self._nvml is None:
            if self._missing:
                return None, None
            try:
                nvml = importlib.import_module("pynvml")
            except ImportError:
                self._missing = True  # not installed here: try nvidia-smi, quietly
                return None, None
            try:
                nvml.nvmlInit()
            except Exception as exc:  # NVMLError: driver not loaded, no GPU, no libnvidia-ml
                return None, "nvml: %s" % _reason(exc)
            self._nvml = nvml
        nvml = self._nvml
        try:
            count = nvml.nvmlDeviceGetCount()
            readings = [
                _nvml_reading(nvml, nvml.nvmlDeviceGetHandleByIndex(index), index)
                for index in range(count)
            ]
        except Exception as exc:  # a GPU fell off the bus, the driver was unloaded
            self.close()
            return None, "nvml: %s" % _reason(exc)
        return readings, None

    def close(self) -> None:
        nvml, self._nvml = self._nvml, None
        if nvml is not None:
            with contextlib.suppress(Exception):  # already gone with the driver
                nvml.nvmlShutdown()


NVML = NvmlReader()


def _nvml_reading(nvml: Any, handle: Any, index: int) -> GpuReading:
    def attempt(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception:  # NVML_ERROR_NOT_SUPPORTED and friends: this field reads None
            return None

    memory = attempt(lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
    util = attempt(lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
    power = attempt(lambda: nvml.nvmlDeviceGetPowerUsage(handle))
    limit = attempt(lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle))
    temperature = attempt(lambda: nvml.nvmlDeviceGetTemperature(handle, NVML_TEMPERATURE_GPU))
    procs = attempt(lambda: nvml.nvmlDeviceGetComputeRunningProcesses(handle)) or []
    return GpuReading(
        index=index,
        uuid=_text(attempt(lambda: nvml.nvmlDeviceGetUUID(handle))),
        name=_text(attempt(lambda: nvml.nvmlDeviceGetName(handle))),
        temperature_c=_float(temperature),
        utilization_pct=_float(getattr(util, "gpu", None)),
        memory_used_mib=_scaled(getattr(memory, "used", None), MIB),
        memory_total_mib=_scaled(getattr(memory, "total", None), MIB),
        power_w=_scaled(power, 1000.0),  # NVML reports milliwatts
        power_limit_w=_scaled(limit, 1000.0),
        processes=tuple(
            # usedGpuMemory is None where NVML cannot tell (NVML_VALUE_NOT_AVAILABLE).
            GpuProcess(int(p.pid), _scaled(getattr(p, "usedGpuMemory", None), MIB))
            for p in procs
        ),
    )


def _text(value: object) -> str:
    if isinstance(value, bytes):  # older pynvml returns bytes
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _scaled(value: object, unit: float) -> float | None:
    number = _float(value)
    return None if number is None else round(number / unit, 1)


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def smi_gpus(command: str = "nvidia-smi") -> Tuple[Optional[List[GpuReading]], Optional[str]]:
    """Readings from nvidia-smi, or None with the reason (None when it is not installed)."""
    out, error = run_smi(command, "--query-gpu=" + SMI_FIELDS)
    if out is None:
        return None, error
    apps, _ = run_smi(command, "--query-compute-apps=" + SMI_APP_FIELDS)
    processes = parse_smi_apps(apps or "")
    readings = [
        replace(reading, processes=tuple(processes.get(reading.uuid, ())))
        for reading in parse_smi_gpus(out)
    ]
    return readings, None


def run_smi(command: str, query: str) -> Tuple[Optional[str], Optional[str]]:
    try:
        done = subprocess.run(
            [command, query, "--format=csv,noheader,nounits"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=SMI_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        return None, None  # no nvidia-smi: a CPU-only host, nothing to report
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, "nvidia-smi: %s" % _reason(exc)
    out = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0:
        # e.g. exit 9 with "NVIDIA-SMI has failed because it couldn't communicate with
        # the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."
        text = (out + "\n" + done.stderr.decode("utf-8", "replace")).strip()
        first = text.splitlines()[0].strip() if text else ""
        return None, "nvidia-smi: %s (exit %d)" % (first or "failed", done.returncode)
    return out, None


def parse_smi_gpus(text: str) -> List[GpuReading]:
    """Parse `nvidia-smi --query-gpu=SMI_FIELDS --format=csv,noheader,nounits`."""
    readings = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) < 9 or not cells[0].isdigit():
            continue
        # nvidia-smi does not quote: a comma in the name shows up as extra cells.
        name = ", ".join(cells[2:-6])
        numbers = [_number(cell) for cell in cells[-6:]]
        readings.append(
            GpuReading(
                index=int(cells[0]),
                uuid=cells[1],
                name=name,
                temperature_c=numbers[0],
                utilization_pct=numbers[1],
                memory_used_mib=numbers[2],
                memory_total_mib=numbers[3],
                power_w=numbers[4],
                power_limit_w=numbers[5],
            )
        )
    return readings


def parse_smi_apps(text: str) -> Dict[str, List[GpuProcess]]:
    """Parse `--query-compute-apps=gpu_uuid,pid,used_memory`: processes by GPU UUID."""
    found: Dict[str, List[GpuProcess]] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != 3 or not cells[1].isdigit():
            continue  # "No running processes found" and the like
        found.setdefault(cells[0], []).append(GpuProcess(int(cells[1]), _number(cells[2])))
    return found


def _number(cell: str) -> float | None:
    # nvidia-smi writes "[N/A]", "N/A" or "[Not Supported]" for fields a GPU lacks.
    try:
        return float(cell)
    except ValueError:
        return None
