"""What a one-shot `fleetdeck status` tells, over real sshd: the first watch frame is a
complete observation, the endpoint a controller serves is reported with the masked key,
and the table carries GPU heat and memory, restarts, last exit, CPU and request rates."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fleetdeck_cli import FLEETDECK, controller_running, fleetdeck, wait_until
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

KEY = "sk-status-test-0123456789"
DEPLOYMENT = """
[[deployments]]
name = "chat"
model = "sim/chat"
replicas = 1
api_key = { env = "STATUS_TEST_KEY" }
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.3"]
"""


@pytest.fixture
def inventory(sshd_fleet_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("STATUS_TEST_KEY", KEY)
    fleet: SshdFleet = sshd_fleet_factory(1)
    path = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENT)
    yield path
    fleetdeck("down", str(path))


def test_the_first_watch_frame_shows_the_fleet_as_it_is(inventory: Path) -> None:
    applied = fleetdeck("apply", str(inventory), "--wait", "--timeout", "60")
    assert applied.returncode == 0, applied.stderr
    watch = subprocess.Popen(
        [FLEETDECK, "status", str(inventory), "--watch", "--json", "--interval", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watch.stdout is not None
        first = json.loads(watch.stdout.readline())
    finally:
        watch.kill()
        watch.wait()
    (host,) = first["hosts"]
    assert host["state"] == "up"
    (deployment,) = first["deployments"]
    assert (deployment["status"], deployment["ready"]) in (("active", 1), ("idle", 1))


def test_status_reports_the_endpoint_a_controller_serves(inventory: Path) -> None:
    with controller_running(inventory) as controller:
        controller.wait_for("endpoint.serving")

        def endpoint_shown() -> bool:
            shown = json.loads(fleetdeck("status", str(inventory), "--json").stdout)
            return bool(shown["deployments"][0]["endpoint"])

        wait_until(endpoint_shown, 30, "the endpoint in status --json")
        shown = json.loads(fleetdeck("status", str(inventory), "--json").stdout)
        (deployment,) = shown["deployments"]
        assert deployment["endpoint"].startswith("http://127.0.0.1:")
        assert deployment["api_key_masked"] and KEY not in json.dumps(shown)
    # The controller is gone: its endpoint is no longer advertised.
    after = json.loads(fleetdeck("status", str(inventory), "--json").stdout)
    assert after["deployments"][0]["endpoint"] is None


def test_the_table_has_heat_memory_restarts_cpu_and_rates(inventory: Path) -> None:
    assert fleetdeck("apply", str(inventory), "--wait", "--timeout", "60").returncode == 0
    table = fleetdeck("status", str(inventory), "--sample", "0.5")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    header = next(line for line in lines if line.startswith("HOST"))
    for column in ("HOTTEST", "GPU MEMORY", "CPU", "LOAD"):
        assert column in header
    host_row = next(line for line in lines if line.startswith("host-1"))
    assert "°C" in host_row and "GiB" in host_row
    assert "%" in host_row, "CPU from the observe command's own short sample"
    replica_header = next(line for line in lines if line.startswith("DEPLOYMENT"))
    assert "RESTARTS" in replica_header and "LAST EXIT" in replica_header
    chat = next(line for line in lines if line.startswith("chat "))
    assert chat.split()[3] != "-", "a request rate from two /metrics reads"
    assert os.environ["STATUS_TEST_KEY"] == KEY
