"""Start a replica detached under the supervisor, and the `exec` step the supervisor runs.

Launches on one host are serialised by flock on <state_dir>/lock so that two consoles
never start the same replica twice or pick the same port.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import subprocess
import sys
import time

from . import identity, layout, procfs, records, rotate
from .layout import JsonDict
from .protocol import LaunchReply


def launch(request: JsonDict, program: str, supervisor: str) -> LaunchReply:
    state_dir = layout.expand_state_dir(request["state_dir"])
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    paths = layout.ReplicaPaths(state_dir, request["deployment"], request["replica"])
    with open(os.path.join(state_dir, "lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if identity.running_supervisor(paths) is not None:
            spec = json.loads(layout.read_text(paths.file(layout.SPEC), "{}"))
            return LaunchReply(ok=True, adopted=True, port=spec.get("port"))
        try:
            port = _choose_port(state_dir, paths, request)
        except OSError as exc:  # e.g. EADDRNOTAVAIL: the bind address is not this host's
            return LaunchReply(
                ok=False,
                error="cannot listen on %s here (%s): check the deployment's vllm.host"
                % (request["bind_host"], exc.strerror or exc),
            )
        if port is None:
            lo, hi = request["port_range"]
            return LaunchReply(
                ok=False, error="no free port in %d-%d on %s" % (lo, hi, request["bind_host"])
            )
        _write_state(paths, request, port)
        wrapper = subprocess.Popen(
            [
                "sh",
                supervisor,
                paths.dir,
                sys.executable,
                program,
                str(int(request.get("restart_backoff_s", 10))),
                str(int(request.get("log_max_bytes", rotate.DEFAULT_MAX_BYTES))),
                "%g" % float(request.get("log_check_s", 10)),
                str(int(request.get("log_keep", rotate.DEFAULT_KEEP))),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,  # own session: no SIGHUP when the SSH channel closes
        )
        # Not through write_atomic's wrapper_pid.tmp: the supervisor writes the same file
        # through that very temp name at the same moment, and one rename would fail.
        pid_tmp = paths.file(layout.WRAPPER_PID) + ".launch"
        with open(pid_tmp, "w") as handle:
            handle.write("%d\n" % wrapper.pid)
        os.replace(pid_tmp, paths.file(layout.WRAPPER_PID))
        ticks = procfs.start_ticks(wrapper.pid)
        if ticks is not None:
            layout.write_atomic(paths.file(identity.WRAPPER_TICKS), "%d\n" % ticks)
        return LaunchReply(ok=True, adopted=False, port=port, wrapper_pid=wrapper.pid)


def _write_state(paths: layout.ReplicaPaths, request: JsonDict, port: int) -> None:
    # makedirs applies its mode to the last directory only: the deployment's directory
    # (which names its replicas) is made, and an older 0755 one corrected, here.
    deployment_dir = os.path.dirname(paths.dir)
    os.makedirs(deployment_dir, mode=0o700, exist_ok=True)
    os.chmod(deployment_dir, 0o700)
    os.makedirs(paths.dir, mode=0o700, exist_ok=True)
    for stale in (layout.STOP, layout.PID, layout.PGID, layout.START_TICKS):
        if os.path.exists(paths.file(stale)):
            os.remove(paths.file(stale))
    spec = {
        "deployment": paths.deployment,
        "replica": paths.replica,
        "argv": list(request["argv"]) + ["--port", str(port)],
        "port": port,
        "bind_host": request["bind_host"],
        "gpu_uuids": request.get("gpu_uuids", []),
        "spec_hash": request.get("spec_hash", ""),
        "env_names": sorted(request.get("env", {})),
        "created_at": time.time(),
        "meta": request.get("meta", {}),
    }
    layout.write_atomic(paths.file(layout.SPEC), json.dumps(spec, indent=1) + "\n")
    # Secrets live only here, mode 0600, never in an argv.
    layout.write_atomic(paths.file(layout.ENV), json.dumps(request.get("env", {})), 0o600)


def _choose_port(state_dir: str, paths: layout.ReplicaPaths, request: JsonDict) -> int | None:
    taken = set()
    for other in layout.iter_replicas(state_dir):
        if other.dir == paths.dir:
            continue
        try:
            taken.add(int(json.loads(layout.read_text(other.file(layout.SPEC)))["port"]))
        except (ValueError, KeyError, TypeError):
            continue
    lo, hi = request["port_range"]
    for port in range(int(lo), int(hi) + 1):
        if port not in taken and port_is_free(request["bind_host"], port):
            return port
    return None


def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Like the servers we launch (uvicorn, asyncio): a port held only by TIME_WAIT
    # connections is free; one with a listener is not.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            return False
        raise
    finally:
        sock.close()
    return True


# exec's exit status when it cannot record the replica's identity (the state dir's disk is
# full): vLLM is not started, since a run nobody can find again could never be stopped.
CANNOT_RECORD = 75  # EX_TEMPFAIL


def exec_replica(replica_dir: str) -> None:
    """Become vLLM: own process group, identity recorded, env from the 0600 file.

    Its output goes through a pipe to a log pump forked first (see `_start_log_pump`),
    so that a full disk cuts no log line in half.
    """
    _start_log_pump(replica_dir)
    os.setpgid(0, 0)
    pid = os.getpid()
    try:
        layout.write_atomic(os.path.join(replica_dir, layout.PGID), "%d\n" % pid)
        layout.write_atomic(
            os.path.join(replica_dir, layout.START_TICKS), "%s\n" % procfs.start_ticks(pid)
        )
        layout.write_atomic(os.path.join(replica_dir, layout.PID), "%d\n" % pid)
    except OSError as exc:
        sys.stdout.write("[fleetdeck] cannot record the replica's identity: %s\n" % exc)
        sys.stdout.flush()
        os._exit(CANNOT_RECORD)
    spec = json.loads(layout.read_text(os.path.join(replica_dir, layout.SPEC)))
    env = dict(os.environ)
    env.update(json.loads(layout.read_text(os.path.join(replica_dir, layout.ENV), "{}")))
    env[layout.MARKER_VAR] = replica_dir
    argv = spec["argv"]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sys.stdout.write("[fleetdeck] %s starting: %s\n" % (stamp, " ".join(argv)))
    sys.stdout.flush()
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        sys.stdout.write("[fleetdeck] cannot run %s: %s\n" % (argv[0], exc))
        sys.stdout.flush()
        os._exit(127)


def _start_log_pump(replica_dir: str) -> None:
    """Put a pipe between this process's stdout/stderr and the log the supervisor opened.

    The pump is forked before setpgid, so it stays in the supervisor's process group:
    killing vLLM's group does not kill it, and it writes out whatever vLLM wrote before
    dying, then ends at EOF (when the last process of vLLM's group is gone). It carries
    no replica marker, so it is never taken for an orphan.
    """
    read_end, write_end = os.pipe()
    if os.fork() == 0:
        try:
            os.close(write_end)
            pump = records.LogPump(1)
            pump.pump(read_end)
            pump.note_dropped(replica_dir)
        finally:
            os._exit(0)
    os.close(read_end)
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)
