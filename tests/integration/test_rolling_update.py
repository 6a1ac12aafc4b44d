"""A rolling update under traffic: changing vllm.max_model_len while `fleetdeck run` is in
charge replaces every replica, and a client sending requests through the deployment's
endpoint the whole time sees zero failures."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.fleetdeck_cli import (
    controller_running,
    status,
    wait_until,
)
from tests.harness.inventory_writer import write_inventory
from tests.harness.ports import slot_allocator
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration


class Client:
    """Two workers sending chat completions (one streamed) to the endpoint until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ok = 0
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(2)]
        for thread in self._threads:
            thread.start()

    def _run(self, worker: int) -> None:
        body = {
            "model": "sim/roll",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 8,
            "stream": worker == 1,
        }
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    response = client.post(f"{self.url}/chat/completions", json=body)
                    text = response.text
                    if response.status_code == 200 and (worker == 0 or "[DONE]" in text):
                        self.ok += 1
                    else:
                        self.failed.append(f"{response.status_code}: {text[:200]}")
                except httpx.HTTPError as exc:
                    self.failed.append(f"{type(exc).__name__}: {exc}")

    def end(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


def test_rolling_update_under_traffic_has_zero_failed_requests(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    endpoint_port = slot_allocator().take_port()
    deployment = f"""
[[deployments]]
name = "roll"
model = "sim/roll"
replicas = 2
endpoint_port = {endpoint_port}
[deployments.vllm]
max_model_len = 256
extra_args = ["--sim-load-seconds", "1", "--sim-token-latency-ms", "10"]
"""
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=deployment)
    client: Client | None = None
    with controller_running(inventory) as controller:
        try:
            serving = controller.wait_for("endpoint.serving")
            url = serving["message"]
            assert url == f"http://127.0.0.1:{endpoint_port}/v1"
            wait_until(lambda: status(inventory)["deployments"][0]["ready"] == 2, 30, "2 replicas")
            old = {r["id"] for r in status(inventory)["deployments"][0]["replicas"]}
            client = Client(url)
            wait_until(lambda: client is not None and client.ok >= 20, 30, "traffic flowing")

            inventory.write_text(
                inventory.read_text().replace("max_model_len = 256", "max_model_len = 512")
            )
            controller.wait_for("inventory.reloaded")

            def rolled() -> bool:
                replicas = status(inventory)["deployments"][0]["replicas"]
                ids = {r["id"] for r in replicas}
                ready = [r for r in replicas if r["status"] in ("active", "idle")]
                return len(ready) == 2 and not ids & old

            wait_until(rolled, 90, "every replica replaced")
            served_during = client.ok
            time.sleep(2)  # traffic keeps flowing on the new replicas
            client.end()
            assert client.failed == []
            assert client.ok > served_during
            stops = [e for e in controller.events if e["kind"] == "replica.stopped"]
            assert {e["subject"] for e in stops} == old
            assert all(
                "replaced by a ready replica" in e["message"] or "no room" in e["message"]
                for e in stops
            )
        finally:
            if client is not None:
                client.end()
