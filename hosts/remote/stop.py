"""Stop a replica: SIGTERM to vLLM's group, a grace period, SIGKILL, then the supervisor."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from typing import Callable

from . import identity, layout, procfs, ray_node, readiness
from .layout import JsonDict
from .protocol import StopReply


def stop(request: JsonDict) -> StopReply:
    state_dir = layout.expand_state_dir(request["state_dir"])
    paths = layout.ReplicaPaths(state_dir, request["deployment"], request["replica"])
    if not os.path.isdir(paths.dir):
        return StopReply(ok=True, found=False)
    grace = float(request.get("grace_s", 10.0))
    # The stop file first: the supervisor must not restart what we are about to kill.
    with open(paths.file(layout.STOP), "a"):
        pass
    if request.get("mark_failed"):
        # Kept, not forgotten: its log and reason stay for the user to read.
        readiness.mark_failed(paths, str(request["mark_failed"]))
    killed = False
    pgid = layout.read_int(paths.file(layout.PGID))
    if pgid and identity.group_is_ours(paths, pgid):
        procfs.signal_group(pgid, signal.SIGTERM)
        if not _wait(lambda: not identity.group_is_ours(paths, pgid), grace):
            procfs.signal_group(pgid, signal.SIGKILL)
            killed = True
            _wait(lambda: not identity.group_is_ours(paths, pgid), 5.0)
    wrapper_pid = identity.running_supervisor(paths)
    if wrapper_pid is not None:
        # Wakes a supervisor sleeping in its restart backoff. Wait for it to end before
        # anything is removed: it must see the stop file, not a missing directory.
        procfs.signal_pid(wrapper_pid, signal.SIGTERM)
        if not _wait(lambda: not identity.running_supervisor(paths), 5.0):
            procfs.signal_pid(wrapper_pid, signal.SIGKILL)
            _wait(lambda: not identity.running_supervisor(paths), 2.0)
    left = identity.group_is_ours(paths, pgid) if pgid else False
    # What carries the replica's marker outside vLLM's group: the Ray nodes of a replica
    # over several hosts and their workers (each in a group of its own), or a process
    # that called setsid. Nothing of a stopped replica may stay behind.
    stray = ray_node.stop_marked(paths.dir, grace)
    left = left or bool(stray)
    if request.get("forget") and not request.get("mark_failed") and not left:
        shutil.rmtree(paths.dir, ignore_errors=True)
        _remove_if_empty(os.path.dirname(paths.dir))
    return StopReply(ok=not left, found=True, killed=killed, left_running=left)


def _wait(done: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.05)
    return bool(done())


def _remove_if_empty(path: str) -> None:
    with contextlib.suppress(OSError):
        os.rmdir(path)
