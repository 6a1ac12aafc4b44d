"""Two one-shot `apply --wait` started at the same moment on one inventory, over real
sshd: the host leases never split between them (they are taken in one order, all or
none), so one acts and the other waits for it; both end 0, with no duplicate replica (in
status and on the hosts, while they run and after), whole logs and nothing left after
`down`."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.faults import invariants
from tests.harness.fleetdeck_cli import FLEETDECK, fleetdeck, status
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

TRIALS = 3
DEPLOYMENTS = """
[[deployments]]
name = "chat"
model = "sim/chat"
replicas = 2
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.5"]

[[deployments]]
name = "embed"
model = "sim/embed"
replicas = 1
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.5"]
"""


def test_two_concurrent_applies_never_deadlock(sshd_fleet_factory: Any, tmp_path: Path) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENTS)
    dirs = [h.state_dir for h in fleet.hosts]
    try:
        for trial in range(TRIALS):
            started = time.monotonic()
            both = [
                subprocess.Popen(
                    [FLEETDECK, "apply", str(inventory), "--wait", "--timeout", "60"],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            while any(p.poll() is None for p in both):
                invariants.assert_no_duplicate_replica(*dirs)
                time.sleep(0.2)
            results = [p.communicate(timeout=90) for p in both]
            elapsed = time.monotonic() - started
            for process, (_, err) in zip(both, results, strict=True):
                assert process.returncode == 0, f"trial {trial}: {err}"
            assert elapsed < 30, f"trial {trial} took {elapsed:.0f}s"
            deployments = {d["name"]: d for d in status(inventory)["deployments"]}
            assert {n: d["ready"] for n, d in deployments.items()} == {"chat": 2, "embed": 1}
            for name, want in (("chat", 2), ("embed", 1)):
                ids = [r["id"] for r in deployments[name]["replicas"]]
                assert len(ids) == want == len(set(ids)), f"trial {trial}: {name} {ids}"
            # The one that waited said for whom, once.
            waited = [err for _, err in results if "waiting for " in err]
            assert all(err.count("waiting for ") == 1 for err in waited)
            invariants.check_all(inventory, *dirs)
            assert fleetdeck("down", str(inventory)).returncode == 0
            invariants.assert_nothing_left(*dirs)
    finally:
        fleetdeck("down", str(inventory))
