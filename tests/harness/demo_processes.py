"""The processes and files one `fleetdeck demo` left behind, found by its TMPDIR.

A test runs the demo with TMPDIR set to a directory of its own, so the demo's directory
(`fleetdeck-demo-*`) lies there: its replicas carry FLEETDECK_REPLICA=<that directory>/...
in their environment, and their supervisors (`supervise-*.sh`) and host programs name it
on their command line.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.harness.replica_processes import replica_pids


def demo_dirs(demo_tmp: Path) -> list[Path]:
    return sorted(demo_tmp.glob("fleetdeck-demo-*"))


def demo_pids(demo_tmp: Path) -> set[int]:
    """Live processes of a demo run with TMPDIR=demo_tmp: replicas, supervisors, watchers."""
    marker = f"{demo_tmp}/fleetdeck-demo-".encode()
    found = replica_pids(f"{demo_tmp}/fleetdeck-demo-")
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and marker in cmdline:
            found.add(int(entry))
    return found


def wait_no_demo_pids(demo_tmp: Path, timeout: float) -> set[int]:
    """Wait until the demo's processes are gone; returns those still there at `timeout`."""
    deadline = time.monotonic() + timeout
    left = demo_pids(demo_tmp)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = demo_pids(demo_tmp)
    return left


def kill_demo_leftovers(demo_tmp: Path) -> None:
    """A failed test's clean-up: SIGKILL whatever the demo left, a few times over, in
    case a supervisor restarted a replica in between."""
    for _ in range(3):
        left = demo_pids(demo_tmp)
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        time.sleep(0.5)
