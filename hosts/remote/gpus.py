"""GPU readings: NVML when pynvml imports, else nvidia-smi, else none; or simulated GPUs.

Each reading is a dict: index, uuid, name, temperature_c, utilization_pct,
memory_used_mib, memory_total_mib, power_w, power_limit_w, processes [{pid, memory_mib}].
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import subprocess
import time
from typing import Any, Callable

from .layout import JsonDict

SMI_FIELDS = (
    "index,uuid,name,temperature.gpu,utilization.gpu,memory.used,memory.total,"
    "power.draw,power.limit"
)


def read_gpus(
    simulate: JsonDict | None, host_id: str, replicas: list[JsonDict]
) -> tuple[list[JsonDict], str]:
    """Readings and the source they came from: simulated, nvml, nvidia-smi or none."""
    if simulate is not None:
        return simulated_gpus(simulate, host_id, replicas, time.time()), "simulated"
    readings = nvml_gpus()
    if readings is not None:
        return readings, "nvml"
    readings = smi_gpus()
    if readings is not None:
        return readings, "nvidia-smi"
    return [], "none"


def simulated_gpus(
    simulate: JsonDict, host_id: str, replicas: list[JsonDict], now: float
) -> list[JsonDict]:
    """GPUs whose memory and load follow the replicas placed on them."""
    count = int(simulate.get("gpus", 0))
    total = float(simulate.get("memory_gib", 80)) * 1024.0
    name = str(simulate.get("gpu_name", "NVIDIA H100 80GB HBM3"))
    seed = hashlib.sha256(host_id.encode()).hexdigest()
    readings = []
    for index in range(count):
        uuid = simulated_uuid(host_id, index)
        users = [r for r in replicas if uuid in r.get("gpu_uuids", []) and r.get("alive")]
        used = 0.0
        util = 0.0
        for replica in users:
            fraction = float(replica.get("meta", {}).get("gpu_memory_utilization", 0.9))
            used += total * fraction / max(1, len(replica.get("gpu_uuids", [])))
            if replica.get("healthy"):
                phase = int(seed[index % 32], 16) + index
                util = max(util, 35.0 + 45.0 * abs(math.sin(now / 9.0 + phase)))
        readings.append(
            {
                "index": index,
                "uuid": uuid,
                "name": name,
                "temperature_c": round(31.0 + util * 0.45, 1),
                "utilization_pct": round(util, 1),
                "memory_used_mib": round(min(used, total), 1),
                "memory_total_mib": total,
                "power_w": round(70.0 + util * 5.5, 1),
                "power_limit_w": 700.0,
                "processes": [
                    {"pid": r.get("pid"), "memory_mib": round(used / max(1, len(users)), 1)}
                    for r in users
                ],
            }
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


def nvml_gpus() -> list[JsonDict] | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # NVMLError: driver not loaded, no GPU, library missing
        return None
    try:
        readings = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            readings.append(_nvml_reading(pynvml, handle, index))
        return readings
    except Exception:
        return None
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def _nvml_reading(pynvml: Any, handle: Any, index: int) -> JsonDict:
    def attempt(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception:  # a field this GPU does not support reads as None
            return None

    memory = attempt(lambda: pynvml.nvmlDeviceGetMemoryInfo(handle))
    util = attempt(lambda: pynvml.nvmlDeviceGetUtilizationRates(handle))
    power = attempt(lambda: pynvml.nvmlDeviceGetPowerUsage(handle))
    limit = attempt(lambda: pynvml.nvmlDeviceGetEnforcedPowerLimit(handle))
    procs = attempt(lambda: pynvml.nvmlDeviceGetComputeRunningProcesses(handle)) or []
    name = attempt(lambda: pynvml.nvmlDeviceGetName(handle))
    uuid = attempt(lambda: pynvml.nvmlDeviceGetUUID(handle))
    return {
        "index": index,
        "uuid": _text(uuid),
        "name": _text(name),
        "temperature_c": attempt(lambda: pynvml.nvmlDeviceGetTemperature(handle, 0)),
        "utilization_pct": util.gpu if util is not None else None,
        "memory_used_mib": memory.used / 1048576.0 if memory is not None else None,
        "memory_total_mib": memory.total / 1048576.0 if memory is not None else None,
        "power_w": power / 1000.0 if power is not None else None,
        "power_limit_w": limit / 1000.0 if limit is not None else None,
        "processes": [
            {"pid": p.pid, "memory_mib": (p.usedGpuMemory or 0) / 1048576.0} for p in procs
        ],
    }


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return "" if value is None else str(value)


def smi_gpus() -> list[JsonDict] | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=" + SMI_FIELDS, "--format=csv,noheader,nounits"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return parse_smi_csv(out.stdout.decode("utf-8", "replace"))


def parse_smi_csv(text: str) -> list[JsonDict]:
    """Parse `nvidia-smi --query-gpu=SMI_FIELDS --format=csv,noheader,nounits`."""
    readings = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != 9:
            continue
        readings.append(
            {
                "index": int(cells[0]),
                "uuid": cells[1],
                "name": cells[2],
                "temperature_c": _number(cells[3]),
                "utilization_pct": _number(cells[4]),
                "memory_used_mib": _number(cells[5]),
                "memory_total_mib": _number(cells[6]),
                "power_w": _number(cells[7]),
                "power_limit_w": _number(cells[8]),
                "processes": [],
            }
        )
    return readings


def _number(cell: str) -> float | None:
    # nvidia-smi writes "[N/A]", "N/A" or "[Not Supported]" for fields a GPU lacks.
    try:
        return float(cell)
    except ValueError:
        return None
