"""Loading a good inventory: defaults merged, durations parsed, paths and secrets resolved."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from fleetdeck.core.errors import InventoryError
from fleetdeck.core.inventory import Inventory, load_inventory

EXAMPLE = Path(__file__).parents[2] / "examples" / "fleet.toml"

GOOD = """\
[fleet]
name = "lab"

[defaults]
user = "ubuntu"
identity_file = "keys/id_test"
vllm = "/opt/venv/bin/vllm serve"
port_range = [9000, 9010]
labels = { zone = "eu", tier = "gold" }
env = { HF_HOME = "/data/hf", TZ = "UTC" }

[[hosts]]
name = "gpu-a"
address = "10.0.0.11"
labels = { gpu = "h100" }

[[hosts]]
name = "gpu-b"
address = "10.0.0.12"
port = 2222
user = "ops"
labels = { tier = "silver" }
env = { HF_HOME = "/scratch/hf" }
state_dir = "~/fd-state"

[[hosts]]
name = "sim"
transport = "local"
simulate = { gpus = 4, memory_gib = 24 }

[[deployments]]
name = "llama8b"
model = "meta-llama/Llama-3.1-8B-Instruct"
replicas = 2
placement = { labels = { zone = "eu" }, strategy = "binpack" }
api_key = { env = "FLEETDECK_TEST_KEY" }
hf_token = { file = "secrets/hf.token" }
idle_timeout = "1h30m"
start_timeout = 120
[deployments.vllm]
max_model_len = 8192
dtype = "bfloat16"
tensor_parallel_size = 2
gpu_memory_utilization = 0.85
trust_remote_code = true
enable_prefix_caching = false
extra_args = ["--enable-chunked-prefill"]

