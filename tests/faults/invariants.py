"""What every fault scenario must still hold, read from /proc and the hosts' state dirs.

The test "hosts" are all this machine, told apart by their state_dir, so a replica's
processes are found by the marker `launch.exec_replica` puts in their environment
(``FLEETDECK_REPLICA=<state_dir>/<deployment>/<replica>``) and its supervisor by its
command line (``supervise.sh <replica dir> ...``).

- no duplicate replica: per replica dir, at most one live process group (vLLM's, as
  recorded in ``pgid``) and at most one supervisor;
- no orphan: nothing left of a group that was killed, nothing at all after ``down``;
- no lost or repeated log line: the simulator numbers its lines ``seq=1, 2, ...`` from
  its start. A *run* is the output of one exec, which begins with the `[fleetdeck] ...
  starting:` line `exec_replica` writes before exec'ing; within a run the seq numbers
  must be exactly 1..n in order (a kill -9 ends a run anywhere, a restart begins a new
  one at 1). Lines without seq (the supervisor's notes) are not counted.
- status and events: `fleetdeck status --json` / `fleetdeck events --json` answers.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.harness.fleetdeck_cli import fleetdeck

MARKER = b"FLEETDECK_REPLICA="
RUN_START = re.compile(r"^\[fleetdeck\] \S+ starting: ")
SUPERVISOR = re.compile(r"/supervise[^/]*\.sh$")
SEQ = re.compile(r" seq=(\d+)$")


@dataclass(frozen=True)
class Proc:
    pid: int
    pgid: int
    marker: str | None  # the replica dir from the environment, for vLLM's processes
    cmdline: list[str]


def _processes() -> list[Proc]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            raw = Path(f"/proc/{entry}/cmdline").read_bytes()
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            except OSError:
                environ = []
        except (OSError, IndexError):
            continue  # gone meanwhile
        if stat[0] in ("Z", "X"):
            continue
        marker = next((e[len(MARKER) :].decode() for e in environ if e.startswith(MARKER)), None)
        cmdline = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
        found.append(Proc(int(entry), int(stat[2]), marker, cmdline))
    return found


def _under(path: str, state_dirs: Iterable[Path | str]) -> bool:
    return any(path == str(d) or path.startswith(f"{d}/") for d in state_dirs)


def replica_groups(*state_dirs: Path | str) -> dict[str, set[int]]:
    """Replica dir -> the process groups holding live processes marked with it."""
    groups: dict[str, set[int]] = {}
    for proc in _processes():
        if proc.marker is not None and _under(proc.marker, state_dirs):
            groups.setdefault(proc.marker, set()).add(proc.pgid)
    return groups


def supervisors(*state_dirs: Path | str) -> dict[str, set[int]]:
    """Replica dir -> the process groups of `sh supervise-<hash>.sh <replica dir> ...`.

    Each supervisor starts a session (and group) of its own; its log checker is a forked
    subshell with the same command line in the same group, so groups are counted.
    """
    found: dict[str, set[int]] = {}
    for proc in _processes():
        args = proc.cmdline
        at = next((i for i, a in enumerate(args) if SUPERVISOR.search(a)), None)
        if at is not None and at + 1 < len(args) and _under(args[at + 1], state_dirs):
            found.setdefault(args[at + 1], set()).add(proc.pgid)
    return found


def assert_no_duplicate_replica(*state_dirs: Path | str) -> None:
    groups = replica_groups(*state_dirs)
    doubled = {d: g for d, g in groups.items() if len(g) > 1}
    assert not doubled, f"replicas with more than one live process group: {doubled}"
    for replica_dir, pgids in groups.items():
        recorded = (Path(replica_dir) / "pgid").read_text().strip()
        assert pgids == {int(recorded)}, f"{replica_dir}: live {pgids}, recorded {recorded}"
    twice = {d: p for d, p in supervisors(*state_dirs).items() if len(p) > 1}
    assert not twice, f"replicas with more than one supervisor: {twice}"


def assert_group_gone(pgid: int) -> None:
    """Nothing is left of a killed process group."""
    left = [p.pid for p in _processes() if p.pgid == pgid]
    assert not left, f"processes {left} of killed group {pgid} still alive"


def assert_nothing_left(*state_dirs: Path | str) -> None:
    """After `down`: no replica process and no supervisor under these state dirs."""
    assert replica_groups(*state_dirs) == {}, replica_groups(*state_dirs)
    assert supervisors(*state_dirs) == {}, supervisors(*state_dirs)


def log_runs(replica_dir: Path | str) -> list[list[int]]:
    """The seq numbers of each run in the replica's log (rotated files first)."""
    directory = Path(replica_dir)
    files = sorted(directory.glob("log.*"), reverse=True) + [directory / "log"]
    runs: list[list[int]] = []
    for path in files:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if RUN_START.match(line):
                runs.append([])
            elif (seq := SEQ.search(line)) is not None:
                assert runs, f"{path}: a numbered line before any run started: {line!r}"
                runs[-1].append(int(seq.group(1)))
    return runs


def assert_log_complete(replica_dir: Path | str) -> list[list[int]]:
    """Every run's seq numbers are 1..n: nothing lost, nothing repeated. Returns the runs."""
    runs = log_runs(replica_dir)
    for index, seqs in enumerate(runs):
        assert seqs == list(range(1, len(seqs) + 1)), f"{replica_dir} run {index}: {seqs}"
    return runs


def replica_dirs(*state_dirs: Path | str) -> list[Path]:
    """Every replica dir under the state dirs (<state_dir>/<deployment>/<replica>)."""
    return sorted(
        replica
        for state_dir in state_dirs
        for deployment in Path(state_dir).glob("*")
        if deployment.is_dir()
        for replica in deployment.iterdir()
        if replica.is_dir() and (replica / "spec.json").exists()
    )


def assert_all_logs_complete(*state_dirs: Path | str) -> None:
    for replica_dir in replica_dirs(*state_dirs):
        assert_log_complete(replica_dir)


def status_json(inventory: Path) -> dict[str, Any]:
    shown = fleetdeck("status", str(inventory), "--json")
    assert shown.stdout, shown.stderr
    loaded: dict[str, Any] = json.loads(shown.stdout)
    return loaded


def replicas(inventory: Path) -> list[dict[str, Any]]:
    return [r for d in status_json(inventory)["deployments"] for r in d["replicas"]]


def events_json(inventory: Path) -> list[dict[str, Any]]:
    shown = fleetdeck("events", str(inventory), "--json")
    assert shown.returncode == 0, shown.stderr
    return [json.loads(line) for line in shown.stdout.splitlines() if line.strip()]


def check_all(inventory: Path, *state_dirs: Path | str) -> None:
    """The invariants that hold at any quiet moment of any scenario."""
    assert_no_duplicate_replica(*state_dirs)
    assert_all_logs_complete(*state_dirs)


def supervisor_cpu_seconds(*state_dirs: Path | str) -> float:
    """CPU time (user + system, the children it reaped included) of every process in the
    supervisors' groups now: a supervisor that spins instead of backing off shows here."""
    groups = {g for pgids in supervisors(*state_dirs).values() for g in pgids}
    ticks = 0
    for proc in _processes():
        if proc.pgid in groups:
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")
