"""Is this replica's supervisor, or its vLLM, the process its state files name?

A pid alone proves nothing (pids are reused): a process counts as ours only when its
start ticks match the ones recorded, or, for a supervisor whose ticks were not recorded,
when its argv names the replica's directory. vLLM must also carry our marker variable.
"""

from __future__ import annotations

from . import layout, procfs

WRAPPER_TICKS = "wrapper_ticks"


def running_supervisor(paths: layout.ReplicaPaths) -> int | None:
    pid = layout.read_int(paths.file(layout.WRAPPER_PID))
    if not pid:
        return None
    ticks = layout.read_int(paths.file(WRAPPER_TICKS))
    if ticks is not None:
        return pid if procfs.is_same_process(pid, ticks) else None
    alive = not procfs.is_zombie(pid) and procfs.cmdline_has(pid, paths.dir)
    return pid if alive else None


def running_vllm(paths: layout.ReplicaPaths) -> int | None:
    pid = layout.read_int(paths.file(layout.PID))
    ticks = layout.read_int(paths.file(layout.START_TICKS))
    if not pid or not procfs.is_same_process(pid, ticks):
        return None
    return pid if procfs.environ_has(pid, layout.MARKER_VAR, paths.dir) else None


def group_is_ours(paths: layout.ReplicaPaths, pgid: int) -> bool:
    """Some live member of the group carries our marker for this replica.

    Covers vLLM's leader and, after it died, the EngineCore/Worker it left behind
    (they inherit its environment); never a group that merely reuses the number.
    """
    return any(
        not procfs.is_zombie(pid) and procfs.environ_has(pid, layout.MARKER_VAR, paths.dir)
        for pid in procfs.group_members(pgid)
    )
