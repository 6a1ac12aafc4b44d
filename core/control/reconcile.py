"""Reconciling until the fleet matches: `apply`'s loop, and the controller of `fleetdeck run`.

A plan is a pure function of what was observed, so the loop is: observe, plan, apply, and
observe again. Steps that depend on readiness (a rolling update's next replica) simply
appear in a later plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fleetdeck.core.control.autoscaling import Scaler
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.errors import FleetdeckError
from fleetdeck.core.fleet.snapshot import FleetSnapshot, HostState
from fleetdeck.core.inventory import load_inventory
from fleetdeck.core.policy.placement import UNREACHABLE
from fleetdeck.core.policy.plan import Plan
from fleetdeck.hosts.errors import HostError

# Renewed every tick; longer than one apply can take (a drain, a stop's grace, a kill).
LEASE_TTL_S = 120.0


@dataclass(frozen=True)
class Converged:
    ok: bool
    reason: str  # why it stopped: "converged", "ready", a failure, or "timed out"
    plans: tuple[Plan, ...]
    snapshot: FleetSnapshot


async def converge(
    engine: Engine,
    *,
    timeout_s: float,
    wait_ready: bool,
    on_plan: Callable[[Plan], None] | None = None,
    on_snapshot: Callable[[FleetSnapshot], None] | None = None,
    poll_s: float = 1.0,
    keep_leases: Callable[[], Awaitable[list[str]]] | None = None,
) -> Converged:
    """Apply plans until none is left (and, with wait_ready, every replica is ready).

    `keep_leases` renews this command's host leases before every step and returns the
    hosts another controller holds; when there are any, it stops without acting.
    """
    deadline = time.monotonic() + timeout_s
    plans: list[Plan] = []
    while True:
        snapshot = await engine.refresh()
        if keep_leases is not None:
            others = await keep_leases()
            if others:
                reason = "another controller took over: " + ", ".join(others)
                return Converged(False, reason, tuple(plans), snapshot)
        if on_snapshot is not None:
            on_snapshot(snapshot)
        plan = engine.plan()
        if plan.actions:
            plans.append(plan)
            if on_plan is not None:
                on_plan(plan)
            outcome = await engine.apply(plan)
            if outcome.failed:
                _, error = outcome.failed[0]
                return Converged(False, error, tuple(plans), await engine.refresh())
        elif plan.unschedulable:
            plans.append(plan)
            reason = "; ".join(f"{u.deployment}: {u.reason}" for u in plan.unschedulable)
            # Blocked only by unreachable hosts: the rest is done, a partial result (exit 3).
            partial = all(u.reason.startswith(UNREACHABLE) for u in plan.unschedulable)
            return Converged(partial, reason, tuple(plans), snapshot)
        else:
            # A crashed replica is restarted by its supervisor and may come up; the plan
            # gives up on it (and the loop ends above) after max_start_failures.
            ready = all(d.ready >= d.desired for d in snapshot.deployments)
            if not wait_ready or ready:
                return Converged(True, "ready" if ready else "converged", tuple(plans), snapshot)
        if time.monotonic() >= deadline:
            return Converged(False, "timed out", tuple(plans), await engine.refresh())
        await asyncio.sleep(poll_s)


def controller_identity() -> str:
    """user@machine:pid: who holds a lease, and (on this machine) whether it still lives."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}/{machine_id()}:{os.getpid()}"


def machine_id() -> str:
    """Tells two machines apart even when they share a hostname (containers, clones)."""
    for path in ("/etc/machine-id", "/proc/sys/kernel/random/boot_id"):
        try:
            text = Path(path).read_text().strip().replace("-", "")
        except OSError:
            continue
        if text:
            return text[:12]
    return "unknown"


def holder_is_dead(holder: str) -> bool:
    """A holder on this machine whose process is gone (a console killed with -9)."""
    who, _, pid_text = holder.rpartition(":")
    if who.partition("@")[2] != f"{socket.gethostname()}/{machine_id()}":
        return False  # another machine's process: only its lease expiry can tell
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


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
        self.engine.replace_inventory(inventory)
        self.engine.emit("inventory.reloaded", str(source), "applying the changed inventory")

    async def take_leases(self, ttl_s: float = LEASE_TTL_S) -> list[str]:
        """Take or renew every reachable host's lease; the holders that refused us."""
        others: list[str] = []

        async def take(name: str) -> None:
            session = self.engine.sessions[name]
            try:
                reply = await session.program.take_lease(self.holder, ttl_s)
                holder = reply.lease.holder if reply.lease else None
                if not reply.acquired and holder and holder_is_dead(holder):
                    reply = await session.program.take_lease(
                        self.holder, ttl_s, stale_holder=holder
                    )
            except (HostError, asyncio.TimeoutError):
                return  # unreachable or hung: its replicas are left alone anyway
            if not reply.acquired:
                others.append(f"{name} (held by {reply.lease.holder if reply.lease else None})")

        await asyncio.gather(*(take(n) for n, s in self.engine.sessions.items() if s.observation))
        return others

    async def release_leases(self) -> None:
        for session in self.engine.sessions.values():
            try:
                await session.program.take_lease(self.holder, 0)
            except (HostError, asyncio.TimeoutError):
                continue

    async def tick(self) -> None:
        self.reload_inventory_if_changed()
        self.engine.reload_overrides()
        others = await self.take_leases()
        if others:
            if self.in_charge or not self._waiting_reported:
                self.engine.emit(
                    "controller.waiting",
                    self.holder,
                    "another controller is in charge: " + ", ".join(others),
                    "warning",
                )
            self._waiting_reported = True
            self.in_charge = False
            self.engine.controller_in_charge = False
            return
        if not self.in_charge:
            self.engine.emit("controller.in-charge", self.holder, "holding every host's lease")
        self.in_charge = True
        self.engine.controller_in_charge = True
        self._waiting_reported = False
        if any(s.state == HostState.CONNECTING for s in self.engine.sessions.values()):
            return  # not every host has reported yet
        async with self.engine.reconcile_lock:
            if not self.engine.observed_since_last_apply():
                return  # an observation older than our last apply could double-launch
            self.autoscale()
            plan = self.engine.plan()
            if plan.actions:
                await self.engine.apply(plan)

    _waiting_reported = False

    def autoscale(self) -> None:
        engine = self.engine
        steps = self.scaler.tick(
            engine.inventory, engine.snapshot(), engine.effective_desired(), time.time()
        )
        for step in steps:
            decision = step.decision
            if decision.changed:
                if decision.reason == "idle-timeout" and decision.desired == 0:
                    # Kept like a stop: a restarted controller must not bring it back.
                    engine.set_desired(step.deployment, 0)
                else:
                    engine.autoscaled[step.deployment] = decision.desired
            if step.report:
                event = decision.to_event(step.deployment)
                engine.emit(event.kind, event.subject, event.message)

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


async def lease_for_one_shot(engine: Engine, ttl_s: float = LEASE_TTL_S) -> list[str]:
    """A one-shot command (apply, scale, down...) holds the leases while it acts.

    Returns the hosts held by another controller (then nothing was taken and the caller
    must not act); an empty list means this process now holds every reachable host.
    """
    controller = Controller(engine)
    others = await controller.take_leases(ttl_s)
    if others:
        await controller.release_leases()
    return others


async def release_one_shot(engine: Engine) -> None:
    await Controller(engine).release_leases()
