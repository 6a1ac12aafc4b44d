"""Runtime replica counts set by `scale`, `stop` and `start`, kept across commands.

An override remembers the inventory's count at the time it was set: once the inventory
changes that deployment's count, the file wins again and the override is dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fleetdeck.core.inventory import Inventory

OVERRIDES = "overrides.json"


class Overrides:
    def __init__(self, directory: Path, inventory: Inventory) -> None:
        self.path = directory / OVERRIDES
        self.inventory = inventory

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.path)

    def desired(self) -> dict[str, int]:
        """Replica counts that differ from the inventory's, still valid for this file."""
        counts = {}
        data = self._load()
        for deployment in self.inventory.deployments:
            entry = data.get(deployment.name)
            if entry and entry.get("inventory_replicas") == deployment.desired_replicas:
                counts[deployment.name] = int(entry["replicas"])
        return counts

    def restart_tokens(self) -> dict[str, str]:
        """Per deployment, a part of its spec hash: changing it rolls every replica."""
        data = self._load()
        return {
            d.name: str(data.get(f"restart:{d.name}", {}).get("token", ""))
            for d in self.inventory.deployments
        }

    def bump_restart(self, deployment: str, token: str) -> None:
        data = self._load()
        data[f"restart:{deployment}"] = {"token": token}
        self._save(data)

    def set(self, deployment: str, replicas: int | None) -> None:
        """Override a deployment's count; None returns it to the inventory's."""
        data = self._load()
        found = self.inventory.deployment(deployment)
        if replicas is None or found is None:
            data.pop(deployment, None)
        else:
            data[deployment] = {
                "replicas": replicas,
                "inventory_replicas": found.desired_replicas,
            }
        self._save(data)
