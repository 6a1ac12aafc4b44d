"""What is running under a state dir, read from state files, /proc and each replica's HTTP."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from . import identity, layout
from .layout import JsonDict

LOG_TAIL_LINES = 60
LOG_TAIL_BYTES = 24 * 1024
REQUEST_COUNTER = "vllm:request_success_total"


def observe_replicas(state_dir: str) -> list[JsonDict]:
    return [observe_replica(paths) for paths in layout.iter_replicas(state_dir)]


def observe_replica(paths: layout.ReplicaPaths) -> JsonDict:
    try:
        spec = json.loads(layout.read_text(paths.file(layout.SPEC), "{}"))
    except ValueError:
        spec = {}
    pid = identity.running_vllm(paths)
    alive = pid is not None
    wrapper_alive = identity.running_supervisor(paths) is not None
    port = spec.get("port")
    bind_host = spec.get("bind_host", "127.0.0.1")
    probe_host = "127.0.0.1" if bind_host in ("0.0.0.0", "") else bind_host
    healthy = alive and port is not None and _health(probe_host, int(port))
    requests_total = _requests_total(probe_host, int(port)) if healthy else None
    observation = {
        "deployment": paths.deployment,
        "replica": paths.replica,
        "port": port,
        "bind_host": bind_host,
        "spec_hash": spec.get("spec_hash", ""),
        "gpu_uuids": spec.get("gpu_uuids", []),
        "meta": spec.get("meta", {}),
        "created_at": spec.get("created_at"),
        "pid": pid,
        "alive": alive,
        "wrapper_alive": wrapper_alive,
        "healthy": healthy,
        "stop_requested": os.path.exists(paths.file(layout.STOP)),
        "exits": _exits(paths),
        "requests_total": requests_total,
        "started_at": _mtime(paths.file(layout.PID)) if alive else None,
        "log_size": _size(paths.file(layout.LOG)),
        "log_tail": [] if healthy else tail_lines(paths.file(layout.LOG), LOG_TAIL_LINES),
    }
    return observation


def _health(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen("http://%s:%d/health" % (host, port), timeout=1.0) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _requests_total(host: str, port: int) -> float | None:
    """Sum of vLLM's finished-request counter; enough to tell active from idle."""
    try:
        with urllib.request.urlopen("http://%s:%d/metrics" % (host, port), timeout=1.0) as resp:
            text = resp.read().decode("utf-8", "replace")
    except (OSError, urllib.error.URLError, ValueError):
        return None
    total = 0.0
    for line in text.splitlines():
        if line.startswith(REQUEST_COUNTER):
            try:
                total += float(line.rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                continue
    return total


def _exits(paths: layout.ReplicaPaths) -> list[list[float]]:
    exits = []
    for line in layout.read_text(paths.file(layout.EXITS)).splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                exits.append([int(parts[0]), float(parts[1])])
            except ValueError:
                continue
    return exits[-50:]


def tail_lines(path: str, count: int) -> list[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - LOG_TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    if size > LOG_TAIL_BYTES and lines:
        lines = lines[1:]  # the first line is probably cut
    return lines[-count:]


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
