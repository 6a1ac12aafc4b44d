"""The inventory: one TOML file describing the fleet's hosts and its deployments.

`load_inventory()` is the only way in; it returns immutable models or raises
`InventoryError` with a `file:line: key.path: message` line per problem.
"""

from fleetdeck.core.inventory.fields import MAX_REPLICAS
from fleetdeck.core.inventory.loader import load_inventory, parse_inventory
from fleetdeck.core.inventory.models import (
    Autoscale,
    Canary,
    Deployment,
    Endpoint,
    EndpointBackend,
    EndpointShadow,
    Fleet,
    Host,
    Inventory,
    Placement,
    SimulatedGpus,
    VllmOptions,
)
from fleetdeck.core.inventory.problems import Problem
from fleetdeck.core.inventory.schema import inventory_json_schema
from fleetdeck.core.inventory.secrets import SecretRef, mask_secret

__all__ = [
    "MAX_REPLICAS",
    "Autoscale",
    "Canary",
    "Deployment",
    "Endpoint",
    "EndpointBackend",
    "EndpointShadow",
    "Fleet",
    "Host",
    "Inventory",
    "Placement",
    "Problem",
    "SecretRef",
    "SimulatedGpus",
    "VllmOptions",
    "inventory_json_schema",
    "load_inventory",
    "mask_secret",
    "parse_inventory",
]
