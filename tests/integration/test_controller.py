"""The controller (`fleetdeck run`) over real sshd: two controllers never fight, and a
replica that cannot start is given up on rather than looped forever."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fleetdeck_cli import EventStream, controller_running, fleetdeck, status
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration


def test_second_controller_waits_until_the_first_stops(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    deployment = """
[[deployments]]
name = "chat"
model = "sim/chat"
replicas = 2
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.5"]
"""
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=deployment)
    first = EventStream(inventory)
    second: EventStream | None = None
    try:
        first.wait_for("controller.in-charge")
        first.wait_for("replica.started")
        second = EventStream(inventory)
        waiting = second.wait_for("controller.waiting")
        assert "held by" in waiting["message"]
        # The second one does not act: after a while there are still exactly 2 replicas,
        # and every start came from the first.
        time.sleep(3)
        assert not [e for e in second.events if e["kind"].startswith("replica.")]
        replicas = [r for d in status(inventory)["deployments"] for r in d["replicas"]]
        assert len(replicas) == 2
        # When the first stops, it releases its leases and the second takes charge.
        assert first.stop() == 0
        second.wait_for("controller.in-charge", timeout=30)
        leases = {h["name"]: h.get("lease_holder") for h in status(inventory)["hosts"]}
        assert all(
            holder and holder.endswith(f":{second.process.pid}") for holder in leases.values()
        )
    finally:
        first.stop()
        if second is not None:
            second.stop()
        fleetdeck("down", str(inventory))


def test_replica_failing_at_start_is_given_up_with_its_reason(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    deployment = """
[[deployments]]
name = "broken"
model = "sim/broken"
replicas = 1
restart_backoff = "1s"
max_start_failures = 2
[deployments.vllm]
extra_args = ["--sim-fail-at-start", "out-of-memory"]
"""
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=deployment)
    try:
        applied = fleetdeck("apply", str(inventory), "--wait", "--json", "--timeout", "60")
        assert applied.returncode == 1
        document = json.loads(applied.stdout)
        assert "failed at start 2 times in a row: out of memory" in document["reason"]
        (replica,) = document["status"]["deployments"][0]["replicas"]
        assert replica["status"] == "failed"
        assert replica["reason"].startswith("failed at start 2 times in a row")
        assert replica["log_excerpt"], "its last run's last lines are kept"
        # The first failure's log excerpt is kept, ending with vLLM's own error.
        assert any("less than desired" in line for line in replica["first_failure"])
        # It stays given up: another apply starts nothing and says why.
        again = fleetdeck("apply", str(inventory), "--json", "--timeout", "10")
        assert again.returncode == 1
        assert "fleetdeck restart FILE broken" in json.loads(again.stdout)["reason"]
        events = fleetdeck("events", str(inventory), "--json").stdout.splitlines()
        kinds = [json.loads(line)["kind"] for line in events]
        assert "replica.failed" in kinds and "replica.exited" in kinds
        # The supervisor is gone: nothing loops on the host.
        state = Path(fleet.hosts[0].state_dir) / "broken"
        (replica_dir,) = list(state.iterdir())
        assert (replica_dir / "failed").read_text().startswith("failed at start 2 times")
        assert not (replica_dir / "wrapper_pid").exists()
    finally:
        fleetdeck("down", str(inventory))
    assert os.path.isdir(fleet.hosts[0].state_dir)


def test_one_shot_commands_hand_over_to_the_controller_in_charge(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    deployment = """
[[deployments]]
name = "chat"
model = "sim/chat"
replicas = 1
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.5"]
"""
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=deployment)
    with controller_running(inventory) as controller:
        controller.wait_for("replica.started")
        # scale: the intent is recorded and the controller carries it out.
        scaled = fleetdeck("scale", str(inventory), "chat", "3", "--timeout", "60")
        assert scaled.returncode == 0, scaled.stderr
        assert "another controller is in charge" in scaled.stderr
        ready = [d["ready"] for d in status(inventory)["deployments"]]
        assert ready == [3]
        # down would be undone by the controller: refused, nothing stopped.
        refused = fleetdeck("down", str(inventory))
        assert refused.returncode == 1 and "stop `fleetdeck run`" in refused.stderr
        assert [d["ready"] for d in status(inventory)["deployments"]] == [3]
        # An edit of the inventory is picked up; a broken edit is reported and ignored.
        text = inventory.read_text()
        inventory.write_text(text.replace('name = "chat"', 'name = "chat"\nbogus_key = 1'))
        controller.wait_for("inventory.invalid")
        inventory.write_text(text + '\n[[deployments]]\nname = "embed"\nmodel = "sim/embed"\n')
        controller.wait_for("inventory.reloaded")
        applied = fleetdeck("apply", str(inventory), "--wait", "--timeout", "60")
        assert applied.returncode == 0, applied.stderr
        names = {d["name"]: d["ready"] for d in status(inventory)["deployments"]}
        assert names == {"chat": 3, "embed": 1}


def test_killed_replica_is_restarted_and_the_event_says_why(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    deployment = """
[[deployments]]
name = "chat"
model = "sim/chat"
replicas = 1
restart_backoff = "1s"
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.5"]
"""
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=deployment)
    with controller_running(inventory) as controller:
        controller.wait_for("replica.started")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (replica,) = status(inventory)["deployments"][0]["replicas"]
            if replica["status"] in ("active", "idle"):
                break
            time.sleep(0.3)
        first_pid = replica["pid"]
        os.kill(first_pid, signal.SIGKILL)
        exited = controller.wait_for("replica.exited", timeout=30)
        assert exited["subject"] == replica["id"]
        assert "code 137" in exited["message"] and "killed by signal 9" in exited["message"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (again,) = status(inventory)["deployments"][0]["replicas"]
            if again["status"] in ("active", "idle") and again["pid"] != first_pid:
                break
            time.sleep(0.3)
        assert again["id"] == replica["id"], "restarted in place by its supervisor"
        assert again["restarts"] == 1 and again["last_exit_code"] == 137
        assert not [e for e in controller.events if e["kind"] == "replica.started"][1:]
