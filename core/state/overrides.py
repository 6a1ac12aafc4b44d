"""Runtime replica counts set by `scale`, `stop` and `start`, and endpoint routes set by
`route` (blue-green), kept across commands.

The fleet's overrides live on its home host (hosts/remote/fleet_state.py), where every
operator reads and writes them; this file is this machine's copy of them: what the home
host last said (its revision under SHARED), with this machine's edits not yet sent there
applied on top (kept in overrides.unshared.json until the home host has them). So a
command run while the home host is unreachable still does what the user asked, here.

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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock

from fleetdeck.core.inventory import MAX_REPLICAS, Deployment, Endpoint, Inventory
from fleetdeck.core.state.atomic_file import replace_file
from fleetdeck.hosts.observations import FleetOverrides
from fleetdeck.hosts.remote.fleet_state import apply_ops

Op = list[Any]  # ["set", key, value], ["drop", key] or ["clear"] (fleet_state.apply_ops)

OVERRIDES = "overrides.json"
LOCK = OVERRIDES + ".lock"
UNSHARED = "overrides.unshared.json"  # edits (ops) the home host does not have yet
SHARED = "_shared"  # the home host's revision this copy starts from (never a deployment)
RESTART = "restart:"  # key prefix of a deployment's restart token
ROUTE = "route:"  # key prefix of an endpoint's route (`fleetdeck route --to`)
# Held for one small read and write; only a hung process holds it longer.
LOCK_TIMEOUT_S = 30.0


class Overrides:
    def __init__(self, directory: Path, inventory: Inventory) -> None:
        self.path = directory / OVERRIDES
        self.unshared_path = directory / UNSHARED
        self.inventory = inventory
        self._lock = FileLock(directory / LOCK, timeout=LOCK_TIMEOUT_S)
        if self._written_before_sharing(self._load()):
            self._share_earlier_overrides()

    def _written_before_sharing(self, data: dict[str, Any]) -> bool:
        """A copy written by a fleetdeck from before the home host kept the overrides:
        entries, no home revision, and no record of edits to send."""
        return bool(data) and SHARED not in data and not self.unshared_path.exists()

    def _share_earlier_overrides(self) -> None:
        """Queue such a copy's entries for the home host, as edits made here: otherwise the
        first document taken from the home host would replace them, and a deployment
        stopped before the upgrade would start again."""
        with self._lock:
            data = self._load()
            if self._written_before_sharing(data):
                ops: list[Op] = [["set", key, value] for key, value in data.items()]
                self._save(ops, self.unshared_path)

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict[str, Any]]:
        """The overrides to change in place, written back when the block ends; no other
        fleetdeck process on this machine writes them in between."""
        with self._lock:
            data = self._load()
            yield data
            self._save(data)

    def _edit(self, ops: list[Op]) -> None:
        """Apply `ops` here at once, and keep them for the home host."""
        with self._editing() as data:
            shared = data.get(SHARED)
            apply_ops(data, ops)
            if shared is not None:
                data[SHARED] = shared  # a clear drops the overrides, not where they came from
            self._save(self._load_unshared() + ops, self.unshared_path)

    def _load_unshared(self) -> list[Op]:
        try:
            data = json.loads(self.unshared_path.read_text())
        except (OSError, ValueError):
            return []
        return [op for op in data if isinstance(op, list)] if isinstance(data, list) else []

    def unshared(self) -> list[Op]:
        """The edits made on this machine that the home host does not have yet."""
        return self._load_unshared()

    def shared_revision(self) -> int:
        """The home host's revision this copy starts from (0: none seen yet)."""
        return self.shared_order()[0]

    def shared_order(self) -> tuple[int, float]:
        """The home host's document this copy starts from, as FleetOverrides.order."""
        shared = self._load().get(SHARED)
        if not isinstance(shared, dict):
            return (0, 0.0)
        return (int(shared.get("revision", 0)), float(shared.get("written_at", 0.0)))

    def shared_document(self) -> FleetOverrides | None:
        """What the home host last said, as far as this copy tells (its edits included)."""
        data = self._load()
        shared = data.pop(SHARED, None)
        if not isinstance(shared, dict):
            return None
        return FleetOverrides(
            revision=int(shared.get("revision", 0)),
            entries=data,
            written_at=float(shared.get("written_at", 0.0)),
        )

    def take_shared(self, document: FleetOverrides, *, sent: Sequence[Op] = ()) -> bool:
        """The home host's document (newer than this copy's): it replaces this copy,
        with the edits not yet there applied on top. `sent`: edits the home host now
        holds (they led to `document`), no longer kept here. False when `document` is
        not newer than what this copy holds."""
        with self._lock:
            unshared = self._load_unshared()
            if sent and unshared[: len(sent)] == list(sent):
                unshared = unshared[len(sent) :]
                self._save(unshared, self.unshared_path)
            if document.order <= self.shared_order():
                return False
            data: dict[str, Any] = dict(document.entries)
            apply_ops(data, unshared)
            data[SHARED] = {
                "revision": document.revision,
                "written_at": document.written_at,
                "by": document.written_by,
            }
            self._save(data)
            return True

    def _save(self, data: object, path: Path | None = None) -> None:
        replace_file(path or self.path, json.dumps(data, indent=1), durable=True)

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
            who = [str(entry[key]) for key in ("by", "operator") if entry.get(key)]
            by = f" ({', '.join(who)})" if who else ""
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

    def bump_restart(self, deployment: str, token: str, *, operator: str = "") -> None:
        entry = {"token": token, **({"operator": operator} if operator else {})}
        self._edit([["set", RESTART + deployment, entry]])

    def set(
        self, deployment: str, replicas: int | None, *, by: str = "", operator: str = ""
    ) -> None:
        """Override a deployment's count; None returns it to the inventory's. `by` says
        how it was asked, for describe_in_force: "fleetdeck scale", "the console", ...;
        `operator` who asked (user@machine)."""
        found = self.inventory.deployment(deployment)
        if replicas is None or found is None:
            self._edit([["drop", deployment]])
            return
        entry: dict[str, Any] = {
            "replicas": replicas,
            "inventory_replicas": found.desired_replicas,
        }
        if by:
            entry["by"] = by
        if operator:
            entry["operator"] = operator
        self._edit([["set", deployment, entry]])

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

    def set_route(
        self, endpoint: str, deployment: str | None, *, by: str = "", operator: str = ""
    ) -> None:
        """Send all of `endpoint`'s traffic to `deployment`; None: back to the weights.
        Shared with the fleet's home host like a count, so every operator's controller
        routes the same way."""
        found = self.inventory.endpoint(endpoint)
        if deployment is None or found is None:
            self._edit([["drop", ROUTE + endpoint]])
            return
        entry: dict[str, Any] = {"to": deployment, "inventory_backends": _backends(found)}
        if by:
            entry["by"] = by
        if operator:
            entry["operator"] = operator
        self._edit([["set", ROUTE + endpoint, entry]])

    def forget(self, deployment: str | None) -> None:
        """Drop a deployment's override and restart token (None: every deployment's),
        as `fleetdeck down` leaves nothing behind."""
        if deployment is None:
            self._edit([["clear"]])
        else:
            self._edit([["drop", deployment], ["drop", RESTART + deployment]])


def _backends(endpoint: Endpoint) -> list[list[Any]]:
    """The inventory's backends of an endpoint, as JSON keeps them: a route set on them
    lapses once they change."""
    return [[backend.deployment, backend.weight] for backend in endpoint.backends]


def _replicas(count: int) -> str:
    return f"{count} replica" + ("" if count == 1 else "s")
