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


def _killed_and_back(inventory: Path, dirs: list[Path]) -> None:
    (replica_dir,) = invariants.replica_dirs(*dirs)
    invariants.check_all(inventory, *dirs)
    (before,) = ready_replicas(inventory)
    pgid = kill_group(replica_dir)

    def restarted() -> bool:
        ready = ready_replicas(inventory)
        return len(ready) == 1 and ready[0]["restarts"] == before["restarts"] + 1

    wait_until(restarted, 30, "the replica restarted and ready")
    invariants.assert_group_gone(pgid)
    invariants.check_all(inventory, *dirs)
    (after,) = invariants.replicas(inventory)
    assert (after["id"], after["host"]) == (before["id"], before["host"]), "restarted in place"
    assert after["last_exit_code"] == 137
    runs = invariants.assert_log_complete(replica_dir)
    assert len(runs) == 2 and runs[0] and runs[1], runs
    exits = [e for e in invariants.events_json(inventory) if e["kind"] == "replica.exited"]
    assert len(exits) == 1 and "killed by signal 9" in exits[0]["message"], exits


def test_kill_9_with_no_controller(sshd_fleet_factory: Any, tmp_path: Path) -> None:
    fleet = sshd_fleet_factory(1)
    inventory = write_fault_inventory(fleet, tmp_path / "fleet.toml", deployment())
    dirs = state_dirs(fleet)
    try:
        applied = fleetdeck("apply", str(inventory), "--wait", "--timeout", "30")
        assert applied.returncode == 0, applied.stderr
        _killed_and_back(inventory, dirs)
    finally:
        down(inventory)
    invariants.assert_nothing_left(*dirs)


def test_kill_9_with_a_controller_running(sshd_fleet_factory: Any, tmp_path: Path) -> None:
    fleet = sshd_fleet_factory(1)
    inventory = write_fault_inventory(fleet, tmp_path / "fleet.toml", deployment())
    dirs = state_dirs(fleet)
    with controller_running(inventory) as controller:
        wait_until(lambda: len(ready_replicas(inventory)) == 1, 30, "one ready replica")
        _killed_and_back(inventory, dirs)
        # The controller saw it too, and did not start a second one beside it.
        controller.wait_for("replica.exited", timeout=10)
        started = [e for e in controller.events if e["kind"] == "replica.started"]
        assert len(started) == 1, started
    invariants.assert_nothing_left(*dirs)
