"""kill -9 of a replica's whole process group, over real sshd, with no console or
controller connected and with `fleetdeck run` connected: the supervisor on the host
restarts it after its backoff, in place, as one group; the log shows the killed run
cut short and a new run from seq=1; status counts the restart and events name the
exit with its signal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.faults import invariants
from tests.faults.common import (
    deployment,
    down,
    kill_group,
    ready_replicas,
    state_dirs,
    write_fault_inventory,
)
from tests.harness.fleetdeck_cli import controller_running, fleetdeck, wait_until

pytestmark = pytest.mark.integration


def _killed_and_back(inventory: Path, dirs: list[Path], runs: int) -> None:
    (replica_dir,) = invariants.replica_dirs(*dirs)
    invariants.check_all(inventory, *dirs)
    (before,) = ready_replicas(inventory)
    pgid = kill_group(replica_dir)

    def new_group_serving() -> bool:
        # /proc and the log first: each status call is a whole CLI process (seconds).
        groups = invariants.replica_groups(*dirs).get(str(replica_dir), set())
        text = (replica_dir / "log").read_text(errors="replace")
        return bool(groups - {pgid}) and text.count("Application startup complete") == runs

    wait_until(new_group_serving, 30, "a new run serving")
    wait_until(lambda: len(ready_replicas(inventory)) == 1, 30, "the replica ready")
    invariants.assert_group_gone(pgid)
    invariants.check_all(inventory, *dirs)
    (after,) = invariants.replicas(inventory)
    assert (after["id"], after["host"]) == (before["id"], before["host"]), "restarted in place"
    assert after["last_exit_code"] == 137
    assert after["restarts"] == before["restarts"] + 1
    logged = invariants.assert_log_complete(replica_dir)
    assert len(logged) == runs and all(logged), logged
    exits = [e for e in invariants.events_json(inventory) if e["kind"] == "replica.exited"]
    assert len(exits) == runs - 1, exits
    assert "killed by signal 9" in exits[-1]["message"], exits


def test_kill_9_with_no_controller_then_with_one(sshd_fleet_factory: Any, tmp_path: Path) -> None:
    fleet = sshd_fleet_factory(1)
    inventory = write_fault_inventory(fleet, tmp_path / "fleet.toml", deployment())
    dirs = state_dirs(fleet)
    try:
        applied = fleetdeck("apply", str(inventory), "--wait", "--timeout", "30")
        assert applied.returncode == 0, applied.stderr
        _killed_and_back(inventory, dirs, runs=2)
        with controller_running(inventory) as controller:
            wait_until(lambda: any(e["kind"] for e in controller.events), 20, "controller up")
            _killed_and_back(inventory, dirs, runs=3)
            # The controller saw it too, and started nothing beside it.
            controller.wait_for("replica.exited", timeout=10)
            started = [e for e in controller.events if e["kind"] == "replica.started"]
            assert started == [], started
    finally:
        down(inventory)
    invariants.assert_nothing_left(*dirs)
