"""Host history over real sshd: a replica that crashed and was restarted by its
supervisor while no fleetdeck process ran is in `fleetdeck events`, once, however many
commands and controllers observe it afterwards."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fleetdeck_cli import EventStream, fleetdeck, status, wait_until
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


def running_replica(inventory: Path, not_pid: int | None = None) -> dict[str, Any]:
    """The deployment's one replica once it serves (with a pid other than `not_pid`)."""
    found: dict[str, Any] = {}

    def serving() -> bool:
        (replica,) = status(inventory)["deployments"][0]["replicas"]
        found.update(replica)
        return replica["status"] in ("active", "idle") and replica["pid"] != not_pid

    wait_until(serving, 30, "the replica to serve")
    return found


def kill_and_wait_for_the_record(fleet: SshdFleet, replica: dict[str, Any]) -> float:
    """SIGKILL the replica's vLLM; the time its supervisor recorded for that exit."""
    exits = Path(fleet.hosts[0].state_dir) / replica["id"] / "exits"
    before = exits.read_text().splitlines() if exits.exists() else []
    os.kill(replica["pid"], signal.SIGKILL)
    wait_until(
        lambda: exits.exists() and len(exits.read_text().splitlines()) > len(before),
        15,
        f"a new line in {exits}",
    )
    code, at, how, ran = exits.read_text().splitlines()[-1].split()
    assert (code, how) == ("137", "restart") and int(ran) >= 0
    return float(at)


def exits_in_events(inventory: Path, subject: str) -> list[dict[str, Any]]:
    shown = fleetdeck("events", str(inventory), "--json")
    assert shown.returncode == 0, shown.stderr
    events = [json.loads(line) for line in shown.stdout.splitlines()]
    times = [e["time"] for e in events]
    assert times == sorted(times), "in time order"
    return [e for e in events if e["kind"] == "replica.exited" and e["subject"] == subject]


def test_a_crash_with_no_controller_running_is_in_the_events_once(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENT)
    try:
        applied = fleetdeck("apply", str(inventory), "--wait", "--timeout", "60")
        assert applied.returncode == 0, applied.stderr
        replica = running_replica(inventory)
        at = kill_and_wait_for_the_record(fleet, replica)

        (exited,) = exits_in_events(inventory, replica["id"])
        assert exited["time"] == at, "dated when it happened on the host"
        assert "code 137" in exited["message"] and "killed by signal 9" in exited["message"]
        assert "the supervisor restarts it" in exited["message"]
        assert exited["level"] == "warning"

        # Observed again, by `events` and by `status`: still one.
        assert len(exits_in_events(inventory, replica["id"])) == 1
        again = running_replica(inventory, not_pid=replica["pid"])
        assert again["id"] == replica["id"] and again["restarts"] == 1
        assert fleetdeck("status", str(inventory)).returncode == 0
        assert [e["time"] for e in exits_in_events(inventory, replica["id"])] == [at]
    finally:
        fleetdeck("down", str(inventory))


def test_exits_seen_by_a_controller_are_not_merged_again(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENT)
    controller: EventStream | None = None
    try:
        applied = fleetdeck("apply", str(inventory), "--wait", "--timeout", "60")
        assert applied.returncode == 0, applied.stderr
        first = running_replica(inventory)
        # Before any controller runs, and no command observes it: `fleetdeck run` merges
        # it when it first observes the host.
        first_at = kill_and_wait_for_the_record(fleet, first)
        controller = EventStream(inventory)
        merged = controller.wait_for("replica.exited")
        assert (merged["subject"], merged["time"]) == (first["id"], first_at)
        assert "killed by signal 9" in merged["message"]
        # While it runs (and one-shot `status` commands observe beside it): seen live.
        second = running_replica(inventory, not_pid=first["pid"])
        second_at = kill_and_wait_for_the_record(fleet, second)

        def live_exits() -> list[float]:
            return [e["time"] for e in controller.events if e["kind"] == "replica.exited"]

        wait_until(lambda: live_exits() == [first_at, second_at], 15, "the live exit event")
        running_replica(inventory, not_pid=second["pid"])
        assert controller.stop() == 0
        controller = None

        # A one-shot command observes the same exits on the host: one event each.
        for _ in range(2):
            exits = exits_in_events(inventory, first["id"])
            assert [e["time"] for e in exits] == [first_at, second_at]
            assert all("killed by signal 9" in e["message"] for e in exits)
    finally:
        if controller is not None:
            controller.stop()
        fleetdeck("down", str(inventory))
