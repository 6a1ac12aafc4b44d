"""Several operators, one fleet, over real sshd: desired-count overrides and the journal
of who changed them live on the fleet's home host (the first by name), so two operators
(two local state dirs, two names) agree on what should run and on who asked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fleetdeck_cli import (
    FLEETDECK,
    controller_running,
    fleetdeck,
    status,
    wait_until,
    with_env,
)
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

DEPLOYMENT = """
[[deployments]]
name = "chat"
model = "sim/chat"
replicas = 1
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.3"]
"""


class Operator:
    """One person at one machine: their own copy of the inventory and local state."""

    def __init__(self, name: str, fleet: SshdFleet, home: Path) -> None:
        self.name = name
        self.inventory = write_inventory(fleet, home / "fleet.toml", deployments_toml=DEPLOYMENT)
        self.env = {"XDG_STATE_HOME": str(home / "state"), "FLEETDECK_OPERATOR": name}

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return fleetdeck(args[0], str(self.inventory), *args[1:], timeout=timeout, env=self.env)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [FLEETDECK, args[0], str(self.inventory), *args[1:]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=with_env(self.env),
        )

    def status(self) -> dict[str, Any]:
        return status(self.inventory, env=self.env)

    def desired(self) -> int:
        (chat,) = self.status()["deployments"]
        return int(chat["desired"])

    def scaled_events(self) -> list[dict[str, Any]]:
        shown = self.run("events", "--json")
        assert shown.returncode == 0, shown.stderr
        events = [json.loads(line) for line in shown.stdout.splitlines() if line.strip()]
        return [e for e in events if e["kind"] == "deployment.scaled"]


def operators(fleet: SshdFleet, tmp_path: Path) -> tuple[Operator, Operator]:
    return (
        Operator("alice@laptop", fleet, tmp_path / "alice"),
        Operator("bob@desk", fleet, tmp_path / "bob"),
    )


def test_two_operators_scaling_agree_on_one_count_and_who_asked(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    alice, bob = operators(fleet, tmp_path)
    try:
        first = alice.run("scale", "chat", "2", "--timeout", "60")
        assert first.returncode == 0, first.stdout + first.stderr
        second = bob.run("scale", "chat", "3", "--timeout", "60")
        assert second.returncode == 0, second.stdout + second.stderr
        # The later one wins, for both of them: bob's status reads it from the home host
        # though bob's own machine never heard of alice's scale, and alice's likewise.
        assert alice.desired() == bob.desired() == 3
        state = alice.status()["fleet_state"]
        assert state["home"] == "host-1" and state["note"] is None
        assert (fleet.hosts[0].state_dir / ".fleet" / "test" / "overrides.json").exists()
        assert not (fleet.hosts[1].state_dir / ".fleet").exists()
        for operator in (alice, bob):
            messages = [e["message"] for e in operator.scaled_events()]
            assert len(messages) == 2, messages
            assert "scaled to 2 by alice@laptop (fleetdeck scale)" in messages[0]
            assert "scaled to 3 by bob@desk (fleetdeck scale)" in messages[1]

        # At once: the leases (the home host's first) put one after the other; both
        # changes are recorded, and both operators end up with the same count.
        runs = [
            alice.start("scale", "chat", "1", "--timeout", "90"),
            bob.start("scale", "chat", "2", "--timeout", "90"),
        ]
        for process in runs:
            out, err = process.communicate(timeout=150)
            assert process.returncode == 0, out + err
        assert alice.desired() == bob.desired() in (1, 2)
        for operator in (alice, bob):
            messages = [e["message"] for e in operator.scaled_events()]
            assert len(messages) == 4, messages
            assert sum("by alice@laptop" in m for m in messages) == 2
            assert sum("by bob@desk" in m for m in messages) == 2
    finally:
        alice.run("down")


def test_a_controller_picks_up_another_operators_scale(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    alice, bob = operators(fleet, tmp_path)
    with controller_running(alice.inventory, env=alice.env) as controller:
        controller.wait_for("controller.in-charge")
        wait_until(lambda: alice.status()["deployments"][0]["ready"] == 1, 60, "chat ready")
        # Bob cannot take the leases (alice's controller holds them): his scale goes to
        # the home host and alice's controller applies it.
        scaled = bob.run("scale", "chat", "2", "--timeout", "60")
        assert scaled.returncode == 0, scaled.stdout + scaled.stderr
        assert "another controller is in charge" in scaled.stderr
        wait_until(lambda: alice.status()["deployments"][0]["ready"] == 2, 60, "2 ready")
        news = controller.wait_for("deployment.scaled")
        assert "by bob@desk" in news["message"]
        assert alice.desired() == bob.desired() == 2


def test_with_the_home_host_down_the_next_one_keeps_the_state_and_status_says_so(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    alice, bob = operators(fleet, tmp_path)
    try:
        scaled = alice.run("scale", "chat", "2", "--no-wait")
        assert scaled.returncode == 0, scaled.stdout + scaled.stderr
        fleet.stop_host("host-1")
        moved = bob.run("scale", "chat", "1", "--no-wait", timeout=180)
        assert moved.returncode in (0, 3), moved.stdout + moved.stderr  # 3: host-1 is down
        assert "fleet.state-elsewhere" in moved.stdout or "the fleet's home host" in moved.stdout
        for operator in (alice, bob):
            seen = operator.status()
            assert seen["deployments"][0]["desired"] == 1
            assert seen["fleet_state"]["home"] == "host-2"
            assert "host-1 is unreachable" in seen["fleet_state"]["note"]
        table = alice.run("status", timeout=180)
        assert "fleet state: host-1 is unreachable" in table.stdout
        # Back again: the next change goes home on top of what host-2 kept meanwhile.
        fleet.start_host("host-1")
        back = alice.run("stop", "chat", "--no-wait", timeout=180)
        assert back.returncode == 0, back.stdout + back.stderr
        assert bob.desired() == 0
        state = bob.status()["fleet_state"]
        assert state["home"] == "host-1" and state["note"] is None
    finally:
        if not fleet.is_running("host-1"):
            fleet.start_host("host-1")
        alice.run("down")
