"""An automatic canary through a real endpoint (`fleetdeck run`, sshd, simulator replicas):
a canary that fails half its requests is rolled back with the numbers in a warning, after
which the baseline answers everything; a healthy one steps up."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.fleetdeck_cli import controller_running, status, wait_until
from tests.harness.inventory_writer import write_inventory
from tests.harness.ports import slot_allocator
from tests.harness.sshd import SshdFleet
from tests.integration.test_rolling_update import Client

pytestmark = pytest.mark.integration

FAST = '"--sim-load-seconds", "0.5", "--sim-token-latency-ms", "10"'


def _inventory(fleet: SshdFleet, path: Path, port: int, canary_args: str) -> Path:
    deployments = f"""
[[deployments]]
name = "stable"
model = "sim/roll"
[deployments.vllm]
extra_args = [{FAST}]

[[deployments]]
name = "candidate"
model = "sim/roll"
[deployments.vllm]
extra_args = [{FAST}{canary_args}]

[[endpoints]]
name = "chat"
port = {port}
backends = [{{ deployment = "stable", weight = 100 }}, {{ deployment = "candidate", weight = 0 }}]
canary = {{ step = 25, interval = "2s", max_error_rate = 0.05, max_p95_ratio = 100 }}
"""
    return write_inventory(fleet, path, deployments_toml=deployments)


def _chat(inventory: Path) -> dict[str, Any]:
    return next(e for e in status(inventory)["endpoints"] if e["name"] == "chat")


def _serving_urls(controller: Any) -> dict[str, str]:
    urls = {}
    for _ in range(3):  # the deployments' own endpoints and chat, in any order
        event = controller.wait_for("endpoint.serving", 60)
        controller.events.remove(event)
        urls[event["subject"]] = event["message"]
    return urls


def _wait_ready(urls: dict[str, str]) -> None:
    def ready(name: str) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            health = httpx.get(urls[name].removesuffix("/v1") + "/health", timeout=5)
            return health.status_code == 200
        return False

    wait_until(lambda: ready("stable") and ready("candidate"), 60, "both deployments ready")


def test_failing_canary_is_rolled_back_and_the_baseline_takes_everything(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    port = slot_allocator().take_port()
    inventory = _inventory(fleet, tmp_path / "fleet.toml", port, ', "--sim-error-rate", "0.5"')
    client: Client | None = None
    with controller_running(inventory) as controller:
        try:
            urls = _serving_urls(controller)
            _wait_ready(urls)
            started = controller.wait_for("endpoint.canary-started", 30)
            assert "candidate gets 25%" in started["message"]
            client = Client(urls["chat"])
            rolled = controller.wait_for("endpoint.canary-rolled-back", 60)
            assert rolled["subject"] == "chat" and rolled["level"] == "warning"
            # The decision's numbers: about half the canary's requests failed (every second
            # one; the window may end on either kind).
            numbers = re.search(
                r"error rate [\d.]+% \((\d+)/(\d+)\) above 5\.0%", rolled["message"]
            )
            assert numbers is not None, rolled["message"]
            errors, requests = int(numbers[1]), int(numbers[2])
            assert requests >= 20 and abs(errors - requests / 2) <= 1

            def shown_rolled_back() -> bool:
                canary = _chat(inventory).get("canary") or {}
                return canary.get("phase") == "rolled_back"

            wait_until(shown_rolled_back, 30, "status --json shows the rollback")
            chat = _chat(inventory)
            assert chat["canary"]["weight"] == 0 and chat["canary"]["canary"] == "candidate"
            assert chat["canary"]["reason"] == rolled["message"]
            assert {b["deployment"]: b["weight"] for b in chat["backends"]} == {
                "stable": 100,
                "candidate": 0,
            }
            before = {b["deployment"]: b["requests"] for b in chat["backends"]}
            failed_before = len(client.failed)
            ok_before = client.ok
            wait_until(lambda: client is not None and client.ok >= ok_before + 30, 30, "more")
            client.end()
            after = {b["deployment"]: b["requests"] for b in _chat(inventory)["backends"]}
            # After the rollback only the baseline: at most the two workers' requests then
            # in flight were still the canary's.
            assert after["candidate"] - before["candidate"] <= 2
            assert after["stable"] - before["stable"] >= 30
            assert len(client.failed) - failed_before <= 2
        finally:
            if client is not None:
                client.end()


def test_healthy_canary_steps_up(sshd_fleet_factory: Any, tmp_path: Path) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    port = slot_allocator().take_port()
    inventory = _inventory(fleet, tmp_path / "fleet.toml", port, "")
    client: Client | None = None
    with controller_running(inventory) as controller:
        try:
            urls = _serving_urls(controller)
            _wait_ready(urls)
            client = Client(urls["chat"])
            stepped = controller.wait_for("endpoint.canary-step", 90)
            assert stepped["subject"] == "chat"
            assert "canary 25% -> 50%" in stepped["message"], stepped["message"]
            client.end()
            assert client.failed == []
            assert [
                e for e in controller.events if e["kind"] == "endpoint.canary-rolled-back"
            ] == []
        finally:
            if client is not None:
                client.end()
