"""`fleetdeck run --metrics` scraped by a real Prometheus, over real sshd hosts running
simulator replicas: what Prometheus stores is what `status --json` says."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
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
from tests.harness.ports import slot_allocator
from tests.harness.prometheus import PrometheusServer, missing_prometheus_reason
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

MIB = 1024.0 * 1024.0
DEPLOYMENT = """
[[deployments]]
name = "chat"
model = "sim/chat"
replicas = 1
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.5", "--sim-token-latency-ms", "20"]
"""


class Traffic:
    """One client sending small completions to a replica, one after another, until ended."""

    def __init__(self, port: int) -> None:
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(port,), daemon=True)
        self._thread.start()

    def _run(self, port: int) -> None:
        body = {"model": "sim/chat", "prompt": "count", "max_tokens": 5}
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    client.post(f"http://127.0.0.1:{port}/v1/completions", json=body)
                    self.sent += 1
                except httpx.HTTPError:
                    time.sleep(0.2)

    def end(self) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[Any]:
    reason = missing_prometheus_reason()
    if reason is not None:
        pytest.skip(reason)
    started: list[PrometheusServer] = []

    def start(target: str) -> PrometheusServer:
        server = PrometheusServer(tmp_path / "prometheus", target)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def scalar(prometheus: PrometheusServer, expr: str) -> float | None:
    result = prometheus.query(expr)
    return float(result[0]["value"][1]) if result else None


def eventually(prometheus: PrometheusServer, expr: str, timeout: float = 60) -> float:
    """The query's value once it has one above 0."""
    found: list[float] = []

    def positive() -> bool:
        value = scalar(prometheus, expr)
        if value is not None and value > 0:
            found.append(value)
            return True
        return False

    wait_until(positive, timeout, f"{expr} > 0 in Prometheus")
    return found[-1]


def test_prometheus_stores_what_status_says(
    sshd_fleet_factory: Any, prometheus_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENT)
    address = f"127.0.0.1:{slot_allocator().take_port()}"
    traffic: Traffic | None = None
    with controller_running(inventory, "--metrics", address) as controller:
        try:
            prometheus: PrometheusServer = prometheus_factory(address)
            wait_until(lambda: ready_counts(inventory) == {"chat": 1}, 60, "a ready replica")
            (replica,) = status(inventory)["deployments"][0]["replicas"]
            traffic = Traffic(replica["port"])
            wait_until(lambda: prometheus.targets_health() == ["up"], 30, "the target up")

            # The deployment's request rate: non-zero in Prometheus, and about what a
            # one-shot `status --json --sample 2` measures of the same steady traffic.
            rate_expr = 'fleetdeck_deployment_requests_per_second{deployment="chat"}'
            stored_rate = eventually(prometheus, rate_expr)
            sampled = fleetdeck("status", str(inventory), "--json", "--sample", "2")
            assert sampled.returncode == 0, sampled.stderr
            sampled_rate = json.loads(sampled.stdout)["deployments"][0]["metrics"]["request_rate"]
            assert sampled_rate and sampled_rate > 0
            stored_rate = scalar(prometheus, rate_expr) or stored_rate
            assert sampled_rate / 3 <= stored_rate <= sampled_rate * 3, (stored_rate, sampled_rate)
            # Its latency histogram counts requests, and a p95 comes out of it.
            e2e = "fleetdeck_deployment_e2e_request_latency_seconds"
            assert eventually(prometheus, f'{e2e}_count{{deployment="chat"}}') > 0
            p95 = eventually(
                prometheus,
                f"histogram_quantile(0.95, sum by (le) (rate({e2e}_bucket[10s])))",
            )
            assert 0 < p95 < 30

            # GPU temperatures and memory: the simulated GPUs' readings in status --json.
            # An idle simulated GPU reads a constant 31.0 °C, one under load moves between
            # 46.75 and 67 (hosts/remote/gpus.py), so those are compared as ranges.
            stored = {
                (r["metric"]["host"], r["metric"]["uuid"]): float(r["value"][1])
                for r in prometheus.query("fleetdeck_gpu_temperature_celsius")
            }
            totals = {
                (r["metric"]["host"], r["metric"]["uuid"]): float(r["value"][1])
                for r in prometheus.query("fleetdeck_gpu_memory_total_bytes")
            }
            hosts = status(inventory)["hosts"]
            gpus = {(h["name"], g["uuid"]): g for h in hosts for g in h["gpus"]}
            assert set(stored) == set(gpus) and len(gpus) == 2
            for key, gpu in gpus.items():
                assert totals[key] == gpu["memory_total_mib"] * MIB
                if gpu["utilization_pct"] == 0:
                    assert stored[key] == gpu["temperature_c"] == 31.0
                else:
                    assert 46.7 <= stored[key] <= 67.0 and 46.7 <= gpu["temperature_c"] <= 67.0
            assert any(g["utilization_pct"] for g in gpus.values()), "the replica's GPU works"

            # The replica's status and the host's reachability. Ready either way: active
            # or idle depends on traffic that a one-shot status has not sampled.
            (current,) = prometheus.query('fleetdeck_replica_status{deployment="chat"} == 1')
            (shown,) = status(inventory)["deployments"][0]["replicas"]
            assert current["metric"]["replica"] == shown["id"] == replica["id"]
            assert {current["metric"]["status"], shown["status"]} <= {"active", "idle"}
            ready = f'fleetdeck_replica_ready{{replica="{replica["id"]}"}}'
            assert scalar(prometheus, ready) == 1.0 and shown["healthy"]
            assert scalar(prometheus, "sum(fleetdeck_host_reachable)") == 1.0
            assert scalar(prometheus, "sum(fleetdeck_host_disk_full)") == 0.0
            assert traffic.sent > 0
        finally:
            if traffic is not None:
                traffic.end()
    assert controller.process.returncode == 0


def test_a_port_in_use_is_a_usage_error_naming_the_flag_or_the_key(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        inventory = tmp_path / "fleet.toml"
        inventory.write_text(
            f'[fleet]\nname = "t"\nmetrics_address = "127.0.0.1:{port}"\n\n'
            '[[hosts]]\nname = "h"\naddress = "127.0.0.1"\ntransport = "local"\n'
            f'state_dir = "{tmp_path / "state"}"\n'
        )
        from_key = fleetdeck("run", str(inventory), timeout=60)
        assert from_key.returncode == 2, from_key.stderr
        assert f"cannot serve /metrics on 127.0.0.1:{port}" in from_key.stderr
        assert f"{inventory}: [fleet] metrics_address" in from_key.stderr
        assert "in use by another process" in from_key.stderr
        from_flag = fleetdeck("run", str(inventory), "--metrics", str(port), timeout=60)
        assert from_flag.returncode == 2
        assert "(from --metrics)" in from_flag.stderr
    bad = fleetdeck("run", str(inventory), "--metrics", "somewhere:1", timeout=60)
    assert bad.returncode == 2 and "not an IP address" in bad.stderr
