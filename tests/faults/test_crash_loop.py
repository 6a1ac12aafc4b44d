"""A replica whose command cannot run at all, over real sshd: it ends failed, with the
reason the engine gave up for and what its last run said (or that it said nothing), and
no supervisor is left looping on the host. While it loops, the supervisor backs off
(its CPU time stays small) and there is never more than one group for the replica; the
failed runs' logs are whole (seq 1..n per run, for the one that prints)."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.faults import invariants
from tests.harness.fleetdeck_cli import fleetdeck
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

DEPLOYMENT = """
[[deployments]]
name = "bad"
model = "sim/bad"
replicas = 1
restart_backoff = "1s"
max_start_failures = 2
"""

CASES = [
    pytest.param(
        "/bin/false", 1, "crashed (exit 1)", ["exited at once with code 1, no output"],
        id="bin-false",
    ),
    pytest.param(
        "/nonexistent/vllm", 127, "vLLM command not found",
        ["[fleetdeck] cannot run /nonexistent/vllm: [Errno 2] No such file or directory:"],
        id="missing-binary",
    ),
    pytest.param(
        "sh -c 'echo loading the model; echo; echo Error: no GPU here >&2; exit 3'", 3,
        "crashed (exit 3)", ["loading the model", "Error: no GPU here"],
        id="prints-then-exits",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("command", "code", "why", "excerpt"), CASES)
def test_a_crash_loop_ends_failed_with_its_reason_and_excerpt(
    sshd_fleet_factory: Any, tmp_path: Path, command: str, code: int, why: str, excerpt: list[str]
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    inventory = write_inventory(
        fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENT, vllm_command=command
    )
    try:
        cpu_s = 0.0
        with ThreadPoolExecutor(1) as thread:
            apply_args = ("apply", str(inventory), "--wait", "--timeout", "60")
            applying = thread.submit(fleetdeck, *apply_args)
            while not applying.done():
                invariants.assert_no_duplicate_replica(fleet.hosts[0].state_dir)
                cpu_s = max(cpu_s, invariants.supervisor_cpu_seconds(fleet.hosts[0].state_dir))
                time.sleep(0.2)
            applied = applying.result()
        # Two starts and a 1 s backoff between them: a few shell commands, not a spin.
        assert cpu_s < 2.0, f"the supervisor used {cpu_s:.2f}s of CPU"
        assert applied.returncode == 1, applied.stdout + applied.stderr
        assert "failed at start 2 times in a row" in applied.stderr

        shown = fleetdeck("status", str(inventory), "--json")
        assert shown.returncode == 1, "a failed deployment is a failed status"
        assert "deployment bad has failed" in shown.stderr
        (deployment,) = json.loads(shown.stdout)["deployments"]
        assert (deployment["status"], deployment["ready"]) == ("failed", 0)
        (replica,) = deployment["replicas"]
        assert replica["status"] == "failed"
        assert replica["reason"] == f"failed at start 2 times in a row: {why}"
        assert replica["last_exit_code"] == code
        lines = replica["log_excerpt"]
        assert len(lines) == len(excerpt)
        assert all(line.startswith(want) for line, want in zip(lines, excerpt, strict=True))

        # The table says the same, the excerpt under the reason.
        table = fleetdeck("status", str(inventory), "--sample", "0")
        assert table.returncode == 1
        assert f"bad/{replica['id'].split('/')[1]} on host-1: {replica['reason']}" in table.stdout
        assert f"    {lines[-1]}" in table.stdout

        # Nothing loops on the host: the supervisor is gone, the reason kept.
        (replica_dir,) = list((Path(fleet.hosts[0].state_dir) / "bad").iterdir())
        assert (replica_dir / "failed").read_text().strip() == replica["reason"]
        assert not (replica_dir / "wrapper_pid").exists()
        runs = (replica_dir / "exits").read_text().splitlines()
        again = fleetdeck("status", str(inventory), "--json")
        assert json.loads(again.stdout)["deployments"][0]["replicas"][0]["status"] == "failed"
        assert (replica_dir / "exits").read_text().splitlines() == runs, "no run since"
        # Each run logged whole; the engine stops it at its 2nd failure or during the
        # backoff after a 3rd it had not seen yet, never later. A 3rd run the stop ended
        # ("143 ... stop") may have died before it wrote its first line.
        logged = len(invariants.assert_log_complete(replica_dir))
        assert len(runs) in (2, 3), runs
        stopped_early = len(runs) == 3 and runs[-1].split()[2] == "stop"
        assert logged == len(runs) or (stopped_early and logged == 2), (logged, runs)
        assert invariants.supervisors(fleet.hosts[0].state_dir) == {}
        assert invariants.replica_groups(fleet.hosts[0].state_dir) == {}
        kinds = [e["kind"] for e in invariants.events_json(inventory)]
        assert "replica.failed" in kinds or "deployment.failed" in kinds, kinds
    finally:
        fleetdeck("down", str(inventory))
    assert os.path.isdir(fleet.hosts[0].state_dir)
    invariants.assert_nothing_left(fleet.hosts[0].state_dir)