[[deployments]]
name = "tiny"
model = "tiny-llama"
gpus_per_replica = 0
[deployments.autoscale]
min = 0
max = 3
scale_up_delay = "500ms"
scale_down_delay = "5m"
"""


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inventory:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "id_test").write_text("not really a key\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "hf.token").write_text("hf_abcdefghijklmnop\n")
    monkeypatch.setenv("FLEETDECK_TEST_KEY", "sk-test-0123456789f3a9")
    path = tmp_path / "fleet.toml"
    path.write_text(GOOD)
    return load_inventory(path)


def test_defaults_fill_hosts_and_a_hosts_own_value_wins(inventory: Inventory) -> None:
    gpu_a, gpu_b, sim = inventory.hosts
    assert (gpu_a.user, gpu_b.user) == ("ubuntu", "ops")
    assert gpu_a.port == 22 and gpu_b.port == 2222
    assert gpu_a.port_range == (9000, 9010)
    assert gpu_a.vllm_argv == ("/opt/venv/bin/vllm", "serve")
    assert sim.simulate is not None and sim.simulate.gpus == 4


def test_labels_and_env_merge_key_by_key(inventory: Inventory) -> None:
    gpu_a, gpu_b, _ = inventory.hosts
    assert gpu_a.labels == {"zone": "eu", "tier": "gold", "gpu": "h100"}
    assert gpu_b.labels == {"zone": "eu", "tier": "silver"}
    assert gpu_a.env == {"HF_HOME": "/data/hf", "TZ": "UTC"}
    assert gpu_b.env == {"HF_HOME": "/scratch/hf", "TZ": "UTC"}


def test_local_paths_expand_but_remote_state_dir_does_not(
    inventory: Inventory, tmp_path: Path
) -> None:
    gpu_a, gpu_b, sim = inventory.hosts
    assert gpu_a.identity_file == tmp_path / "keys" / "id_test"
    assert gpu_a.known_hosts == Path(os.path.expanduser("~/.ssh/known_hosts"))
    assert gpu_b.state_dir == "~/fd-state"
    assert sim.address == "localhost" and sim.transport == "local"
    assert inventory.source == tmp_path / "fleet.toml"


def test_durations_counts_and_gpus(inventory: Inventory) -> None:
    llama, tiny = inventory.deployments
    assert llama.idle_timeout == 5400.0
    assert llama.start_timeout == 120.0
    assert (llama.desired_replicas, llama.gpus_needed) == (2, 2)
    assert tiny.idle_timeout is None and tiny.start_timeout == 900.0
    assert tiny.replicas is None and tiny.desired_replicas == 0 and tiny.gpus_needed == 0
    assert tiny.autoscale is not None
    assert tiny.autoscale.scale_up_delay == 0.5
    assert tiny.autoscale.scale_down_delay == 300.0
    assert tiny.autoscale.window == 60.0
    assert tiny.autoscale.target_running_per_replica == 8.0


def test_deployment_without_replicas_or_autoscale_wants_one(tmp_path: Path) -> None:
    path = tmp_path / "one.toml"
    path.write_text(
        '[fleet]\nname = "x"\n[[hosts]]\nname = "h"\ntransport = "local"\n'
        '[[deployments]]\nname = "d"\nmodel = "m"\n'
    )
    deployment = load_inventory(path).deployments[0]
    assert deployment.replicas == 1 and deployment.desired_replicas == 1
    assert deployment.placement.strategy == "spread"
    assert deployment.vllm.host == "127.0.0.1"


def test_secrets_resolve_from_env_and_file(inventory: Inventory) -> None:
    llama = inventory.deployments[0]
    assert llama.api_key is not None and llama.hf_token is not None
    assert llama.api_key.describe() == "env:FLEETDECK_TEST_KEY"
    assert llama.api_key.resolve("deployments[0].api_key") == "sk-test-0123456789f3a9"
    assert llama.hf_token.resolve("deployments[0].hf_token") == "hf_abcdefghijklmnop"


def test_vllm_options_become_cli_flags(inventory: Inventory) -> None:
    assert inventory.deployments[0].vllm.to_cli_args() == [
        "--max-model-len",
        "8192",
        "--dtype",
        "bfloat16",
        "--tensor-parallel-size",
        "2",
        "--gpu-memory-utilization",
        "0.85",
        "--trust-remote-code",
        "--no-enable-prefix-caching",
        "--enable-chunked-prefill",
    ]
    assert inventory.deployments[1].vllm.to_cli_args() == []


def test_loaded_models_are_immutable(inventory: Inventory) -> None:
    with pytest.raises(ValidationError):
        inventory.hosts[0].port = 23  # type: ignore[misc]
    assert inventory.host("gpu-b") is inventory.hosts[1]
    assert inventory.deployment("tiny") is inventory.deployments[1]
    assert inventory.host("nope") is None


def test_example_inventory_loads() -> None:
    inventory = load_inventory(EXAMPLE)
    assert inventory.fleet.name == "lab"
    assert [host.name for host in inventory.hosts] == ["gpu-a", "gpu-b", "gpu-us"]
    assert {d.name for d in inventory.deployments} == {"llama8b", "qwen-coder"}


def test_every_problem_is_reported_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "many.toml"
    path.write_text(
        '[fleet]\nname = "x"\n'  # 1-2
        '[defaults]\nport = "22"\n'  # 3-4
        '[[hosts]]\nname = "h"\ntransport = "local"\nlabels = { zone = 1 }\n'  # 5-8
        '[[deployments]]\nname = "BAD"\nmodel = "m"\n'  # 9-11
        '[deployments.vllm]\ndtype = "bf16"\n'  # 12-13
        '[[deployments]]\nname = "ok"\n'  # 14-15
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert str(caught.value).splitlines() == [
        f'{path}:4: defaults.port: expected an integer, got "22"',
        f"{path}:8: hosts[0].labels.zone: expected a string, got 1",
        f"{path}:10: deployments[0].name: deployment names use 1 to 40 of a-z, 0-9 and"
        ' "-", not starting with "-" (they become file and process names on hosts);'
        ' got "BAD"',
        f'{path}:13: deployments[0].vllm.dtype: expected one of "auto", "half", "float16",'
        ' "bfloat16", "float", "float32"; got "bf16" (did you mean "bfloat16"?)',
        f"{path}:14: deployments[1].model: missing required key; add model = ...",
    ]


def test_unreadable_or_undecodable_file_is_an_inventory_error(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path / "absent.toml")
    assert str(caught.value) == (
        f"{tmp_path / 'absent.toml'}:-: file: cannot read it: No such file or directory"
    )
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'[fleet]\nname = "\xff"\n')
    with pytest.raises(InventoryError, match=r"binary.toml:-: file: not UTF-8 text"):
        load_inventory(binary)
    with pytest.raises(InventoryError, match=r"tmp.*:-: file: cannot read it"):
        load_inventory(tmp_path)


def test_syntax_error_at_end_of_file_points_at_the_last_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.toml"
    path.write_text('[fleet]\nname = "x"\nhosts = [')
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert f"{path}:3: syntax:" in str(caught.value)


def test_error_never_echoes_a_plain_secret(tmp_path: Path) -> None:
    path = tmp_path / "leak.toml"
    path.write_text(
        '[fleet]\nname = "x"\n[[hosts]]\nname = "h"\ntransport = "local"\n'
        '[[deployments]]\nname = "d"\nmodel = "m"\nhf_token = "hf_SECRETVALUE123"\n'
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert "SECRETVALUE" not in str(caught.value)
    assert "SECRETVALUE" not in caught.value.cause
