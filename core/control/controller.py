"""The controller: the engine's loops with no screen (`fleetdeck run`, and the console's).

Every tick it re-reads the inventory and the overrides, renews the host leases, runs the
autoscaler and applies the plan, only while it holds the lease on every reachable host.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from pathlib import Path

from fleetdeck.core.control.autoscaling import Scaler
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.engine.leases import (
    LEASE_TTL_S,
    LeaseRefusal,
    controller_identity,
    release_leases,
    take_leases,
)
from fleetdeck.core.errors import FleetdeckError
from fleetdeck.core.fleet.snapshot import HostState
from fleetdeck.core.inventory import load_inventory
from fleetdeck.core.policy.idle_policy import idle_savings
from fleetdeck.hosts.errors import HostError


class Controller:
    """The engine's loops with no screen: reconcile (and later autoscaling) every tick,
    only while this process holds the lease on every reachable host."""

    def __init__(
        self, engine: Engine, *, interval_s: float = 5.0, holder: str | None = None
    ) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self.holder = holder or controller_identity()
        self.in_charge = False
        self._inventory_mtime = _mtime(engine.inventory.source)
        self.scaler = Scaler()

    def reload_inventory_if_changed(self) -> None:
        """The file is the source of truth: a valid edit is taken, a broken one reported."""
        mtime = _mtime(self.engine.inventory.source)
        if mtime == self._inventory_mtime:
            return
        self._inventory_mtime = mtime
        source = self.engine.inventory.source
        try:
            inventory = load_inventory(source)
        except FleetdeckError as exc:
            self.engine.emit(
                "inventory.invalid", str(source), f"{exc}; keeping the last good one", "error"
            )
            return
        if inventory == self.engine.inventory:
            return  # taken already (the console's form saved it)
        self.engine.replace_inventory(inventory)
        self.engine.emit("inventory.reloaded", str(source), "applying the changed inventory")

    async def take_leases(self, ttl_s: float = LEASE_TTL_S) -> list[LeaseRefusal]:
        return await take_leases(self.engine, self.holder, ttl_s)

    async def release_leases(self) -> None:
        await release_leases(self.engine, self.holder)

    async def tick(self) -> None:
        self.reload_inventory_if_changed()
        self.engine.desired.reload()
        others = await self.take_leases()
        if others:
            if self.in_charge or not self._waiting_reported:
                self.engine.emit(
                    "controller.waiting",
                    self.holder,
                    "another controller is in charge: " + ", ".join(map(str, others)),
                    "warning",
                )
            self._waiting_reported = True
            self.in_charge = False
            self.engine.set_controller_in_charge(False)
            return
        if not self.in_charge:
            self.engine.emit("controller.in-charge", self.holder, "holding every host's lease")
        self.in_charge = True
        self.engine.set_controller_in_charge(True)
        self._waiting_reported = False
        if any(s.state == HostState.CONNECTING for s in self.engine.sessions.values()):
            return  # not every host has reported yet
        async with self.engine.reconciling():
            if not self.engine.observed_since_last_apply():
                return  # an observation older than our last apply could double-launch
            self.autoscale()
            await self.engine.share()  # an idle timeout's stop, edits left unsent
            plan = self.engine.plan()
            self.engine.report_holds(plan)
            if plan.actions:
                await self.engine.apply(plan)

    _waiting_reported = False

    def autoscale(self) -> None:
        engine = self.engine
        snapshot = engine.snapshot()
        steps = self.scaler.tick(
            engine.inventory, snapshot, engine.effective_desired(), time.time()
        )
        for step in steps:
            decision = step.decision
            if decision.changed:
                if decision.reason == "idle-timeout" and decision.desired == 0:
                    # Kept like a stop: a restarted controller must not bring it back.
                    engine.desired.set(step.deployment, 0, by="idle timeout")
                else:
                    engine.desired.set_autoscaled(step.deployment, decision.desired)
            if step.report:
                event = decision.to_event(step.deployment)
                message = event.message
                if decision.reason == "idle-timeout" and decision.changed:
                    # Say what stopping them saves: GPU-hours per hour and money per hour.
                    seen = snapshot.deployment(step.deployment)
                    stopping = decision.previous - decision.desired
                    message += "; " + idle_savings(seen.cost if seen else None, stopping)
                engine.emit(event.kind, event.subject, message)

    async def run(self, stop: asyncio.Event) -> None:
        async with self.engine.watching(min(self.interval_s, 2.0)):
            try:
                while not stop.is_set():
                    try:
                        await self.tick()
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - one bad tick must not end the loop
                        self.engine.emit(
                            "controller.error",
                            self.holder,
                            f"{type(exc).__name__}: {exc}; retrying next tick",
                            "error",
                        )
                    try:
                        await asyncio.wait_for(stop.wait(), self.interval_s)
                    except asyncio.TimeoutError:
                        continue
            finally:
                self.engine.set_controller_in_charge(None)
                await self.release_leases()


async def run_with_controller(engine: Engine, main: Awaitable[object]) -> None:
    """Run `main` (the TUI) with a Controller alongside it; stop the controller after."""
    stop = asyncio.Event()
    controller = asyncio.create_task(Controller(engine).run(stop))
    try:
        await main
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, HostError):
            await asyncio.wait_for(controller, 15)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
