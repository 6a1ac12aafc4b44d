from __future__ import annotations

import json
from typing import Any

from fleetdeck.core.inventory import inventory_json_schema


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [(f"#/{key}", value) for key, value in schema["properties"].items()]
    for model_name, model in schema["$defs"].items():
        found += [(f"{model_name}.{key}", value) for key, value in model["properties"].items()]
    return found


def test_schema_is_json_and_names_the_sections() -> None:
    schema = json.loads(json.dumps(inventory_json_schema()))
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["properties"]) == {"fleet", "defaults", "hosts", "deployments"}
    assert schema["required"] == ["fleet"]
    assert schema["properties"]["hosts"]["type"] == "array"
    assert {"Host", "Deployment", "VllmOptions", "Autoscale", "SecretRef"} <= set(schema["$defs"])
    assert schema["$defs"]["VllmOptions"]["additionalProperties"] is False


def test_every_key_has_a_description() -> None:
    undocumented = [
        name for name, prop in _properties(inventory_json_schema()) if not prop.get("description")
    ]
    assert undocumented == []


def test_toml_shapes_no_null_and_durations_accept_strings() -> None:
    schema = inventory_json_schema()
    assert "null" not in json.dumps(schema)
    idle = schema["$defs"]["Deployment"]["properties"]["idle_timeout"]
    assert {"type": "number", "minimum": 0} in idle["anyOf"]
    assert any(option.get("type") == "string" for option in idle["anyOf"])
    assert "source" not in schema["properties"]
