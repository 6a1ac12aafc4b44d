"""Host load from /proc: CPU %, load average, memory, disk and network throughput.

Rates (CPU %, network bytes/s) are deltas between two readings of one HostMeter, so a
one-shot `observe` has none and a `watch` has them from its second line on.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Optional, Tuple

from .protocol import HostLoad

LOOPBACK = "lo"


class HostMeter:
    """Keeps the previous /proc/stat and /proc/net/dev readings to turn them into rates."""

    # A one-shot observe primes, works, then reads: at least this long apart, or the
    # 100 Hz jiffy counters of /proc/stat say nothing (a cold `status` waits this at most).
    MIN_SAMPLE_S = 0.1

    def __init__(self) -> None:
        self._cpu: Optional[Tuple[int, int]] = None
        self._net: Optional[Tuple[float, int, int]] = None
        self._primed_at: Optional[float] = None

    def prime(self) -> None:
        """Take first readings, so that the next read() has rates."""
        self._primed_at = time.monotonic()
        self.cpu_pct()
        self.net_rates()

    def cpu_pct(self) -> float | None:
        """CPU busy % since the previous call."""
        try:
            with open("/proc/stat") as handle:
                fields = [int(x) for x in handle.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        total = sum(fields[:8])  # guest time is already counted in user/nice
        last, self._cpu = self._cpu, (idle, total)
        if last is None or total <= last[1]:
            return None
        return round(100.0 * (1.0 - (idle - last[0]) / (total - last[1])), 1)

    def net_rates(self) -> Tuple[Optional[float], Optional[float]]:
        """Received and sent bytes/s since the previous call, every interface but lo."""
        counters = read_net_dev()
        if counters is None:
            return None, None
        now = time.monotonic()
        last, self._net = self._net, (now, counters[0], counters[1])
        if last is None or now <= last[0]:
            return None, None
        elapsed = now - last[0]
        # A counter that went backwards (an interface went away) reads as no traffic.
        return (
            round(max(0, counters[0] - last[1]) / elapsed, 1),
            round(max(0, counters[1] - last[2]) / elapsed, 1),
        )

    def read(self, state_dir: str) -> HostLoad:
        if self._primed_at is not None:
            time.sleep(max(0.0, self.MIN_SAMPLE_S - (time.monotonic() - self._primed_at)))
            self._primed_at = None
        rx, tx = self.net_rates()
        load: Tuple[Optional[float], ...] = (None, None, None)
        with contextlib.suppress(OSError):
            load = os.getloadavg()
        mem_total, mem_avail = read_meminfo()
        used = mem_total - mem_avail if mem_total is not None and mem_avail is not None else None
        disk = disk_usage(state_dir)
        return HostLoad(
            cpu_pct=self.cpu_pct(),
            cpu_count=os.cpu_count(),
            load_1m=load[0],
            load_5m=load[1],
            load_15m=load[2],
            memory_used_mib=used,
            memory_total_mib=mem_total,
            disk_path=disk[0],
            disk_used_bytes=disk[1],
            disk_total_bytes=disk[2],
            disk_free_bytes=disk[3],
            net_rx_bytes_s=rx,
            net_tx_bytes_s=tx,
        )


def read_meminfo() -> Tuple[Optional[float], Optional[float]]:
    """MemTotal and MemAvailable in MiB."""
    total = avail = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key == "MemTotal":
                    total = int(rest.split()[0]) / 1024.0
                elif key == "MemAvailable":
                    avail = int(rest.split()[0]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return total, avail


def read_net_dev(path: str = "/proc/net/dev") -> Optional[Tuple[int, int]]:
    """Total received and sent bytes over every interface but loopback."""
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        return None
    return parse_net_dev(text)


def parse_net_dev(text: str) -> Tuple[int, int]:
    rx = tx = 0
    for line in text.splitlines()[2:]:  # two header lines
        name, _, counters = line.partition(":")
        fields = counters.split()
        if name.strip() == LOOPBACK or len(fields) < 9:
            continue
        try:
            rx += int(fields[0])
            tx += int(fields[8])
        except ValueError:
            continue
    return rx, tx


def disk_usage(state_dir: str) -> Tuple[str, Optional[int], Optional[int], Optional[int]]:
    """Used, total and free bytes (as df counts them) of the filesystem holding state_dir.

    The state dir may not exist yet (nothing launched): its nearest existing parent is on
    the filesystem it will be created on.
    """
    path = state_dir
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        stat = os.statvfs(path)
    except OSError:
        return path, None, None, None
    total = stat.f_blocks * stat.f_frsize
    used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    return path, used, total, stat.f_bavail * stat.f_frsize
