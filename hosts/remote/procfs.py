"""Process facts from /proc: liveness that survives pid reuse, and our marker."""

from __future__ import annotations

import contextlib
import os
import signal


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def is_zombie(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as handle:
            stat = handle.read()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2 :].startswith("Z")


def is_same_process(pid: int | None, ticks: int | None) -> bool:
    """True when pid is alive and is the very process that was recorded (not a reused pid)."""
    if not pid or ticks is None:
        return False
    return start_ticks(pid) == ticks and not is_zombie(pid)


def cmdline_has(pid: int, needle: str) -> bool:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return needle.encode() in handle.read().split(b"\0")
    except OSError:
        return False


def environ_has(pid: int, name: str, value: str) -> bool:
    try:
        with open("/proc/%d/environ" % pid, "rb") as handle:
            env = handle.read().split(b"\0")
    except OSError:
        return False
    return (name + "=" + value).encode() in env


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid):
            members.append(int(entry))
    return members


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def signal_pid(pid: int, sig: int = signal.SIGTERM) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


TCP_LISTEN = "0A"


def listening_ports() -> set[int]:
    """Every TCP port some process listens on, from /proc/net/tcp and tcp6."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle, None)
                for line in handle:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == TCP_LISTEN:
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            continue
    return ports
