"""What is running under a state dir, read from state files, /proc and each replica's HTTP."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from . import identity, layout, procfs, readiness
from .protocol import ExitRecord, GpuReading, OrphanProcess, ReplicaObservation

LOG_TAIL_LINES = 60
LOG_TAIL_BYTES = 24 * 1024


def observe_replicas(state_dir: str) -> List[ReplicaObservation]:
    return [observe_replica(paths) for paths in layout.iter_replicas(state_dir)]


def observe_replica(paths: layout.ReplicaPaths) -> ReplicaObservation:
    try:
        spec = json.loads(layout.read_text(paths.file(layout.SPEC), "{}"))
    except ValueError:
        spec = {}
    pid = identity.running_vllm(paths)
    alive = pid is not None
    port = spec.get("port")
    bind_host = spec.get("bind_host", "127.0.0.1")
    probe_host = "127.0.0.1" if bind_host in ("0.0.0.0", "") else bind_host
    healthy = alive and port is not None and _health(probe_host, int(port))
    started_at = _mtime(paths.file(layout.PID)) if alive else None
    exits = _exits(paths)
    readiness.note_health(paths, healthy, started_at)
    return ReplicaObservation(
        deployment=paths.deployment,
        replica=paths.replica,
        port=port,
        bind_host=bind_host,
        spec_hash=spec.get("spec_hash", ""),
        gpu_uuids=tuple(spec.get("gpu_uuids", ())),
        meta=spec.get("meta", {}),
        created_at=spec.get("created_at"),
        pid=pid,
        alive=alive,
        wrapper_alive=identity.running_supervisor(paths) is not None,
        healthy=healthy,
        stop_requested=os.path.exists(paths.file(layout.STOP)),
        exits=exits,
        started_at=started_at,
        log_size=_size(paths.file(layout.LOG)),
        log_tail=() if healthy else tail_lines(paths.file(layout.LOG), LOG_TAIL_LINES),
        # Saved by the supervisor at the first failing exit; sent while it is not healthy
        # (a healthy replica's observation stays small).
        first_failure=() if healthy else tail_lines(paths.file("first_failure"), LOG_TAIL_LINES),
        ready_at=readiness.ready_time(paths),
        start_failures=readiness.start_failures(paths, exits),
        failed_reason=readiness.failed_reason(paths),
    )


def _health(host: str, port: int, timeout: float = 1.0) -> bool:
    # Imported here: urllib.request is a third of the program's import time, and a host
    # with no replica running (or a cold `status` of one) never needs it.
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen("http://%s:%d/health" % (host, port), timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError, ValueError):
        return False


QuickState = Tuple[Tuple[Optional[int], bool, int], ...]


def quick_state(
    state_dir: str, replicas: List[ReplicaObservation], probe: bool = True
) -> QuickState:
    """What `watch` checks between observations, cheaply: per replica, its vLLM's pid
    (None when not running), whether one that was loading answers /health now, and the
    size of its `exits`. A change means an observation is worth sending at once."""
    state = []
    for replica in replicas:
        paths = layout.ReplicaPaths(state_dir, replica.deployment, replica.replica)
        pid = identity.running_vllm(paths)
        host = "127.0.0.1" if replica.bind_host in ("0.0.0.0", "") else replica.bind_host
        ready = (
            probe
            and pid is not None
            and not replica.healthy
            and replica.port is not None
            and _health(host, int(replica.port), timeout=0.2)
        )
        state.append((pid, bool(ready), _size(paths.file(layout.EXITS))))
    return tuple(state)


HEALTH_PROBE_S = 0.25  # between two /health probes of a loading replica


def wait_for_change(
    state_dir: str,
    replicas: List[ReplicaObservation],
    until: float,
    step_s: float,
    pause: Optional[Callable[[float], bool]] = None,
) -> None:
    """Sleep until the monotonic time `until`, or until `quick_state` changes (checked
    every `step_s`): a replica turning ready or dying is sent within about `step_s`
    instead of a whole watch interval later. `pause(seconds)` sleeps instead of
    time.sleep and returns True to end the wait at once (an ask came)."""
    before = quick_state(state_dir, replicas, probe=False)
    probed = 0.0
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return
        if pause is None:
            time.sleep(min(step_s, left))
        elif pause(min(step_s, left)):
            return
        # pids and `exits` are read every step; a loading replica's /health (an HTTP
        # connection) at most every HEALTH_PROBE_S, since vLLM loads for minutes.
        probe = time.monotonic() - probed >= HEALTH_PROBE_S
        if probe:
            probed = time.monotonic()
        now = quick_state(state_dir, replicas, probe=probe)
        if [(pid, exits) for pid, _, exits in now] != [(pid, exits) for pid, _, exits in before]:
            return
        if any(ready for _, ready, _ in now):
            return


def _exits(paths: layout.ReplicaPaths) -> Tuple[ExitRecord, ...]:
    """Each run of vLLM that ended, oldest first (the last 50).

    The supervisor writes "CODE TIME restart SECONDS" or "CODE TIME stop SECONDS" (it
    ended after a stop request instead of restarting; SECONDS is how long the run lasted).
    Older supervisors wrote "CODE TIME restart" (ran_s=None) or "CODE TIME", read as
    stopped=None (it does not say).
    """
    exits = []
    for line in layout.read_text(paths.file(layout.EXITS)).splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                stopped = parts[2] == "stop" if len(parts) > 2 else None
                ran_s = float(parts[3]) if len(parts) > 3 else None
                exits.append(ExitRecord(int(parts[0]), float(parts[1]), stopped, ran_s))
            except ValueError:
                continue
    return tuple(exits[-50:])


def tail_lines(path: str, count: int) -> Tuple[str, ...]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - LOG_TAIL_BYTES))
            data = handle.read()
    except OSError:
        return ()
    lines = data.decode("utf-8", "replace").splitlines()
    if size > LOG_TAIL_BYTES and lines:
        lines = lines[1:]  # the first line is probably cut
    return tuple(lines[-count:])


def _mtime(path: str) -> float | None:
    try:
        return os.path.getmtime(path)
    except OSError:
        return None


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class Ledger(NamedTuple):
    """What placement must know beyond our replicas: foreign GPU memory, ports, orphans."""

    gpus: List[GpuReading]  # the readings, each process marked `ours` (and whose) or not
    ports_in_use: Tuple[int, ...]
    orphans: Tuple[OrphanProcess, ...]


def host_ledger(
    state_dir: str, replicas: List[ReplicaObservation], gpu_readings: List[GpuReading]
) -> Ledger:
    groups = replica_groups(state_dir, replicas)
    return Ledger(
        mark_gpu_processes(gpu_readings, state_dir, groups),
        ports_in_use(),
        find_orphans(state_dir, groups),
    )


PORTS_TTL_S = 5.0
_ports_cache: list[Any] = [0.0, []]  # [when, ports]


def ports_in_use() -> Tuple[int, ...]:
    """Listening TCP ports, re-read at most every PORTS_TTL_S in a `watch`.

    /proc/net/tcp lists every socket, TIME_WAIT included: ~20 ms for 10,000 of them,
    too much for each second. The ledger is advisory anyway: launch binds the port it
    picks to check it (launch.port_is_free).
    """
    now = time.monotonic()
    if not _ports_cache[1] or now - _ports_cache[0] > PORTS_TTL_S:
        _ports_cache[:] = [now, sorted(procfs.listening_ports())]
    return tuple(_ports_cache[1])


def replica_groups(state_dir: str, replicas: List[ReplicaObservation]) -> Dict[int, str]:
    """Process group -> replica id, for every replica whose vLLM runs now.

    vLLM's EngineCore and workers are children in its leader's group, so the group
    names them all; the leader's pid is that group's id (it called setpgid(0, 0)).
    """
    groups: Dict[int, str] = {}
    for replica in replicas:
        if not replica.alive:
            continue
        paths = layout.ReplicaPaths(state_dir, replica.deployment, replica.replica)
        pgid = layout.read_int(paths.file(layout.PGID))
        if pgid:
            groups[pgid] = paths.replica_id
    return groups


def mark_gpu_processes(
    readings: List[GpuReading], state_dir: str, groups: Dict[int, str]
) -> List[GpuReading]:
    """The readings with each process marked ours (with its replica) or foreign."""
    marked = []
    for reading in readings:
        processes = []
        for process in reading.processes:
            replica = _owner(process.pid, state_dir, groups)
            processes.append(replace(process, ours=replica is not None, replica=replica))
        marked.append(replace(reading, processes=tuple(processes)))
    return marked


def _owner(pid: object, state_dir: str, groups: Dict[int, str]) -> Optional[str]:
    if not isinstance(pid, int):
        return None
    pgid = process_group(pid)
    if pgid in groups:
        return groups[pgid]
    # Left its group (or the group's leader is gone) but still carries our marker.
    marker = replica_marker(pid)
    prefix = state_dir.rstrip("/") + "/"
    return marker[len(prefix) :] if marker and marker.startswith(prefix) else None


def find_orphans(state_dir: str, groups: Dict[int, str]) -> Tuple[OrphanProcess, ...]:
    """Processes with our marker for this state dir that no running replica's state names.

    Either their replica directory is gone, or it names another process group, or its
    vLLM leader is dead (workers left behind). Each holds memory nobody will free.
    """
    prefix = state_dir.rstrip("/") + "/"
    orphans = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        marker = replica_marker(pid)
        if marker is None or not marker.startswith(prefix):
            continue
        replica = marker[len(prefix) :]
        pgid = process_group(pid)
        if pgid is not None and groups.get(pgid) == replica:
            continue
        if not os.path.isfile(os.path.join(marker, layout.SPEC)):
            reason = "its replica has no state dir"
        else:
            recorded = layout.read_int(os.path.join(marker, layout.PGID))
            reason = (
                "its replica's vLLM is not running"
                if recorded == pgid
                else "its replica's state names process group %s" % recorded
            )
        orphans.append(OrphanProcess(pid, marker, replica, reason, pgid))
    return tuple(orphans)


def replica_marker(pid: int) -> str | None:
    """The FLEETDECK_REPLICA value in a process's environment, if it has one."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as handle:
            environ = handle.read()
    except OSError:  # gone, or another user's
        return None
    # One find over the whole block, not a split and a compare per variable: every
    # observation reads every process's environment, hundreds on a busy host.
    key = layout.MARKER_VAR.encode() + b"="
    if environ.startswith(key):
        start = len(key)
    else:
        at = environ.find(b"\0" + key)
        if at < 0:
            return None
        start = at + 1 + len(key)
    end = environ.find(b"\0", start)
    return environ[start : end if end >= 0 else len(environ)].decode("utf-8", "replace")


def process_group(pid: int) -> int | None:
    try:
        with open("/proc/%d/stat" % pid) as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # the name may hold spaces and ')'
    try:
        return int(fields[2])
    except (IndexError, ValueError):
        return None
