"""The console's view of the engine (`ConsoleBackend`): snapshots, events, logs, and the
actions a person takes from the TUI, each applied as one reconcile step."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

from fleetdeck.core.engine.action_runner import ApplyOutcome
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.hosts.errors import HostError


class EngineConsole:
    """Implements core.console_api.ConsoleBackend over an Engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]:
        return self.engine.snapshots(interval_s)

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self.engine.subscribe(listener)

    async def step(self) -> ApplyOutcome:
        """One reconcile step now: observe, plan, apply. Later steps come from the controller."""
        engine = self.engine
        if engine.controller_in_charge is False:
            engine.emit(
                "controller.handed-over",
                engine.inventory.fleet.name,
                "another controller holds the leases: it applies this change if it runs as "
                "this user on this machine; otherwise make the change where it runs",
                "warning",
            )
            return ApplyOutcome((), ())
        async with engine.reconcile_lock:
            await engine.refresh()
            return await engine.apply(engine.plan())

    async def scale(self, deployment: str, replicas: int) -> None:
        self.engine.set_desired(deployment, replicas, by="the console")
        self.engine.emit("deployment.scaled", deployment, f"scaled to {replicas} by the user")
        await self.step()

    async def stop_deployment(self, deployment: str) -> None:
        await self.scale(deployment, 0)

    async def start_deployment(self, deployment: str) -> None:
        self.engine.start_intent(deployment, by="the console")
        self.engine.emit("deployment.started", deployment, "started by the user")
        await self.step()

    async def restart_deployment(self, deployment: str) -> None:
        self.engine.overrides.bump_restart(deployment, str(time.time()))
        self.engine.emit(
            "deployment.restart", deployment, "restart requested: every replica is replaced"
        )
        await self.step()

    async def follow_logs(self, replica_id: str, tail: int = 200) -> AsyncIterator[str]:
        deployment, _, replica = replica_id.partition("/")
        for session in self.engine.sessions.values():
            observation = session.observation
            if observation and any(r.replica_id == replica_id for r in observation.replicas):
                async for line in session.program.logs(deployment, replica, tail=tail, follow=True):
                    yield line.text
                return
        raise HostError(f"no replica {replica_id} is known", "its host may be unreachable")
