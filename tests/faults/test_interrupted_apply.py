"""`apply --wait` cut short mid-apply, over real sshd, once by ctrl-C (SIGINT) and once
by kill -9: ctrl-C exits 130 and leaves no lease behind; either way nothing is
half-done: the next `apply --wait` takes over what was started (no duplicate replica,
no wait on a stale lease), logs are whole and `down` leaves nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.faults import invariants
from tests.faults.common import deployment, down, state_dirs, write_fault_inventory
from tests.harness.fleetdeck_cli import FLEETDECK, fleetdeck, wait_until

pytestmark = pytest.mark.integration


def _live_lease_holders(dirs: list[Path]) -> list[str]:
    holders = []
    for state_dir in dirs:
        lease = state_dir / "lease.json"
        if lease.exists():
            data = json.loads(lease.read_text() or "null")
            if data and float(data["expires_at"]) > time.time():
                holders.append(str(data["holder"]))
    return holders


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_apply_cut_short_then_applied_again(
    sshd_fleet_factory: Any, tmp_path: Path, signum: signal.Signals
) -> None:
    fleet = sshd_fleet_factory(1)
    # Loading takes a while, so the signal lands while apply waits for readiness.
    inventory = write_fault_inventory(
        fleet, tmp_path / "fleet.toml", deployment(replicas=2, load_s=5)
    )
    dirs = state_dirs(fleet)
    try:
        applying = subprocess.Popen(
            [FLEETDECK, "apply", str(inventory), "--wait", "--timeout", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_until(lambda: len(invariants.replica_groups(*dirs)) >= 1, 30, "a replica running")
        applying.send_signal(signum)
        _, err = applying.communicate(timeout=30)
        invariants.assert_no_duplicate_replica(*dirs)
        if signum == signal.SIGINT:
            assert applying.returncode == 130, err
            assert _live_lease_holders(dirs) == [], "ctrl-C left its lease"

        again = fleetdeck("apply", str(inventory), "--wait", "--timeout", "60")
        assert again.returncode == 0, again.stdout + again.stderr
        if signum == signal.SIGINT:
            assert "waiting for" not in again.stderr, again.stderr
        ready = [r for d in invariants.status_json(inventory)["deployments"] for r in d["replicas"]]
        assert sorted(r["status"] for r in ready) == ["idle", "idle"], ready
        assert len({r["id"] for r in ready}) == 2
        invariants.check_all(inventory, *dirs)
        assert len(invariants.replica_groups(*dirs)) == 2
        for replica_dir in invariants.replica_dirs(*dirs):
            # Taken over, not started again: one run each.
            assert len(invariants.assert_log_complete(replica_dir)) == 1, replica_dir
    finally:
        down(inventory)
    invariants.assert_nothing_left(*dirs)
