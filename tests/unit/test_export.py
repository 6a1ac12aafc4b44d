"""`fleetdeck export` writes TOML that loads back into the same deployment."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.errors import InventoryError
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import load_inventory, parse_inventory
from fleetdeck.core.inventory.toml_layout import export_toml

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
    text = HOST + export_toml(data, "fleet.toml")
    again = parse_inventory(text, tmp_path / "exported.toml")
    assert again.deployments[0] == inventory.deployment(name)


def test_export_names_secrets_never_their_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_KEY", "sk-secret-value")
    inventory = parse_inventory(INVENTORY, tmp_path / "fleet.toml")
    engine = Engine(inventory, state_dir=tmp_path)
    engine.secrets()  # resolved in memory, as during an apply
    text = export_toml(FleetIntents(engine).export("llm"), "fleet.toml")
    assert 'api_key = { env = "LLM_KEY" }' in text
    assert "sk-secret-value" not in text


# Nested tables (placement with labels, vllm, autoscale), secret references, lists, and
# strings that need escapes: quotes, a backslash, non-ASCII text, a newline, a tab.
TRICKY_HOST = r"""
[fleet]
name = "t"
[[hosts]]
name = "a"
transport = "local"
labels = { zone = "eu", "rack id" = "b\\7", "région" = "île" }
"""
TRICKY = (
    TRICKY_HOST
    + r"""
[[deployments]]
name = "tricky"
model = "/models/\"quoted\" dir\\with backslash/Llama-3 🦙"
gpus_per_replica = 0
placement = { labels = { zone = "eu", "rack id" = "b\\7", "région" = "île" }, strategy = "binpack" }
api_key = { env = "TRICKY_KEY" }
hf_token = { file = "secrets/hf token.txt" }
idle_timeout = "15m"
env = { GREETING = "line one\nline two\ttabbed", QUOTE = "it's \"fine\"", EMPTY = "" }
[deployments.vllm]
served_model_name = "tricky \"model\" ✓"
max_model_len = 4096
gpu_memory_utilization = 0.5
extra_args = ["--chat-template", "{{ 'a\\b' }}\n", "--foo=é"]
[deployments.autoscale]
min = 0
max = 3
target_running_per_replica = 2.5
scale_up_delay = "45s"
[[deployments]]
name = "plain"
model = "m"
replicas = 0
placement = { strategy = "spread", labels = {} }
"""
)


@pytest.mark.parametrize("name", ["tricky", "plain"])
def test_export_round_trips_nested_tables_secrets_and_escapes(name: str, tmp_path: Path) -> None:
    source = tmp_path / "fleet.toml"
    source.write_text(TRICKY, encoding="utf-8")
    inventory = load_inventory(source)
    data = FleetIntents(Engine(inventory, state_dir=tmp_path)).export(name)
    assert data is not None
    exported_file = tmp_path / "exported.toml"  # same folder: file secrets resolve alike
    exported_file.write_text(TRICKY_HOST + export_toml(data, str(source)), encoding="utf-8")
    again = load_inventory(exported_file)
    assert again.deployments[0] == inventory.deployment(name)


def test_export_is_one_commented_deployments_entry(tmp_path: Path) -> None:
    source = tmp_path / "fleet.toml"
    source.write_text(TRICKY, encoding="utf-8")
    data = FleetIntents(Engine(load_inventory(source), state_dir=tmp_path)).export("tricky")
    text = export_toml(data, str(source))
    assert text.startswith(f"# exported by fleetdeck from {source}\n")
    assert text.count("[[deployments]]") == 1
    assert "[deployments.vllm]" in text
    assert "[deployments.autoscale]" in text or "autoscale = {" in text
    assert 'api_key = { env = "TRICKY_KEY" }' in text
    # Pasted under an inventory's other entries, it becomes one more deployment.
    both = tmp_path / "both.toml"
    both.write_text(TRICKY + "\n" + text, encoding="utf-8")
    with pytest.raises(InventoryError, match="tricky"):  # the same name twice is refused...
        load_inventory(both)
    data["name"] = "tricky-copy"
    both.write_text(TRICKY + "\n" + export_toml(data, str(source)), encoding="utf-8")
    names = [d.name for d in load_inventory(both).deployments]  # ...a new one is added
    assert names == ["tricky", "plain", "tricky-copy"]
