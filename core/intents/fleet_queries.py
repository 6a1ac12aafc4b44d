"""What FleetIntents reads and never changes: snapshots, events, the journal, the plan,
and the overrides in force. A base class of FleetIntents, so the console and the CLI
reach both through one object; the verbs stay in fleet_intents.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.errors import UsageError
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.inventory import Deployment, Inventory
from fleetdeck.core.policy.plan import Plan
from fleetdeck.hosts.errors import HostKeyRejected


class FleetQueries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def inventory(self) -> Inventory:
        return self._engine.inventory

    def snapshot(self) -> FleetSnapshot:
        return self._engine.snapshot()

    async def refresh(self) -> FleetSnapshot:
        return await self._engine.refresh()

    async def sampled_snapshot(self, seconds: float) -> FleetSnapshot:
        """A fresh snapshot; with `seconds`, request rates and latencies from two reads
        of /metrics that far apart (a one-shot command has no earlier reading)."""
        snapshot = await self._engine.refresh()
        ready = any(r.healthy for d in snapshot.deployments for r in d.replicas)
        if seconds <= 0 or not ready:
            return snapshot
        await self._engine.scrape_metrics()
        await asyncio.sleep(seconds)
        await self._engine.scrape_metrics()
        return self._engine.snapshot()

    def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]:
        return self._engine.snapshots(interval_s)

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._engine.subscribe(listener)

    async def event_history(
        self, deployment: str | None = None, *, last: int = 0
    ) -> tuple[Event, ...]:
        """The journal's events, oldest first, from every fleetdeck process that wrote
        it: all of them, or only `deployment`'s own and its replicas'; with `last`, the
        newest `last` of those. A deployment no longer in the inventory keeps its
        history; a missing journal has none. Read in a thread, off the event loop."""
        events = await asyncio.to_thread(lambda: list(self._engine.history(deployment)))
        return tuple(events[-last:] if last > 0 else events)

    @property
    def journal_path(self) -> Path:
        return self._engine.journal_path

    def recent_events(self) -> tuple[Event, ...]:
        return self._engine.recent_events()

    def plan(self) -> Plan:
        return self._engine.plan()

    def plan_for(self, inventory: Inventory) -> Plan:
        """The plan a changed inventory would make now (the form's preview); nothing is
        taken or written."""
        return self._engine.plan_for(inventory)

    @property
    def inventory_path(self) -> Path:
        return self.inventory.source

    def inventory_text(self) -> str:
        """The inventory file as it is on disk now (the form edits this text)."""
        return self.inventory.source.read_text(encoding="utf-8")

    @property
    def unreachable_hosts(self) -> list[str]:
        return self._engine.unreachable_hosts

    def host_errors(self) -> dict[str, str]:
        """Why each unreachable host is unreachable, in the user's words."""
        return {
            name: str(self._engine.sessions[name].error or f"{name} is unreachable")
            for name in self._engine.unreachable_hosts
        }

    def key_refusals(self) -> tuple[str, ...]:
        """The hosts refused because known_hosts does not vouch for their key (unknown,
        changed or revoked): those the console offers to trust."""
        return tuple(
            name
            for name, session in self._engine.sessions.items()
            if isinstance(session.error, HostKeyRejected)
        )

    def overrides_in_force(self) -> dict[str, int]:
        return self._engine.desired.in_force()

    def describe_overrides(self) -> list[str]:
        """ "llama8b: 3 replicas (fleetdeck scale), inventory says 2", one per override."""
        return self._engine.desired.describe()

    def _deployment(self, name: str) -> Deployment:
        """The inventory's deployment `name`, or a usage error naming those it has."""
        found = self.inventory.deployment(name)
        if found is None:
            known = ", ".join(d.name for d in self.inventory.deployments) or "none"
            raise UsageError(
                f"{self.inventory.source}: no deployment named {name!r}",
                f"known: {known}",
                "nothing was started or stopped",
            )
        return found
