"""The console's wording, as plain strings: no app needed."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from fleetdeck.core.errors import FleetdeckError
from fleetdeck.core.fleet.snapshot import (
    DeploymentSnapshot,
    DeploymentStatus,
    LatencyPercentiles,
    MetricsSnapshot,
    ReplicaSnapshot,
    ReplicaStatus,
)
from fleetdeck.core.inventory import parse_inventory
from fleetdeck.tui.deployment_access import (
    ClientHint,
    api_base,
    client_hints,
    curl_command_for,
    curl_test_command,
    key_variable,
)
from fleetdeck.tui.error_notice import describe_error
from fleetdeck.tui.widgets.log_pane import printable
from fleetdeck.tui.widgets.metrics_text import format_rate, format_seconds, metrics_line, spark_bars
from tests.tui.fleet_data import busy_metrics


def replica(n: int, status: ReplicaStatus, port: int) -> ReplicaSnapshot:
    return ReplicaSnapshot(id=f"d/r{n}", deployment="d", host="h", port=port, status=status)


def snapshot(*replicas: ReplicaSnapshot, masked: str | None = None) -> DeploymentSnapshot:
    return DeploymentSnapshot(
        name="d", model="org/m", status=DeploymentStatus.ACTIVE, desired=len(replicas),
        replicas=replicas, api_key_masked=masked,
    )  # fmt: skip


def test_api_base_is_the_first_ready_replica_on_loopback() -> None:
    deployment = snapshot(
        replica(0, ReplicaStatus.STARTING, 8100),
        replica(1, ReplicaStatus.PENDING, 0),
        replica(2, ReplicaStatus.IDLE, 8102),
        replica(3, ReplicaStatus.ACTIVE, 8103),
    )
    assert api_base(deployment) == "http://127.0.0.1:8102/v1"
    assert api_base(snapshot(replica(0, ReplicaStatus.STARTING, 8100))) is None
    with_endpoint = deployment.model_copy(update={"endpoint": "http://10.0.0.1:9000/v1"})
    assert api_base(with_endpoint) == "http://10.0.0.1:9000/v1"


def test_key_variable_comes_from_the_inventory_else_the_usual_name() -> None:
    deployment = snapshot(replica(0, ReplicaStatus.ACTIVE, 8100), masked="sk-…abcd")
    assert key_variable(deployment, ClientHint("m", True, "LLAMA_KEY")) == "LLAMA_KEY"
    assert key_variable(deployment, ClientHint("m", True, None)) == "VLLM_API_KEY"  # a file
    assert key_variable(deployment, None) == "VLLM_API_KEY"
    keyless = snapshot(replica(0, ReplicaStatus.ACTIVE, 8100))
    assert key_variable(keyless, ClientHint("m", False)) is None


def test_the_test_command_is_a_valid_curl_that_names_the_variable_only() -> None:
    command = curl_test_command("http://127.0.0.1:8100/v1", "org/it's-a-model", "LLAMA_KEY")
    argv = shlex.split(command)  # what the shell passes to curl (before $ expansion)
    assert argv[:3] == ["curl", "-s", "http://127.0.0.1:8100/v1/chat/completions"]
    assert argv[argv.index("-H") + 1] == "Authorization: Bearer $LLAMA_KEY"
    body = json.loads(argv[argv.index("-d") + 1])
    assert body["model"] == "org/it's-a-model"
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    assert "Authorization" not in curl_test_command("http://x/v1", "m", None)


def test_client_hints_read_the_inventory(tmp_path: Path) -> None:
    inventory = parse_inventory(
        """
[fleet]
name = "lab"
[[hosts]]
name = "a"
address = "10.0.0.1"
[[deployments]]
name = "llama"
model = "meta-llama/Llama-3.1-8B-Instruct"
api_key = { env = "LLAMA_KEY" }
[deployments.vllm]
served_model_name = "llama-8b"
[[deployments]]
name = "open"
model = "org/open"
""",
        tmp_path / "fleet.toml",
    )
    hints = client_hints(inventory)
    assert hints["llama"] == ClientHint("llama-8b", True, "LLAMA_KEY")
    assert hints["open"] == ClientHint("org/open", False, None)
    ready = snapshot(replica(0, ReplicaStatus.ACTIVE, 8100))
    command = curl_command_for(ready, hints["llama"])
    assert command is not None and '"model":"llama-8b"' in command


def test_spark_bars_scale_to_their_own_maximum() -> None:
    assert spark_bars([], 8) == ""
    assert spark_bars([0, 0, 0], 8) == "▁▁▁"
    assert spark_bars([0, 1, 2, 4, 8], 8) == "▁▂▃▅█"  # round(v / 8 * 7)
    assert spark_bars(range(20), 4) == "▇▇██", "only the last `width` points"


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "—"), (0.0421, "42ms"), (0.999, "999ms"), (1.3249, "1.32s")]
)
def test_format_seconds(seconds: float | None, text: str) -> None:
    assert format_seconds(seconds) == text


def test_format_rate() -> None:
    assert (format_rate(None), format_rate(4.25), format_rate(512.4)) == ("—", "4.2", "512")


def test_metrics_line() -> None:
    assert metrics_line(busy_metrics()) == (
        "req/s 4.2 · p50 410ms · p95 1.32s · TTFT p95 120ms · gen tok/s 512 · "
        "running 3 · waiting 1 · KV 27%"
    )
    failing = MetricsSnapshot(
        sampled_at=1, window_s=60, error_ratio=0.25, e2e_latency_s=LatencyPercentiles()
    )
    assert metrics_line(failing).endswith("KV — · errors 25%")
    assert metrics_line(None).startswith("no metrics yet")


def test_errors_with_a_title_keep_it_and_others_say_what_failed() -> None:
    notice = describe_error(
        FleetdeckError("gpu-a refused the key", "publickey denied", "run ssh-copy-id"),
        doing="scale d to 2",
        fallback_step="try again",
    )
    assert (notice.title, notice.body) == (
        "gpu-a refused the key",
        "publickey denied\nNext: run ssh-copy-id",
    )
    notice = describe_error(ValueError("boom"), doing="scale d to 2", fallback_step="try again")
    assert (notice.title, notice.body) == (
        "Could not scale d to 2",
        "ValueError: boom\nNext: try again",
    )
    assert describe_error(TimeoutError(), doing="x", fallback_step="").one_line == (
        "Could not x: TimeoutError"
    )


def test_log_lines_lose_terminal_escapes() -> None:
    assert printable("\x1b[32mINFO\x1b[0m ok\r\n") == "INFO ok"
    assert printable("a\tb\x07") == "a   b"
