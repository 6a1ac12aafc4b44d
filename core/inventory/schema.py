"""JSON Schema of the inventory file, for editor completion (`fleetdeck schema`).

It describes the TOML as written (with [defaults], durations as strings) rather than
the loaded `Inventory`, and drops `null`, which TOML cannot express.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from fleetdeck.core.inventory.field_docs import document_fields
from fleetdeck.core.inventory.fields import InventoryModel
from fleetdeck.core.inventory.models import Deployment, Fleet, Host, HostSettings

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class InventoryFile(InventoryModel):
    """A fleetdeck inventory: the hosts of a fleet and the vLLM deployments to run on them."""

    fleet: Fleet
    """Name of this fleet."""
    defaults: HostSettings = Field(default_factory=HostSettings)
    """Values every [[hosts]] entry inherits unless it sets its own."""
    hosts: list[Host] = Field(default_factory=list)
    """The machines, one [[hosts]] table each."""
    deployments: list[Deployment] = Field(default_factory=list)
    """The models to serve, one [[deployments]] table each."""


class _TomlJsonSchema(GenerateJsonSchema):
    """TOML has no null: an optional key is simply left out."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        generated = super().default_schema(schema)
        if generated.get("default", 0) is None:
            del generated["default"]
        return generated


def inventory_json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of an inventory file, every key with a description."""
    document_fields()
    schema = InventoryFile.model_json_schema(schema_generator=_TomlJsonSchema)
    return {"$schema": SCHEMA_DIALECT, **schema, "title": "fleetdeck inventory"}
