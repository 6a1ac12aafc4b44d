"""Exit code 3: some hosts unreachable, the rest done (DESIGN's CLI contract)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fleetdeck_cli import fleetdeck
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration


def test_apply_with_one_host_down_does_the_rest_and_exits_3(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)  # host-1 in zone a, host-2 in zone b
    deployments = """
[[deployments]]
name = "on-a"
model = "sim/a"
placement = { labels = { zone = "a" } }
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.3"]

[[deployments]]
name = "on-b"
model = "sim/b"
placement = { labels = { zone = "b" } }
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.3"]
"""
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=deployments)
    fleet.stop_host("host-2")
    try:
        applied = fleetdeck("apply", str(inventory), "--wait", "--json", "--timeout", "60")
        assert applied.returncode == 3, applied.stderr
        document = json.loads(applied.stdout)
        ready = {d["name"]: d["ready"] for d in document["status"]["deployments"]}
        assert ready == {"on-a": 1, "on-b": 0}
        assert "host-2" in applied.stderr and "unreachable" in applied.stderr
        status = fleetdeck("status", str(inventory), "--json")
        assert status.returncode == 3
        states = {h["name"]: h["state"] for h in json.loads(status.stdout)["hosts"]}
        assert states == {"host-1": "up", "host-2": "unreachable"}
    finally:
        fleet.start_host("host-2")
        fleetdeck("down", str(inventory))
