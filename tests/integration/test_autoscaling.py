"""Autoscaling and idle shutdown end to end: `fleetdeck run` over real sshd, simulator
replicas, and a client generating real load."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.fleetdeck_cli import (
    controller_running,
    fleetdeck,
    ready_counts,
    status,
    wait_until,
)
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration


class Load:
    """`workers` clients each sending slow requests (5 s each) to one replica, until stopped."""

    def __init__(self, port: int, workers: int) -> None:
        self.stop = threading.Event()
        self.failures = 0
        self.threads = [threading.Thread(target=self._run, args=(port,)) for _ in range(workers)]
        for thread in self.threads:
            thread.start()

    def _run(self, port: int) -> None:
        body = {"model": "sim/scaled", "prompt": "load", "max_tokens": 100}
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                try:
                    client.post(f"http://127.0.0.1:{port}/v1/completions", json=body)
                except httpx.HTTPError:
                    self.failures += 1
                    time.sleep(0.2)

    def end(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


def test_scales_up_under_load_and_back_down_after_the_delay(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    deployment = """
[[deployments]]
name = "scaled"
model = "sim/scaled"
[deployments.autoscale]
min = 1
max = 3
target_running_per_replica = 2
scale_up_delay = "3s"
scale_down_delay = "6s"
window = "4s"
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.5", "--sim-token-latency-ms", "50"]
"""
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=deployment)
    load: Load | None = None
    with controller_running(inventory) as controller:
        try:
            wait_until(lambda: ready_counts(inventory) == {"scaled": 1}, 30, "the first replica")
            (replica,) = status(inventory)["deployments"][0]["replicas"]
            load = Load(replica["port"], workers=8)  # 8 running / 2 per replica -> 4, clamped to 3
            up = controller.wait_for("autoscale.scale-up", timeout=40)
            assert "scale up 1 -> 3" in up["message"]
            wait_until(lambda: ready_counts(inventory) == {"scaled": 3}, 40, "3 ready replicas")
            load.end()
            down = controller.wait_for("autoscale.scale-down", timeout=40)
            assert "scale down 3 -> " in down["message"]
            wait_until(lambda: ready_counts(inventory) == {"scaled": 1}, 40, "back to 1 replica")
            # Every step down came only after the load had stayed low for scale_down_delay
            # (it may go 3 -> 2 -> 1 while the last requests drain).
            downs = [e for e in controller.events if e["kind"] == "autoscale.scale-down"]
            assert downs[-1]["message"].startswith(("scale down 3 -> 1", "scale down 2 -> 1"))
            for event in downs:
                held = float(event["message"].split("needed for ")[1].split("s of")[0])
                assert held >= 6.0
            assert load.failures == 0
        finally:
            if load is not None:
                load.end()


def test_idle_timeout_with_min_zero_stops_every_replica_and_start_wakes_it(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    deployment = """
[[deployments]]
name = "sleepy"
model = "sim/sleepy"
idle_timeout = "4s"
[deployments.autoscale]
min = 0
max = 2
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.5"]
"""
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=deployment)
    # Priced, so that the idle stop says what it saves: 1 GPU at 3.25 EUR an hour.
    text = inventory.read_text()
    text = text.replace("[defaults]\n", "[defaults]\ngpu_hour_price = 3.25\n", 1)
    inventory.write_text(text.replace("[fleet]\n", '[fleet]\ncurrency = "EUR"\n', 1))
    with controller_running(inventory) as controller:
        # min 0: nothing starts until asked, then 1 replica (max(min, 1)).
        started = fleetdeck("start", str(inventory), "sleepy", "--timeout", "60")
        assert started.returncode == 0, started.stderr
        # The idle clock only runs while a replica is ready, so this event also proves the
        # woken replica came up (polling for it could miss a 4 s window on a busy machine).
        idle = controller.wait_for("autoscale.idle-timeout", timeout=40)
        assert "no requests for" in idle["message"] and "scale 1 -> 0" in idle["message"]
        assert "stops 1 replica, saves 1 GPU·h/h = 3.25 EUR/h" in idle["message"]
        wait_until(
            lambda: status(inventory)["deployments"][0]["replicas"] == [], 30, "every replica gone"
        )
        stopped = status(inventory)["deployments"][0]
        assert stopped["status"] == "stopped"
        # status --json carries every deployment's cost, in the inventory's currency.
        assert stopped["cost"]["currency"] == "EUR"
        assert (stopped["cost"]["gpus_held"], stopped["cost"]["price_per_hour"]) == (0, 0.0)
