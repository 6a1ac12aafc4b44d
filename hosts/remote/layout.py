"""Where a replica's state lives on a host: <state_dir>/<deployment>/<replica>/."""

from __future__ import annotations

import os
from typing import Any, Dict

from .records import write_atomic as write_atomic  # whole or absent; its old home

# Runtime-valid on the hosts' Python 3.8 (no builtin generics there).
JsonDict = Dict[str, Any]

SPEC = "spec.json"
PID = "pid"
PGID = "pgid"
START_TICKS = "start_ticks"
WRAPPER_PID = "wrapper_pid"
EXITS = "exits"
ENV = "env"
LOG = "log"
STOP = "stop"
MARKER_VAR = "FLEETDECK_REPLICA"


class ReplicaPaths:
    def __init__(self, state_dir: str, deployment: str, replica: str) -> None:
        self.state_dir = state_dir
        self.deployment = deployment
        self.replica = replica
        self.dir = os.path.join(state_dir, deployment, replica)

    @property
    def replica_id(self) -> str:
        return self.deployment + "/" + self.replica

    def file(self, name: str) -> str:
        return os.path.join(self.dir, name)


def expand_state_dir(state_dir: str) -> str:
    return os.path.abspath(os.path.expanduser(state_dir))


def iter_replicas(state_dir: str) -> list[ReplicaPaths]:
    """Every replica directory that has a spec, in a stable order."""
    found: list[ReplicaPaths] = []
    if not os.path.isdir(state_dir):
        return found
    for deployment in sorted(os.listdir(state_dir)):
        if deployment.startswith("."):
            continue
        ddir = os.path.join(state_dir, deployment)
        if not os.path.isdir(ddir):
            continue
        for replica in sorted(os.listdir(ddir)):
            paths = ReplicaPaths(state_dir, deployment, replica)
            if os.path.isfile(paths.file(SPEC)):
                found.append(paths)
    return found


def read_text(path: str, default: str = "") -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return default


def read_int(path: str) -> int | None:
    text = read_text(path).strip()
    try:
        return int(text)
    except ValueError:
        return None
