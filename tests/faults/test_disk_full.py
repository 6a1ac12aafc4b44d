"""The state dir's disk full, over real sshd with the simulator: the host and its replica
say so (status, its exit code, events), a kill and the restarts that cannot start while
it is full reach `exits` once there is room, dated when they happened, no log line is
cut or glued to another, no temp file is left, and everything recovers once it is freed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.faults.tmpfs import fill, small_tmpfs
from tests.harness.fleetdeck_cli import fleetdeck, wait_until
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

DEPLOYMENT = """
[[deployments]]
name = "chat"
model = "sim/chat"
replicas = 1
restart_backoff = "1s"
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.3"]
"""

SIM_LINE = re.compile(r"^(?!.*seq=\d+.*seq=).* seq=(\d+)$")  # one seq=, at the end


def status_json(inventory: Path) -> tuple[int, dict[str, Any], str]:
    shown = fleetdeck("status", str(inventory), "--json")
    return shown.returncode, json.loads(shown.stdout), shown.stderr


def the_replica(document: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = document["deployments"]
    (replica,) = deployment["replicas"]
    return dict(replica)


def temp_files(state_dir: Path) -> list[str]:
    return [str(p) for p in state_dir.rglob("*.tmp")]


def events(inventory: Path) -> list[dict[str, Any]]:
    shown = fleetdeck("events", str(inventory), "--json")
    assert shown.returncode == 0, shown.stderr
    return [json.loads(line) for line in shown.stdout.splitlines()]


def assert_log_lines_whole(log: str) -> None:
    """Every line is fleetdeck's own or one whole simulator line; seq only goes up
    within a run (a run starts again from 1)."""
    last = 0
    for line in log.splitlines():
        if line.startswith("[fleetdeck]"):
            assert "seq=" not in line, f"a simulator line glued to ours: {line!r}"
            continue
        found = SIM_LINE.match(line)
        assert found, f"a cut or glued log line: {line!r}"
        seq = int(found.group(1))
        assert seq > last or seq == 1, f"seq {seq} after {last}: repeated or out of order"
        last = seq


def test_disk_full_is_reported_recorded_later_and_recovers(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    state_dir = Path(fleet.hosts[0].state_dir)
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENT)
    with small_tmpfs(state_dir, "4m"):
        try:
            applied = fleetdeck("apply", str(inventory), "--wait", "--timeout", "60")
            assert applied.returncode == 0, applied.stderr
            rc, before, _ = status_json(inventory)
            assert rc == 0 and before["hosts"][0]["disk_full"] is None
            replica = the_replica(before)
            replica_dir = state_dir / replica["id"]

            filler = fill(state_dir)
            rc, full, stderr = status_json(inventory)
            host = full["hosts"][0]
            assert rc == 1, "disk full is a failure for a script"
            assert host["disk_full"] and "disk full" in host["error"]
            assert "disk full" in stderr
            assert "disk full" in (the_replica(full)["reason"] or "")
            table = fleetdeck("status", str(inventory), "--sample", "0")
            assert table.returncode == 1 and "up, disk full" in table.stdout

            # Each request writes an access-log line: more than the log's last page
            # holds, so some would be cut part-way without the whole-or-absent pump.
            for _ in range(150):
                url = f"http://127.0.0.1:{replica['port']}/health"
                with urllib.request.urlopen(url, timeout=5) as answer:
                    assert answer.status == 200

            killed_at = int(os.path.getmtime(replica_dir / "spec.json"))  # a lower bound
            os.kill(replica["pid"], signal.SIGKILL)

            # While full: the supervisor tries to restart (each try refuses to start a
            # vLLM it could not record) and keeps the exits it cannot write yet. The
            # replica is not counted ready, and says why.
            def not_ready() -> bool:
                rc, now, _ = status_json(inventory)
                (deployment,) = now["deployments"]
                replica_now = the_replica(now)
                return (
                    rc == 1
                    and deployment["ready"] == 0
                    and replica_now["status"] not in ("active", "idle")
                    and "disk full" in (replica_now["reason"] or "")
                )

            wait_until(not_ready, 30, "the killed replica to be shown not ready")
            assert temp_files(state_dir) == []
            kinds = [(e["kind"], e["subject"]) for e in events(inventory)]
            assert ("host.disk_full", host["name"]) in kinds

            filler.unlink()

            def serving_again() -> bool:
                now = the_replica(status_json(inventory)[1])
                return now["status"] in ("active", "idle") and now["pid"] != replica["pid"]

            wait_until(serving_again, 60, "the replica to serve again")
            rc, after, _ = status_json(inventory)
            assert rc == 0 and after["hosts"][0]["disk_full"] is None
            assert after["hosts"][0]["error"] is None

            exits = [line.split() for line in (replica_dir / "exits").read_text().splitlines()]
            codes = [int(code) for code, *_ in exits]
            times = [int(at) for _, at, *_ in exits]
            assert codes[0] == 137, f"the kill is recorded first: {exits}"
            assert times[0] >= killed_at and times == sorted(times)
            assert all(how == "restart" for _, _, how, _ in exits)
            assert 75 in codes[1:], f"the restarts that could not start are recorded: {exits}"

            log = (replica_dir / "log").read_text()
            assert_log_lines_whole(log)
            assert "log lines dropped: no space left" in log
            assert temp_files(state_dir) == []
            kinds = [(e["kind"], e["subject"]) for e in events(inventory)]
            assert kinds.count(("host.disk_full", host["name"])) == 1, "said once"
            assert kinds.count(("host.disk_ok", host["name"])) == 1
            assert ("replica.exited", replica["id"]) in kinds
        finally:
            down = fleetdeck("down", str(inventory))
            assert down.returncode == 0, down.stderr
