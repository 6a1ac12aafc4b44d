"""Editing one deployment of an inventory file: comments and layout kept, the loader judges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetdeck.core.errors import UsageError
from fleetdeck.core.inventory import load_inventory
from fleetdeck.core.inventory.editing import (
    GENERAL,
    check_edit,
    deployment_data,
    read_exported,
    with_deployment,
    write_inventory,
)
from fleetdeck.core.inventory.form_fields import (
    DEPLOYMENT_FIELDS,
    FIELDS_BY_KEY,
    FieldKind,
    form_data,
    form_values,
)
from fleetdeck.core.inventory.models import Autoscale, Deployment, Placement, VllmOptions
from fleetdeck.core.inventory.toml_layout import export_toml

INVENTORY = """\
# the lab fleet
[fleet]
name = "lab"

[[hosts]]
name = "gpu-a"          # the big one
transport = "local"
simulate = { gpus = 4 }

# chat model for the team
[[deployments]]
name = "llama"
model = "meta/llama"    # keep me
start_timeout = "20m"   # first download is slow
api_key = { env = "LLAMA_KEY" }

[deployments.vllm]
max_model_len = 8192    # context
dtype = "bfloat16"

# the small one
[[deployments]]
name = "phi"
model = "microsoft/phi"
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(INVENTORY)
    return path


def values_of(name: str, text: str = INVENTORY) -> dict[str, str]:
    return form_values(deployment_data(text, name))


def test_every_key_of_every_deployment_table_has_a_field_with_help() -> None:
    expected = {k for k in Deployment.model_fields if k not in ("placement", "autoscale", "vllm")}
    expected |= {f"placement.{k}" for k in Placement.model_fields}
    expected |= {f"autoscale.{k}" for k in Autoscale.model_fields}
    expected |= {f"vllm.{k}" for k in VllmOptions.model_fields}
    assert set(FIELDS_BY_KEY) == expected
    assert all(f.help for f in DEPLOYMENT_FIELDS)
    assert FIELDS_BY_KEY["vllm.dtype"].choices[:2] == ("auto", "half")
    assert FIELDS_BY_KEY["start_timeout"].default == "15m"
    assert FIELDS_BY_KEY["idle_timeout"].kind is FieldKind.DURATION
    assert FIELDS_BY_KEY["api_key"].kind is FieldKind.SECRET


def test_values_round_trip_through_the_form() -> None:
    values = values_of("llama")
    assert values["api_key"] == "env:LLAMA_KEY"
    assert values["start_timeout"] == "20m"
    assert form_data(values).data == deployment_data(INVENTORY, "llama")


def test_a_secret_is_only_ever_a_reference() -> None:
    values = values_of("llama")
    values["api_key"] = "sk-the-secret-itself"
    read = form_data(values)
    assert "api_key" in read.errors and "sk-the" not in read.errors["api_key"]
    values["api_key"] = "file:/etc/keys/llama"
    assert form_data(values).data["api_key"] == {"file": "/etc/keys/llama"}


def test_an_edit_changes_only_its_keys_and_keeps_every_comment(inventory: Path) -> None:
    values = values_of("llama")
    values["vllm.max_model_len"] = "4096"
    values["replicas"] = "2"
    check = check_edit(INVENTORY, inventory, form_data(values).data, "llama")
    assert check.ok, check.errors
    assert check.text == INVENTORY.replace(
        "max_model_len = 8192    # context", "max_model_len = 4096    # context"
    ).replace(
        'api_key = { env = "LLAMA_KEY" }\n', 'api_key = { env = "LLAMA_KEY" }\nreplicas = 2\n'
    )
    write_inventory(inventory, check.text)
    loaded = load_inventory(inventory)
    llama = loaded.deployment("llama")
    assert llama is not None and llama.vllm.max_model_len == 4096 and llama.replicas == 2


def test_a_cleared_key_is_removed_and_a_new_deployment_is_appended(inventory: Path) -> None:
    values = values_of("llama")
    values["vllm.dtype"] = ""
    edited = with_deployment(INVENTORY, form_data(values).data, "llama")
    assert 'dtype = "bfloat16"' not in edited and "# context" in edited
    clone = values_of("llama")
    clone["name"] = "llama-2"
    check = check_edit(edited, inventory, form_data(clone).data, None)
    assert check.ok, check.errors
    assert check.text.startswith(edited.rstrip("\n") + '\n\n[[deployments]]\nname = "llama-2"')
    assert check.inventory is not None
    assert [d.name for d in check.inventory.deployments] == ["llama", "phi", "llama-2"]


def test_wrong_values_come_back_beside_their_field(inventory: Path) -> None:
    values = values_of("phi")
    values["vllm.dtype"] = "fp7"
    check = check_edit(INVENTORY, inventory, form_data(values).data, "phi")
    assert not check.ok and list(check.errors) == ["vllm.dtype"]
    assert "fp7" in check.errors["vllm.dtype"][0]
    values = values_of("phi")
    values["replicas"] = "2"
    values["autoscale.min"] = "1"
    values["autoscale.max"] = "3"
    check = check_edit(INVENTORY, inventory, form_data(values).data, "phi")
    assert "either replicas or an [autoscale] table" in check.errors["replicas"][0]


def test_a_duplicate_name_and_a_problem_elsewhere_are_reported(inventory: Path) -> None:
    values = values_of("phi")
    values["name"] = "llama"
    check = check_edit(INVENTORY, inventory, form_data(values).data, "phi")
    assert "name" in check.errors and not check.ok
    broken = INVENTORY.replace('transport = "local"', 'transport = "carrier-pigeon"')
    check = check_edit(broken, inventory, form_data(values_of("phi")).data, "phi")
    assert check.errors[GENERAL][0].startswith("line 7: hosts[0].transport")


def test_an_inventory_without_deployments_gets_its_first(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    text = '[fleet]\nname = "x"  # mine\n\n[[hosts]]\nname = "a"\ntransport = "local"\n'
    check = check_edit(text, path, {"name": "one", "model": "m"}, None)
    assert check.ok, check.errors
    assert check.text.startswith(text) and "# mine" in check.text


def test_export_formats_read_back_into_the_form() -> None:
    data = deployment_data(INVENTORY, "llama")
    assert read_exported(export_toml(data, "fleet.toml")) == data
    assert read_exported(json.dumps(data)) == data
    with pytest.raises(UsageError):
        read_exported("[fleet]\nname = 'x'\n")


def test_write_keeps_the_file_mode(inventory: Path) -> None:
    inventory.chmod(0o600)
    write_inventory(inventory, INVENTORY + "\n")
    assert inventory.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in inventory.parent.iterdir()] == ["fleet.toml"]
