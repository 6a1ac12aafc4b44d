"""`fleetdeck export` writes TOML that loads back into the same deployment."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetdeck.core.commands.toml_writer import dump_table
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import parse_inventory

INVENTORY = """
[fleet]
name = "t"
[[hosts]]
name = "a"
transport = "local"
labels = { zone = "eu" }
[[deployments]]
name = "llm"
model = "org/model \\"quoted\\""
replicas = 2
placement = { labels = { zone = "eu" }, strategy = "binpack" }
api_key = { env = "LLM_KEY" }
idle_timeout = "2h"
update_strategy = "recreate"
[deployments.vllm]
max_model_len = 8192
dtype = "bfloat16"
gpu_memory_utilization = 0.85
enforce_eager = true
extra_args = ["--enable-chunked-prefill"]
[[deployments]]
name = "scaled"
model = "m"
[deployments.autoscale]
min = 0
max = 4
scale_down_delay = "10m"
"""
HOST = '[fleet]\nname = "t"\n[[hosts]]\nname = "a"\ntransport = "local"\nlabels = { zone = "eu" }\n'


@pytest.mark.parametrize("name", ["llm", "scaled"])
def test_export_round_trips(name: str, tmp_path: Path) -> None:
    inventory = parse_inventory(INVENTORY, tmp_path / "fleet.toml")
    engine = Engine(inventory, state_dir=tmp_path)
    data = FleetIntents(engine).export(name)
    assert data is not None
    text = HOST + dump_table("[[deployments]]", data)
    again = parse_inventory(text, tmp_path / "exported.toml")
    assert again.deployments[0] == inventory.deployment(name)


def test_export_names_secrets_never_their_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_KEY", "sk-secret-value")
    inventory = parse_inventory(INVENTORY, tmp_path / "fleet.toml")
    engine = Engine(inventory, state_dir=tmp_path)
    engine.secrets()  # resolved in memory, as during an apply
    text = dump_table("[[deployments]]", FleetIntents(engine).export("llm"))
    assert 'api_key = { env = "LLM_KEY" }' in text
    assert "sk-secret-value" not in text
