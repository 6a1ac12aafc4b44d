"""sshd going away under a running controller (`fleetdeck run`), over real sshd: once
stopped (the listener and its connections killed) then started again, once hung
(SIGSTOP) then resumed (SIGCONT). The replica on that host is the host's own: it keeps
running in the same process group throughout, the controller marks the host
unreachable, starts no replacement within the grace period (a blip must not spend GPUs
twice) and takes the replica back when the host returns; its log loses nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.faults import invariants
from tests.faults.common import (
    READY,
    deployment,
    ready_replicas,
    state_dirs,
    write_fault_inventory,
)
from tests.harness.fleetdeck_cli import controller_running, wait_until
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

OUTAGES: dict[str, tuple[Callable[[SshdFleet, str], None], Callable[[SshdFleet, str], None]]] = {
    "stopped-then-started": (SshdFleet.stop_host, SshdFleet.start_host),
    "hung-then-resumed": (SshdFleet.pause_host, SshdFleet.resume_host),
}


@pytest.mark.parametrize("outage", list(OUTAGES))
def test_sshd_outage_during_run(sshd_fleet_factory: Any, tmp_path: Path, outage: str) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    inventory = write_fault_inventory(fleet, tmp_path / "fleet.toml", deployment())
    dirs = state_dirs(fleet)
    take_down, bring_back = OUTAGES[outage]
    with controller_running(inventory) as controller:
        wait_until(lambda: len(invariants.replica_groups(*dirs)) == 1, 30, "a replica running")
        wait_until(lambda: len(ready_replicas(inventory)) == 1, 30, "the replica ready")
        ((replica_dir, pgids),) = invariants.replica_groups(*dirs).items()
        host = next(h for h in fleet.hosts if replica_dir.startswith(f"{h.state_dir}/"))
        take_down(fleet, host.name)
        try:
            controller.wait_for("host.unreachable", timeout=20)
            # The replica lives on, alone: no second group, no replacement elsewhere.
            assert invariants.replica_groups(*dirs) == {replica_dir: pgids}
        finally:
            bring_back(fleet, host.name)
        wait_until(
            lambda: [r["status"] for r in invariants.replicas(inventory)] in (["idle"], ["active"]),
            30,
            "the replica ready again",
        )
        assert invariants.replica_groups(*dirs) == {replica_dir: pgids}, "the same group"
        invariants.check_all(inventory, *dirs)
        assert len(invariants.assert_log_complete(replica_dir)) == 1
        started = [e for e in controller.events if e["kind"] == "replica.started"]
        assert len(started) == 1, started
        shown = invariants.status_json(inventory)
        assert all(r["status"] in READY for d in shown["deployments"] for r in d["replicas"])
        assert {h["name"]: h["state"] for h in shown["hosts"]}[host.name] == "up", shown["hosts"]
    invariants.assert_nothing_left(*dirs)
