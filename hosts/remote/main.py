"""fleetdeck's host program: run by the host's python3 (3.8+, stdlib only).

    python3 PROGRAM launch      < request.json   start a replica under the supervisor
    python3 PROGRAM stop        < request.json   stop (and optionally forget) a replica
    python3 PROGRAM observe     < request.json   one observation of replicas, GPUs, load
    python3 PROGRAM watch       < request.json   the same, as JSON lines every interval
    python3 PROGRAM logs        < request.json   a replica's log as JSON lines with offsets
    python3 PROGRAM fleet-write < request.json   change the fleet's overrides, add events
    python3 PROGRAM exec REPLICA_DIR             (run by the supervisor) become vLLM
    python3 PROGRAM record REPLICA_DIR FILE LINES  (the supervisor) append, whole or not

Requests come on stdin so that secrets never appear in an argv.
"""

from __future__ import annotations

import json
import os
import sys
import time

from . import asks, fleet_state, gpus, hostload, layout, lease, observe, records
from .layout import JsonDict
from .protocol import HostObservation, Message, encode

SUPERVISOR = "supervise.sh"


def main(argv: list[str], program: str, supervisor_source: bytes) -> int:
    command = argv[0] if argv else ""
    # Each command imports what only it needs: every call is a new Python on the host,
    # and `observe` (a one-shot status) is the one that runs most.
    if command == "exec":
        from . import launch

        launch.exec_replica(argv[1])
        return 127
    if command == "rotate":  # run by the supervisor: rotate REPLICA_DIR MAX_BYTES KEEP
        from . import rotate

        return rotate.main(argv[1:])
    if command == "record":  # run by the supervisor: record REPLICA_DIR FILE LINES
        return record(argv[1], argv[2], argv[3]) if len(argv) == 4 else 2
    if command == "watch":  # its stdin stays open after the request: asks come on it
        return watch(asks.StdinLines(sys.stdin.fileno()))
    request = json.loads(sys.stdin.read() or "{}")
    if command == "launch":
        from . import launch

        supervisor = install_supervisor(request["state_dir"], supervisor_source)
        launched = launch.launch(request, program, supervisor)
        return emit(launched, launched.ok)
    if command == "stop":
        from . import stop

        stopped = stop.stop(request)
        return emit(stopped, stopped.ok)
    if command == "observe":
        meter = hostload.HostMeter()
        meter.prime()  # CPU % and network rates over this command's own run
        return emit(observation(request, meter))
    if command == "lease":
        taken = lease.take(request)
        return emit(taken, taken.ok)
    if command == "logs":
        from . import logs

        return logs.stream(request)
    if command == "fleet-write":
        written = fleet_state.write(request)
        return emit(written, written.ok)
    sys.stderr.write("unknown command %r\n" % command)
    return 2


def observation(request: JsonDict, meter: hostload.HostMeter) -> HostObservation:
    state_dir = layout.expand_state_dir(request["state_dir"])
    replicas = observe.observe_replicas(state_dir)
    host_id = request.get("host_id", "")
    readings, source, gpu_error = gpus.read_gpus(request.get("simulate"), host_id, replicas)
    ledger = observe.host_ledger(state_dir, replicas, readings)
    load = meter.read(state_dir)
    fleet = request.get("fleet")
    shared = fleet_state.valid_fleet(fleet)
    events_id, events_end, events = (
        fleet_state.read_events(state_dir, str(fleet), request.get("events_after"))
        if shared
        else ("", 0, ())
    )
    return HostObservation(
        time=time.time(),
        replicas=tuple(replicas),
        gpus=tuple(ledger.gpus),
        gpu_source=source,
        gpu_error=gpu_error,
        load=load,
        # Reported before writes fail, from free space (records.low_space's threshold).
        disk_full=records.low_space(load.disk_path or state_dir),
        ports_in_use=ledger.ports_in_use,
        orphans=ledger.orphans,
        lease=lease.read_lease(state_dir),
        fleet_overrides=fleet_state.read_overrides(state_dir, str(fleet)) if shared else None,
        fleet_events=events,
        fleet_events_id=events_id,
        fleet_events_end=events_end,
    )


def watch(stdin: asks.StdinLines) -> int:
    """Observations as JSON lines, every interval, at once on a replica's change, and at
    once for each ask that comes on stdin: `@TOKEN` on the line before the observation
    that answers it, which was started after the ask was read."""
    request = json.loads(stdin.first_line() or "{}")
    interval = float(request.get("interval_s", 1.0))
    # Between observations, look every detect_s for a replica turning ready or dying
    # (observe.wait_for_change) and observe at once; 0: only every interval.
    detect = float(request.get("detect_s", 0.0))
    state_dir = layout.expand_state_dir(request["state_dir"])
    cpu = hostload.HostMeter()
    cpu.prime()
    try:
        while True:
            started = time.monotonic()
            answering = stdin.take()
            current = observation(request, cpu)
            marks = "".join("@%s\n" % token for token in answering)
            sys.stdout.write(marks + encode(current) + "\n")
            # The next line carries only the journal's lines written after these.
            request["events_after"] = {
                "id": current.fleet_events_id,
                "offset": current.fleet_events_end,
            }
            sys.stdout.flush()
            until = started + max(0.05, interval)
            if detect > 0:
                replicas = list(current.replicas)
                observe.wait_for_change(state_dir, replicas, until, detect, stdin.wait)
            else:
                stdin.wait(max(0.05, until - time.monotonic()))
    except (BrokenPipeError, KeyboardInterrupt):
        return 0


def record(replica_dir: str, name: str, lines: str) -> int:
    """Append LINES (one or more, newline-separated) to a replica's `exits` or `log`,
    whole or not at all: 0 when they landed, 1 when not (the supervisor tries again)."""
    if name not in (layout.EXITS, layout.LOG) or not os.path.isdir(replica_dir):
        return 1
    return 0 if records.append_lines(os.path.join(replica_dir, name), lines.split("\n")) else 1


def install_supervisor(state_dir: str, source: bytes) -> str:
    """Write supervise.sh next to the program once; the supervisor runs from that file."""
    import hashlib

    digest = hashlib.sha256(source).hexdigest()[:12]
    bin_dir = os.path.join(layout.expand_state_dir(state_dir), ".bin")
    os.makedirs(bin_dir, mode=0o700, exist_ok=True)
    path = os.path.join(bin_dir, "supervise-%s.sh" % digest)
    if not os.path.exists(path):
        layout.write_atomic(path, source.decode(), 0o755)
    return path


def emit(reply: Message, ok: bool = True) -> int:
    """Print one reply as the last line of stdout; the exit status says whether it is ok."""
    sys.stdout.write(encode(reply) + "\n")
    sys.stdout.flush()
    return 0 if ok else 1
