"""`/metrics` for Prometheus (core/export): the page a snapshot gives, parsed back with
prometheus_client's own parser; the address rules; a port in use; and the Grafana
dashboard and README naming only metrics that exist."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from fleetdeck.core.errors import UsageError
from fleetdeck.core.export.address import MetricsAddress, parse_metrics_address
from fleetdeck.core.export.collector import SnapshotCollector
from fleetdeck.core.export.server import MetricsSetting, metrics_setting, start_metrics_server
from fleetdeck.core.fleet.snapshot import (
    DeploymentSnapshot,
    DeploymentStatus,
    FleetSnapshot,
    GpuSnapshot,
    HistogramSnapshot,
    HostSnapshot,
    HostState,
    MetricsSnapshot,
    ReplicaSnapshot,
    ReplicaStatus,
)

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024.0 * 1024.0


def full_fleet() -> FleetSnapshot:
    """Every family has at least one sample here."""
    gpus = (
        GpuSnapshot(index=0, uuid="GPU-a", name="H100", temperature_c=61.5,
                    utilization_pct=87.0, memory_used_mib=70000.0, memory_total_mib=81920.0,
                    power_w=512.0, power_limit_w=700.0),
        GpuSnapshot(index=1, uuid="GPU-b", name="H100"),  # the driver said nothing
    )  # fmt: skip
    hosts = (
        HostSnapshot(name="gpu-a", address="10.0.0.1", state=HostState.UP, gpus=gpus,
                     cpu_pct=25.0, load_1m=1.5, memory_used_mib=1024.0,
                     memory_total_mib=4096.0, disk_free_bytes=10**9,
                     disk_full="12 MB free"),
        HostSnapshot(name="gpu-b", address="10.0.0.2", state=HostState.UNREACHABLE),
        HostSnapshot(name="gpu-c", address="10.0.0.3", state=HostState.CONNECTING),
    )  # fmt: skip
    replicas = (
        ReplicaSnapshot(id="chat/r0", deployment="chat", host="gpu-a", port=8000,
                        status=ReplicaStatus.ACTIVE, healthy=True, restarts=2),
        ReplicaSnapshot(id="chat/r1", deployment="chat", host="gpu-a", port=8001,
                        status=ReplicaStatus.STARTING, phase="loading weights"),
        ReplicaSnapshot(id="chat/r2", deployment="chat", host="gpu-b", port=8000,
                        status=ReplicaStatus.FAILED, last_exit_code=137),
    )  # fmt: skip
    metrics = MetricsSnapshot(
        sampled_at=99.0, window_s=60.0, request_rate=4.5, error_ratio=0.1,
        prompt_tokens_per_s=300.0, generation_tokens_per_s=120.0, running=3.0,
        waiting=1.0, kv_cache_usage=0.42,
        e2e_latency_histogram=HistogramSnapshot(
            bounds=(0.3, 0.5, 1.0), cumulative=(1.0, 5.0, 9.0), count=10.0, sum=6.5),
        ttft_histogram=HistogramSnapshot(
            bounds=(0.01, 0.1), cumulative=(8.0, 10.0), count=10.0, sum=0.2),
    )  # fmt: skip
    chat = DeploymentSnapshot(name="chat", model="org/chat-8b", status=DeploymentStatus.DEGRADED,
                              desired=3, ready=1, replicas=replicas, metrics=metrics)  # fmt: skip
    return FleetSnapshot(fleet="prod", taken_at=100.0, hosts=hosts, deployments=(chat,))


def page(snapshot: FleetSnapshot | None) -> str:
    collector = SnapshotCollector()
    collector.latest = snapshot
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry).decode()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, /,
          **labels: str) -> float:  # fmt: skip
    return found[(metric, frozenset(labels.items()))]


def family_names(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text) if family.samples}


def test_the_page_says_what_the_snapshot_says() -> None:
    found = samples(page(full_fleet()))
    gpu = {"host": "gpu-a", "gpu": "0", "uuid": "GPU-a", "name": "H100"}
    assert value(found, "fleetdeck_gpu_temperature_celsius", **gpu) == 61.5
    assert value(found, "fleetdeck_gpu_utilization_ratio", **gpu) == pytest.approx(0.87)
    assert value(found, "fleetdeck_gpu_memory_used_bytes", **gpu) == 70000.0 * MIB
    assert value(found, "fleetdeck_gpu_memory_total_bytes", **gpu) == 81920.0 * MIB
    assert value(found, "fleetdeck_gpu_power_watts", **gpu) == 512.0
    # A reading the driver did not give is absent, not 0.
    silent = {"host": "gpu-a", "gpu": "1", "uuid": "GPU-b", "name": "H100"}
    assert ("fleetdeck_gpu_temperature_celsius", frozenset(silent.items())) not in found
    assert value(found, "fleetdeck_host_reachable", host="gpu-a") == 1.0
    assert value(found, "fleetdeck_host_reachable", host="gpu-b") == 0.0
    assert ("fleetdeck_host_reachable", frozenset({("host", "gpu-c")})) not in found
    assert value(found, "fleetdeck_host_disk_full", host="gpu-a") == 1.0
    assert value(found, "fleetdeck_host_disk_full", host="gpu-b") == 0.0

    chat = {"deployment": "chat", "model": "org/chat-8b"}
    assert value(found, "fleetdeck_deployment_desired_replicas", **chat) == 3.0
    assert value(found, "fleetdeck_deployment_ready_replicas", **chat) == 1.0
    assert value(found, "fleetdeck_deployment_status", **chat, status="degraded") == 1.0
    assert value(found, "fleetdeck_deployment_status", **chat, status="active") == 0.0
    assert value(found, "fleetdeck_deployment_requests_per_second", **chat) == 4.5
    assert value(found, "fleetdeck_deployment_generation_tokens_per_second", **chat) == 120.0
    assert value(found, "fleetdeck_deployment_kv_cache_usage_ratio", **chat) == 0.42
    e2e = "fleetdeck_deployment_e2e_request_latency_seconds"
    assert value(found, f"{e2e}_bucket", **chat, le="0.5") == 5.0
    assert value(found, f"{e2e}_bucket", **chat, le="+Inf") == 10.0
    assert value(found, f"{e2e}_count", **chat) == 10.0
    assert value(found, f"{e2e}_sum", **chat) == 6.5
    ttft = "fleetdeck_deployment_time_to_first_token_seconds"
    assert value(found, f"{ttft}_bucket", **chat, le="0.01") == 8.0

    r0 = {"deployment": "chat", "replica": "chat/r0", "host": "gpu-a"}
    r1 = {**r0, "replica": "chat/r1"}
    r2 = {"deployment": "chat", "replica": "chat/r2", "host": "gpu-b"}
    assert value(found, "fleetdeck_replica_status", **r0, status="active") == 1.0
    statuses = [k for k in found if k[0] == "fleetdeck_replica_status" and ("replica", "chat/r0")
                in k[1]]  # fmt: skip
    assert len(statuses) == len(ReplicaStatus)  # one series per status, one of them 1
    assert sum(found[k] for k in statuses) == 1.0
    assert value(found, "fleetdeck_replica_restarts_total", **r0) == 2.0
    assert value(found, "fleetdeck_replica_ready", **r0) == 1.0
    assert value(found, "fleetdeck_replica_loading_phase", **r1, phase="loading weights") == 1.0
    assert value(found, "fleetdeck_replica_last_exit_code", **r2) == 137.0
    assert ("fleetdeck_replica_last_exit_code", frozenset(r0.items())) not in found
    assert value(found, "fleetdeck_snapshot_timestamp_seconds", fleet="prod") == 100.0


def test_nothing_is_served_before_the_first_snapshot() -> None:
    assert page(None) == ""


def test_a_fleet_without_traffic_has_no_traffic_series() -> None:
    quiet = full_fleet().deployments[0].model_copy(update={"metrics": None})
    text = page(full_fleet().model_copy(update={"deployments": (quiet,)}))
    assert "fleetdeck_deployment_desired_replicas{" in text
    assert "fleetdeck_deployment_requests_per_second{" not in text
    assert "_bucket{" not in text


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("9464", "127.0.0.1", 9464),
        (":9464", "127.0.0.1", 9464),
        ("localhost:9464", "127.0.0.1", 9464),
        ("0.0.0.0:1", "0.0.0.0", 1),
        ("[::1]:65535", "::1", 65535),
        (" 10.1.2.3:9100 ", "10.1.2.3", 9100),
    ],
)
def test_addresses_that_are_served(text: str, host: str, port: int) -> None:
    assert parse_metrics_address(text) == MetricsAddress(host, port)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("127.0.0.1", "has no port"),
        ("example.com:9464", "not an IP address"),
        ("127.0.0.1:0", "outside 1..65535"),
        ("127.0.0.1:65536", "outside 1..65535"),
        ("127.0.0.1:http", "must be a number"),
        ("::1:9464", "in brackets"),
        ("[::1]9464", "[ADDRESS]:PORT"),
    ],
)
def test_addresses_that_are_refused_say_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        parse_metrics_address(text)


def test_the_flag_wins_over_the_inventory_and_a_bad_flag_is_a_usage_error() -> None:
    assert metrics_setting(None, None, "fleet.toml") is None
    from_file = metrics_setting(None, "9100", "fleet.toml")
    assert from_file == MetricsSetting(
        MetricsAddress("127.0.0.1", 9100), "fleet.toml: [fleet] metrics_address"
    )
    assert metrics_setting("9200", "9100", "fleet.toml") == MetricsSetting(
        MetricsAddress("127.0.0.1", 9200), "--metrics"
    )
    with pytest.raises(UsageError, match="--metrics nope"):
        metrics_setting("nope", None, "fleet.toml")


def test_a_port_in_use_is_a_usage_error_naming_where_it_was_set() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        origin = "fleet.toml: [fleet] metrics_address"
        with pytest.raises(UsageError) as refused:
            start_metrics_server(MetricsSetting(MetricsAddress("127.0.0.1", port), origin))
    message = str(refused.value)
    assert f"cannot serve /metrics on 127.0.0.1:{port} (from {origin})" in message
    assert f"port {port} is in use by another process" in message
    assert f"set another port in {origin} (or give --metrics one)" in message


def test_the_server_serves_the_latest_snapshot_at_scrape_time() -> None:
    # Port 0 only here (the kernel picks one); an address given by a person needs 1..65535.
    server = start_metrics_server(MetricsSetting(MetricsAddress("127.0.0.1", 0), "test"))
    try:
        assert httpx.get(server.url).text == ""
        server.collector.latest = full_fleet()
        answer = httpx.get(server.url)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "fleetdeck_gpu_temperature_celsius{" in answer.text
        # Our registry only: no process or Python collectors of the default registry.
        assert "process_cpu_seconds_total" not in answer.text
        assert "python_info" not in answer.text
    finally:
        server.close()


def metric_names_in(text: str) -> set[str]:
    """Family names used in PromQL or a table, histogram and counter suffixes dropped."""
    names = set(re.findall(r"\bfleetdeck_[a-z0-9_]+", text))
    return {re.sub(r"_(bucket|sum|count|total)$", "", name) for name in names}


def test_the_grafana_dashboard_only_queries_metrics_that_exist() -> None:
    dashboard = json.loads((ROOT / "examples" / "grafana-dashboard.json").read_text())
    served = family_names(page(full_fleet()))
    panels = [p for p in dashboard["panels"] if p.get("type") != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    assert all(p["targets"] for p in panels)
    used = metric_names_in("\n".join(exprs))
    assert used <= served, used - served
    # Each thing the dashboard is for is on it.
    for needed in ("fleetdeck_replica_status", "fleetdeck_gpu_temperature_celsius",
                   "fleetdeck_gpu_utilization_ratio", "fleetdeck_gpu_memory_used_bytes",
                   "fleetdeck_deployment_requests_per_second",
                   "fleetdeck_deployment_e2e_request_latency_seconds",
                   "fleetdeck_deployment_generation_tokens_per_second",
                   "fleetdeck_deployment_kv_cache_usage_ratio"):  # fmt: skip
        assert needed in used, needed


def test_the_readme_table_names_every_metric_served() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Prometheus and Grafana", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("| `fleetdeck_"))
    assert metric_names_in(table) == family_names(page(full_fleet()))


def test_a_bad_metrics_address_in_the_inventory_names_its_line_and_key(tmp_path: Path) -> None:
    from fleetdeck.core.errors import InventoryError
    from fleetdeck.core.inventory import load_inventory

    inventory = tmp_path / "fleet.toml"
    inventory.write_text(
        '[fleet]\nname = "t"\nmetrics_address = "0.0.0.0:99999"\n\n'
        '[[hosts]]\nname = "h"\naddress = "127.0.0.1"\ntransport = "local"\n'
    )
    with pytest.raises(InventoryError) as refused:
        load_inventory(inventory)
    assert f"{inventory}:3: fleet.metrics_address: '0.0.0.0:99999': port 99999" in str(
        refused.value
    )
    inventory.write_text(inventory.read_text().replace("0.0.0.0:99999", "9464"))
    assert load_inventory(inventory).fleet.metrics_address == "9464"
