"""Blue-green through a real endpoint: `fleetdeck route FILE chat --to green`, run as a
one-shot command beside `fleetdeck run` (which serves the endpoint), switches all traffic
from blue to green while two clients (one streaming) keep sending: zero failed requests,
and after the switch green answers everything."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.fleetdeck_cli import controller_running, fleetdeck, status, wait_until
from tests.harness.inventory_writer import write_inventory
from tests.harness.ports import slot_allocator
from tests.harness.sshd import SshdFleet
from tests.integration.test_rolling_update import Client

pytestmark = pytest.mark.integration

FAST = '["--sim-load-seconds", "0.5", "--sim-token-latency-ms", "10"]'


def backends(inventory: Path) -> dict[str, dict[str, Any]]:
    """The chat endpoint's backends as `status --json` shows them (from the controller)."""
    endpoint = next(
        (e for e in status(inventory).get("endpoints", []) if e["name"] == "chat"), None
    )
    return {b["deployment"]: b for b in endpoint["backends"]} if endpoint else {}


def test_route_switches_all_traffic_with_zero_failed_requests(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    port = slot_allocator().take_port()
    deployments = f"""
[[deployments]]
name = "blue"
model = "sim/roll"
[deployments.vllm]
extra_args = {FAST}

[[deployments]]
name = "green"
model = "sim/roll"
[deployments.vllm]
extra_args = {FAST}

[[endpoints]]
name = "chat"
port = {port}
backends = [{{ deployment = "blue", weight = 100 }}, {{ deployment = "green", weight = 0 }}]
"""
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=deployments)
    client: Client | None = None
    with controller_running(inventory) as controller:
        try:
            urls = {}
            for _ in range(3):  # the deployments' own endpoints and chat, in any order
                event = controller.wait_for("endpoint.serving", 60)
                controller.events.remove(event)
                urls[event["subject"]] = event["message"]
            assert urls["chat"] == f"http://127.0.0.1:{port}/v1"

            def ready(name: str) -> bool:
                with contextlib.suppress(httpx.HTTPError):
                    health = httpx.get(urls[name].removesuffix("/v1") + "/health", timeout=5)
                    return health.status_code == 200
                return False

            wait_until(lambda: ready("blue") and ready("green"), 60, "both deployments ready")
            client = Client(urls["chat"])
            wait_until(lambda: client is not None and client.ok >= 20, 30, "traffic flowing")

            switched = fleetdeck("route", str(inventory), "chat", "--to", "green")
            assert switched.returncode == 0, switched.stderr
            assert "chat: all traffic to green" in switched.stdout
            routed = controller.wait_for("endpoint.routed", 30)
            ok_at_switch = client.ok
            assert routed["subject"] == "chat" and "green" in routed["message"]
            wait_until(lambda: client is not None and client.ok >= ok_at_switch + 30, 30, "more")
            client.end()
            assert client.failed == []
            endpoint = next(e for e in status(inventory)["endpoints"] if e["name"] == "chat")
            shown = {b["deployment"]: b for b in endpoint["backends"]}
            assert shown["blue"]["requests"] + shown["green"]["requests"] == client.ok
            # After the switch only green: at most the two workers' requests then in flight
            # were still blue's.
            assert shown["green"]["requests"] >= client.ok - ok_at_switch - 2
            assert shown["green"]["errors"] == shown["blue"]["errors"] == 0
            assert endpoint["routed_to"] == "green"
            assert [b["weight"] for b in endpoint["backends"]] == [0, 100]
        finally:
            if client is not None:
                client.end()
    refused = fleetdeck("route", str(inventory), "chat", "--to", "nobody")
    assert refused.returncode == 2 and "its backends are blue, green" in refused.stderr
