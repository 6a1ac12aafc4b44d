"""Finding and signalling an sshd and the processes serving its connections, by pid.

A listening ``sshd -D`` forks one process per connection (the privsep monitor), which
calls setsid() and forks the session process in turn. Stopping only the listener would
leave open connections alive, so a simulated host going down signals that whole sshd
subtree. The walk stops at the first process that is not sshd: the user's commands
(and replicas they detached) are not sshd's to kill, just as on a real host whose
sshd dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

# OpenSSH 9.8+ splits the per-connection side into sshd-session / sshd-auth binaries.
_SSHD_NAMES = frozenset({"sshd", "sshd-session", "sshd-auth"})


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may hold spaces and parentheses; everything after the last ")" is safe.
    return stat.rpartition(")")[2].split()


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _is_sshd(pid: int) -> bool:
    try:
        executable = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    return Path(executable.removesuffix(" (deleted)")).name in _SSHD_NAMES


def sshd_process_tree(listener: int) -> list[int]:
    """``listener`` first, then every sshd process below it."""
    children = _children_by_parent()
    found: list[int] = []
    queue = [listener]
    while queue:
        pid = queue.pop(0)
        found.append(pid)
        queue.extend(child for child in children.get(pid, []) if _is_sshd(child))
    return found


def signal_all(pids: Iterable[int], signum: signal.Signals) -> None:
    """Send ``signum`` to each pid that still exists."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _still_alive_after(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.01)


def wait_gone(pids: list[int], timeout: float) -> None:
    """Wait until none of ``pids`` is alive; SIGKILL whatever outlives ``timeout``."""
    left = _still_alive_after(pids, timeout)
    if left:
        signal_all(left, signal.SIGKILL)
        left = _still_alive_after(left, timeout)
    if left:
        raise RuntimeError(f"sshd processes {left} survived SIGKILL")


def wait_state(pid: int, state: str, timeout: float = 1.0) -> None:
    """Wait (briefly) until ``pid`` shows ``state`` in /proc, e.g. "T" once stopped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fields = _stat_fields(pid)
        if fields is None or fields[0] == state:
            return
        time.sleep(0.001)
