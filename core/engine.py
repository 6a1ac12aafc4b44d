"""The engine: the only writer of fleet state. It observes hosts, plans, applies, and
publishes immutable FleetSnapshots and Events that the CLI and the TUI both read."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from hosts.errors import HostError
from hosts.host_program import LaunchRequest
from hosts.observations import HostObservation

from .activity import ActivityTracker
from .errors import FleetdeckError
from .events import Event
from .fleet_view import HostView, build_snapshot
from .host_session import HostSession
from .inventory import Inventory
from .launch_spec import replica_env, resolve_secrets, spec_hash, vllm_argv
from .plan import Plan, Start, Stop, make_plan
from .snapshot import FleetSnapshot, ReplicaStatus

# Launches and stops in flight across the fleet at once.
APPLY_PARALLELISM = 8
STOP_GRACE_S = 15.0


@dataclass(frozen=True)
class ApplyOutcome:
    done: tuple[Start | Stop, ...]
    failed: tuple[tuple[Start | Stop, str], ...]


class Engine:
    def __init__(
        self,
        inventory: Inventory,
        *,
        sessions: Mapping[str, HostSession] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inventory = inventory
        self.sessions = (
            dict(sessions) if sessions else {h.name: HostSession(h) for h in inventory.hosts}
        )
        self._clock = clock
        self._activity = ActivityTracker()
        self._pending: dict[str, Start] = {}
        self._desired: dict[str, int] = {}
        self._secrets: dict[str, dict[str, str]] | None = None
        self._listeners: list[Callable[[Event], None]] = []
        self.events: list[Event] = []

    # -- events ------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, kind: str, subject: str, message: str, level: str = "info") -> None:
        event = Event(time=self._clock(), kind=kind, subject=subject, message=message, level=level)
        self.events.append(event)
        del self.events[:-1000]
        for listener in self._listeners:
            listener(event)

    # -- observing ---------------------------------------------------------------
    async def refresh(self) -> FleetSnapshot:
        """Observe every host concurrently (one exec each) and return a snapshot."""
        await asyncio.gather(*(self._observe(s) for s in self.sessions.values()))
        return self.snapshot()

    async def _observe(self, session: HostSession) -> None:
        was_up = session.error is None and session.observation is not None
        observation = await session.observe()
        if observation is None:
            if was_up or session.error is not None:
                self._emit("host.unreachable", session.name, str(session.error), "warning")
            return
        self._track(observation)

    def _track(self, observation: HostObservation) -> None:
        now = self._clock()
        for replica in observation.replicas:
            self._activity.update(replica.replica_id, replica.requests_total, now)

    def snapshot(self) -> FleetSnapshot:
        views = {
            name: HostView(s.state, s.observation, s.error) for name, s in self.sessions.items()
        }
        return build_snapshot(
            self.inventory,
            views,
            last_active=self._activity.last_active(),
            pending=tuple(self._pending.values()),
            desired=self._desired,
            now=self._clock(),
            api_keys=self._api_keys(),
        )

    def _api_keys(self) -> dict[str, str]:
        if self._secrets is None:
            return {}
        return {d: s["VLLM_API_KEY"] for d, s in self._secrets.items() if "VLLM_API_KEY" in s}

    @property
    def unreachable_hosts(self) -> list[str]:
        return [name for name, s in self.sessions.items() if s.observation is None]

    # -- planning and applying ---------------------------------------------------
    def secrets(self) -> dict[str, dict[str, str]]:
        """Resolve every secret reference once; raises SecretError naming the key."""
        if self._secrets is None:
            self._secrets = {d.name: resolve_secrets(d) for d in self.inventory.deployments}
        return self._secrets

    def expected_hashes(self) -> dict[tuple[str, str], str]:
        hashes = {}
        secrets = self.secrets()
        for deployment in self.inventory.deployments:
            for host in self.inventory.hosts:
                env = replica_env(host, deployment, (), secrets[deployment.name])
                hashes[(deployment.name, host.name)] = spec_hash(vllm_argv(host, deployment), env)
        return hashes

    def plan(self) -> Plan:
        observed = {name: s.observation for name, s in self.sessions.items()}
        return make_plan(self.inventory, observed, self.expected_hashes(), self._desired)

    async def apply(self, plan: Plan) -> ApplyOutcome:
        limit = asyncio.Semaphore(APPLY_PARALLELISM)
        done: list[Start | Stop] = []
        failed: list[tuple[Start | Stop, str]] = []

        async def run(action: Start | Stop) -> None:
            async with limit:
                try:
                    if isinstance(action, Start):
                        await self._start(action)
                    else:
                        await self._stop(action)
                    done.append(action)
                except (HostError, FleetdeckError, asyncio.TimeoutError) as exc:
                    message = str(exc) or type(exc).__name__
                    failed.append((action, message))
                    subject = f"{action.deployment}/{action.replica}"
                    self._emit("apply.failed", subject, message, "error")

        # Stops first: they free the GPUs and ports that starts may need.
        await asyncio.gather(*(run(a) for a in plan.actions if isinstance(a, Stop)))
        starts = [a for a in plan.actions if isinstance(a, Start)]
        for start in starts:
            self._pending[f"{start.deployment}/{start.replica}"] = start
        try:
            await asyncio.gather(*(run(a) for a in starts))
        finally:
            for start in starts:
                self._pending.pop(f"{start.deployment}/{start.replica}", None)
        for item in plan.unschedulable:
            self._emit("placement.failed", item.deployment, item.reason, "error")
        return ApplyOutcome(tuple(done), tuple(failed))

    async def _start(self, start: Start) -> None:
        host = next(h for h in self.inventory.hosts if h.name == start.host)
        deployment = next(d for d in self.inventory.deployments if d.name == start.deployment)
        secrets = self.secrets()[deployment.name]
        argv = vllm_argv(host, deployment)
        env = replica_env(host, deployment, start.gpu_uuids, secrets)
        request = LaunchRequest(
            deployment=deployment.name,
            replica=start.replica,
            argv=argv,
            env=env,
            port_range=host.port_range,
            bind_host=deployment.vllm.host,
            gpu_uuids=start.gpu_uuids,
            spec_hash=spec_hash(argv, replica_env(host, deployment, (), secrets)),
            meta={"gpu_memory_utilization": deployment.vllm.gpu_memory_utilization or 0.9},
        )
        result = await self.sessions[host.name].program.launch(request)
        verb = "adopted" if result.adopted else "started"
        self._emit(
            f"replica.{verb}",
            f"{start.deployment}/{start.replica}",
            f"{verb} on {host.name} port {result.port} ({start.reason})",
        )

    async def _stop(self, stop: Stop) -> None:
        reply = await self.sessions[stop.host].program.stop(
            stop.deployment, stop.replica, grace_s=STOP_GRACE_S, forget=True
        )
        subject = f"{stop.deployment}/{stop.replica}"
        if reply.get("left_running"):
            raise HostError(
                f"{subject} on {stop.host} did not stop", "its process group survived SIGKILL"
            )
        how = "killed after the grace period" if reply.get("killed") else "stopped"
        self._emit("replica.stopped", subject, f"{how} on {stop.host} ({stop.reason})")

    async def wait_until_ready(
        self, timeout_s: float, on_snapshot: Callable[[FleetSnapshot], None] | None = None
    ) -> tuple[bool, FleetSnapshot]:
        """Poll until every deployment is ready; stop early when a replica has failed."""
        deadline = time.monotonic() + timeout_s
        while True:
            snapshot = await self.refresh()
            if on_snapshot is not None:
                on_snapshot(snapshot)
            ready = all(d.ready >= d.desired for d in snapshot.deployments)
            failed = any(
                r.status == ReplicaStatus.FAILED for d in snapshot.deployments for r in d.replicas
            )
            if ready or failed or time.monotonic() >= deadline:
                return ready and not failed, snapshot
            await asyncio.sleep(1.0)

    async def down(self, deployment: str | None = None) -> ApplyOutcome:
        """Stop and forget managed replicas (all of them, or one deployment's)."""
        await self.refresh()
        stops = tuple(
            Stop(r.deployment, r.replica, name, "down")
            for name, session in self.sessions.items()
            for r in (session.observation.replicas if session.observation else ())
            if deployment is None or r.deployment == deployment
        )
        return await self.apply(Plan(stops, (), (), tuple(self.unreachable_hosts)))

    # -- live ----------------------------------------------------------------------
    async def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]:
        """One watch channel per host, reconnecting with jittered backoff; a snapshot per tick."""
        tasks = [
            asyncio.create_task(self._watch_host(s, interval_s)) for s in self.sessions.values()
        ]
        try:
            while True:
                yield self.snapshot()
                await asyncio.sleep(interval_s)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _watch_host(self, session: HostSession, interval_s: float) -> None:
        backoff = 1.0
        while True:
            try:
                async for observation in session.watch(interval_s):
                    self._track(observation)
                    backoff = 1.0
                raise HostError(f"lost the watch channel to {session.name}", "it ended")
            except HostError as exc:
                if session.error is None:
                    self._emit("host.unreachable", session.name, str(exc), "warning")
                session.mark_unreachable(exc)
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, 15.0)

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sessions.values()), return_exceptions=True)
