"""Host load from /proc: CPU %, load average, memory."""

from __future__ import annotations

import contextlib
import os

from .layout import JsonDict


class CpuMeter:
    """CPU busy % between two readings of /proc/stat."""

    def __init__(self) -> None:
        self._last: tuple[int, int] | None = None

    def read(self) -> float | None:
        try:
            with open("/proc/stat") as handle:
                fields = [int(x) for x in handle.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        total = sum(fields)
        last, self._last = self._last, (idle, total)
        if last is None or total == last[1]:
            return None
        return round(100.0 * (1.0 - (idle - last[0]) / (total - last[1])), 1)


def host_load(cpu: CpuMeter) -> JsonDict:
    load = None
    with contextlib.suppress(OSError):
        load = os.getloadavg()[0]
    mem_total = mem_avail = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key == "MemTotal":
                    mem_total = int(rest.split()[0]) / 1024.0
                elif key == "MemAvailable":
                    mem_avail = int(rest.split()[0]) / 1024.0
    except (OSError, ValueError):
        pass
    used = mem_total - mem_avail if mem_total is not None and mem_avail is not None else None
    return {
        "cpu_pct": cpu.read(),
        "load_1m": load,
        "memory_used_mib": used,
        "memory_total_mib": mem_total,
        "cpu_count": os.cpu_count(),
    }
