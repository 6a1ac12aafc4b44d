"""Runtime replica counts set by `scale`, `stop` and `start`, and endpoint routes set by
`route` (blue-green), kept across commands.

An override remembers the inventory's count at the time it was set: once the inventory
changes that deployment's count, the file wins again and the override is dropped.

Several processes write overrides.json at once: a one-shot `fleetdeck scale` while a
controller (`fleetdeck run`, the console) marks an idle deployment stopped or bumps a
restart token. Each read-modify-write holds overrides.json.lock (filelock; an OS lock,
so a process that dies releases it) and writes a temp file of its own, fsynced, then
renamed over overrides.json: no update is lost, and a reader, which takes no lock,
always sees a whole file. A file that is not a JSON object reads as no overrides.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock

from fleetdeck.core.inventory import MAX_REPLICAS, Deployment, Endpoint, Inventory

OVERRIDES = "overrides.json"
LOCK = OVERRIDES + ".lock"
RESTART = "restart:"  # key prefix of a deployment's restart token
ROUTE = "route:"  # key prefix of an endpoint's route (`fleetdeck route --to`)
# Held for one small read and write; only a hung process holds it longer.
LOCK_TIMEOUT_S = 30.0


class Overrides:
    def __init__(self, directory: Path, inventory: Inventory) -> None:
        self.path = directory / OVERRIDES
        self.inventory = inventory
        self._lock = FileLock(directory / LOCK, timeout=LOCK_TIMEOUT_S)

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict[str, dict[str, Any]]]:
        """The overrides to change in place, written back when the block ends; no other
        fleetdeck process writes them in between."""
        with self._lock:
            data = self._load()
            yield data
            self._save(data)

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        directory = self.path.parent
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=OVERRIDES + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(json.dumps(data, indent=1))
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_directory(directory)  # the rename itself survives a crash

    def desired(self) -> dict[str, int]:
        """Replica counts that differ from the inventory's, still valid for this file."""
        data = self._load()
        return {
            deployment.name: int(entry["replicas"]) for deployment, entry in self._in_force(data)
        }

    def _in_force(
        self, data: dict[str, dict[str, Any]]
    ) -> Iterator[tuple[Deployment, dict[str, Any]]]:
        for deployment in self.inventory.deployments:
            entry = data.get(deployment.name)
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("replicas"), int)
                and 0 <= entry["replicas"] <= MAX_REPLICAS  # one kept before the bound
                and entry.get("inventory_replicas") == deployment.desired_replicas
            ):
                yield deployment, entry

    def describe_in_force(self) -> list[str]:
        """One line per override in force, for `plan` and `apply` to print, e.g.
        "llama8b: 3 replicas (fleetdeck scale), inventory says 2"."""
        lines = []
        for deployment, entry in self._in_force(self._load()):
            replicas = int(entry["replicas"])
            count = "stopped" if replicas == 0 else _replicas(replicas)
            by = f" ({entry['by']})" if entry.get("by") else ""
            if deployment.autoscale is not None:
                low, high = deployment.autoscale.min, deployment.autoscale.max
                inventory_says = f"autoscale {low}-{high}"
            else:
                inventory_says = str(deployment.desired_replicas)
            lines.append(f"{deployment.name}: {count}{by}, inventory says {inventory_says}")
        return lines

    def restart_tokens(self) -> dict[str, str]:
        """Per deployment, a part of its spec hash: changing it rolls every replica."""
        data = self._load()
        return {
            d.name: str(data.get(RESTART + d.name, {}).get("token", ""))
            for d in self.inventory.deployments
        }

    def bump_restart(self, deployment: str, token: str) -> None:
        with self._editing() as data:
            data[RESTART + deployment] = {"token": token}

    def set(self, deployment: str, replicas: int | None, *, by: str = "") -> None:
        """Override a deployment's count; None returns it to the inventory's. `by` says
        who asked, for describe_in_force: "fleetdeck scale", "the console", ..."""
        with self._editing() as data:
            found = self.inventory.deployment(deployment)
            if replicas is None or found is None:
                data.pop(deployment, None)
            else:
                entry: dict[str, Any] = {
                    "replicas": replicas,
                    "inventory_replicas": found.desired_replicas,
                }
                if by:
                    entry["by"] = by
                data[deployment] = entry

    def routes(self) -> dict[str, str]:
        """Endpoint -> the backend `fleetdeck route --to` sent all of its traffic to, while
        the inventory's backends of that endpoint are still those the switch was made on."""
        data = self._load()
        found: dict[str, str] = {}
        for endpoint in self.inventory.endpoints:
            entry = data.get(ROUTE + endpoint.name)
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("to"), str)
                and entry.get("inventory_backends") == _backends(endpoint)
            ):
                found[endpoint.name] = entry["to"]
        return found

    def set_route(self, endpoint: str, deployment: str | None, *, by: str = "") -> None:
        """Send all of `endpoint`'s traffic to `deployment`; None: back to the weights."""
        with self._editing() as data:
            found = self.inventory.endpoint(endpoint)
            if deployment is None or found is None:
                data.pop(ROUTE + endpoint, None)
            else:
                entry: dict[str, Any] = {"to": deployment, "inventory_backends": _backends(found)}
                if by:
                    entry["by"] = by
                data[ROUTE + endpoint] = entry

    def forget(self, deployment: str | None) -> None:
        """Drop a deployment's override and restart token (None: every deployment's),
        as `fleetdeck down` leaves nothing behind."""
        with self._editing() as data:
            if deployment is None:
                data.clear()
            else:
                data.pop(deployment, None)
                data.pop(RESTART + deployment, None)


def _backends(endpoint: Endpoint) -> list[list[Any]]:
    """The inventory's backends of an endpoint, as JSON keeps them: a route set on them
    lapses once they change."""
    return [[backend.deployment, backend.weight] for backend in endpoint.backends]


def _replicas(count: int) -> str:
    return f"{count} replica" + ("" if count == 1 else "s")


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
