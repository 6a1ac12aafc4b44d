"""A host that is unreachable from the start (its sshd never runs), over real sshd for
the others: `apply --wait` places every replica on the reachable host and exits 3
(partial) naming the unreachable one; status says it is unreachable; nothing waits a
grace period for a host this process never saw (there is nothing on it to wait for)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.faults import invariants
from tests.faults.common import deployment, down, state_dirs, write_fault_inventory
from tests.harness.fleetdeck_cli import fleetdeck

pytestmark = pytest.mark.integration


def test_a_host_unreachable_from_the_start(sshd_fleet_factory: Any, tmp_path: Path) -> None:
    fleet = sshd_fleet_factory(2)
    fleet.stop_host("host-2")
    inventory = write_fault_inventory(fleet, tmp_path / "fleet.toml", deployment(replicas=2))
    dirs = state_dirs(fleet)
    try:
        began = time.monotonic()
        applied = fleetdeck("apply", str(inventory), "--wait", "--timeout", "60")
        took = time.monotonic() - began
        assert applied.returncode == 3, applied.stdout + applied.stderr
        assert "host-2" in applied.stdout + applied.stderr
        # Generous: the connect timeout is 2 s; a grace period would be minutes.
        assert took < 45, f"apply took {took:.0f}s"
        shown = invariants.status_json(inventory)
        hosts = {h["name"]: h for h in shown["hosts"]}
        assert hosts["host-2"]["state"] == "unreachable", hosts
        ready = [r for r in invariants.replicas(inventory) if r["status"] in ("idle", "active")]
        assert sorted(r["host"] for r in ready) == ["host-1", "host-1"], ready
        invariants.check_all(inventory, *dirs)
        assert not Path(fleet.hosts[1].state_dir).exists() or not invariants.replica_dirs(
            fleet.hosts[1].state_dir
        )
    finally:
        fleet.start_host("host-2")
        down(inventory)
    invariants.assert_nothing_left(*dirs)
