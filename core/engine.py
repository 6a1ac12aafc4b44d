"""The engine: the only writer of fleet state. It observes hosts, plans, applies, and
publishes immutable FleetSnapshots and Events that the CLI and the TUI both read."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

from hosts.errors import HostError
from hosts.observations import HostObservation

from .actions import STOP_GRACE_S, ActionRunner, ApplyOutcome
from .activity import ActivityTracker
from .endpoints import EndpointManager
from .events import Event
from .failure_reason import classify_failure
from .fleet_view import HostView, build_snapshot
from .host_session import HostSession
from .inventory import Deployment, Host, Inventory
from .journal import EventJournal
from .launch_spec import replica_env, resolve_secrets, spec_hash, vllm_argv
from .overrides import Overrides
from .plan import Plan, Stop, make_plan
from .snapshot import FleetSnapshot, ReplicaStatus
from .telemetry import Telemetry
from .user_state import user_state_dir

__all__ = ["ApplyOutcome", "Engine"]


class Engine:
    def __init__(
        self,
        inventory: Inventory,
        *,
        sessions: Mapping[str, HostSession] | None = None,
        clock: Callable[[], float] = time.time,
        state_dir: Path | None = None,
    ) -> None:
        self.inventory = inventory
        self.sessions = (
            dict(sessions) if sessions else {h.name: HostSession(h) for h in inventory.hosts}
        )
        self._clock = clock
        self._activity = ActivityTracker()
        self._secrets: dict[str, dict[str, str]] | None = None
        self._listeners: list[Callable[[Event], None]] = []
        self._exits_seen: dict[str, int] = {}
        self._observed_at: dict[str, float] = {}  # host -> monotonic time of last observation
        self._applied_at = 0.0
        self._watchers = 0
        self._watch_tasks: dict[str, asyncio.Task[None]] = {}
        self._watch_interval = 1.0
        self._telemetry_task: asyncio.Task[None] | None = None
        self.events: list[Event] = []
        self._closing: set[asyncio.Task[None]] = set()
        # One plan-and-apply at a time: the console's actions and the controller's tick
        # would otherwise plan from the same observation and both act on it.
        self.reconcile_lock = asyncio.Lock()
        # Set by a Controller running alongside (the console's): False while another
        # controller holds the leases, so the console's actions only record intent.
        self.controller_in_charge: bool | None = None
        directory = state_dir or user_state_dir(inventory)
        self.journal = EventJournal(directory)
        self.overrides = Overrides(directory, inventory)
        self.desired: dict[str, int] = self.overrides.desired()  # the user's: scale, stop
        self.autoscaled: dict[str, int] = {}  # the autoscaler's, in memory
        self.actions = ActionRunner(
            inventory, self.sessions, self.secrets, self.spec_hash_for, self.emit, self._drain
        )
        self.telemetry = Telemetry()
        self.endpoints = EndpointManager(self.emit)

    # -- events ------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def emit(self, kind: str, subject: str, message: str, level: str = "info") -> None:
        event = Event(time=self._clock(), kind=kind, subject=subject, message=message, level=level)
        self.events.append(event)
        del self.events[:-1000]
        with contextlib.suppress(OSError):
            self.journal.append(event)
        for listener in self._listeners:
            listener(event)

    # -- observing ---------------------------------------------------------------
    async def refresh(self) -> FleetSnapshot:
        """Observe every host concurrently (one exec each) and return a snapshot."""
        await asyncio.gather(*(self._observe(s) for s in self.sessions.values()))
        return self.snapshot()

    async def _observe(self, session: HostSession) -> None:
        was_unreachable = session.error is not None
        observation = await session.observe()
        if observation is None:
            if not was_unreachable:
                self.emit("host.unreachable", session.name, str(session.error), "warning")
            return
        self._track(session.name, observation)

    def _track(self, host: str, observation: HostObservation) -> None:
        now = self._clock()
        self._observed_at[host] = time.monotonic()
        for replica in observation.replicas:
            self.actions.pending.pop(replica.replica_id, None)
            self._activity.update(replica.replica_id, replica.requests_total, now)
            seen = self._exits_seen.get(replica.replica_id)
            self._exits_seen[replica.replica_id] = len(replica.exits)
            if seen is not None and len(replica.exits) > seen and not replica.stop_requested:
                code = replica.exits[-1].code
                why = classify_failure(code, replica.log_tail)
                self.emit(
                    "replica.exited",
                    replica.replica_id,
                    f"exited with code {code} on {host} ({why}); the supervisor restarts it "
                    f"after its backoff (restart {len(replica.exits)})",
                    "warning",
                )

    def observed_since_last_apply(self) -> bool:
        """Every reachable host has reported since the last apply finished: safe to plan."""
        return all(
            self._observed_at.get(name, 0.0) > self._applied_at
            for name, session in self.sessions.items()
            if session.observation is not None
        )

    def snapshot(self) -> FleetSnapshot:
        views = {
            name: HostView(s.state, s.observation, s.error) for name, s in self.sessions.items()
        }
        return build_snapshot(
            self.inventory,
            views,
            last_active=self._activity.last_active(),
            pending=tuple(self.actions.pending.values()),
            desired=self.effective_desired(),
            now=self._clock(),
            api_keys=self._api_keys(),
            replica_metrics=self.telemetry.replica_summaries,
            deployment_metrics=self.telemetry.deployment_summaries,
            endpoints={
                d.name: url
                for d in self.inventory.deployments
                if (url := self.endpoints.url(d.name))
            },
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

    def spec_hash_for(self, deployment: Deployment, host: Host) -> str:
        """What a replica of `deployment` on `host` should carry; `restart` changes it."""
        env = replica_env(host, deployment, (), self.secrets()[deployment.name])
        token = self.overrides.restart_token(deployment.name)
        return spec_hash(vllm_argv(host, deployment), env, token)

    def expected_hashes(self) -> dict[tuple[str, str], str]:
        return {
            (deployment.name, host.name): self.spec_hash_for(deployment, host)
            for deployment in self.inventory.deployments
            for host in self.inventory.hosts
        }

    def effective_desired(self) -> dict[str, int]:
        """A user's stop (0) wins; then the autoscaler's count; then the user's scale."""
        counts = {**self.desired, **self.autoscaled}
        counts.update({name: 0 for name, n in self.desired.items() if n == 0})
        return counts

    def plan(self) -> Plan:
        observed = {name: s.observation for name, s in self.sessions.items()}
        return make_plan(
            self.inventory,
            observed,
            self.expected_hashes(),
            self.effective_desired(),
            self._clock(),
        )

    async def apply(self, plan: Plan) -> ApplyOutcome:
        try:
            outcome = await self.actions.apply(plan)
        finally:
            self._applied_at = time.monotonic()
        for item in plan.unschedulable:
            self.emit("placement.blocked", item.deployment, item.reason, "error")
        return outcome

    def replace_inventory(self, inventory: Inventory) -> None:
        """Take a changed inventory: new hosts get sessions, removed ones are closed later."""
        self.inventory = inventory
        for host in inventory.hosts:
            if host.name not in self.sessions or self.sessions[host.name].host != host:
                self.sessions[host.name] = HostSession(host)
        for name in [n for n in self.sessions if inventory.host(n) is None]:
            session = self.sessions.pop(name)
            task = asyncio.get_running_loop().create_task(session.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        self._secrets = None
        self.overrides = Overrides(self.overrides.path.parent, inventory)
        self.desired = self.overrides.desired()
        self.actions = ActionRunner(
            inventory, self.sessions, self.secrets, self.spec_hash_for, self.emit, self._drain
        )
        if self._watchers:
            self._sync_watch_tasks()

    def reload_overrides(self) -> None:
        """Pick up scale/stop/start written by another fleetdeck process."""
        self.desired = self.overrides.desired()

    def set_desired(self, deployment: str, replicas: int | None, *, persist: bool = True) -> None:
        """Change a deployment's replica count (None: back to the inventory's)."""
        self.autoscaled.pop(deployment, None)  # the user's number applies from here
        if replicas is None:
            self.desired.pop(deployment, None)
        else:
            self.desired[deployment] = replicas
        if persist:
            self.overrides.set(deployment, replicas)

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

    # -- actions the console asks for (ConsoleBackend) ---------------------------------
    async def step(self) -> ApplyOutcome:
        """One reconcile step now: observe, plan, apply. Later steps come from the controller."""
        if self.controller_in_charge is False:
            self.emit(
                "controller.handed-over",
                self.inventory.fleet.name,
                "another controller holds the leases: it applies this change if it runs as "
                "this user on this machine; otherwise make the change where it runs",
                "warning",
            )
            return ApplyOutcome((), ())
        async with self.reconcile_lock:
            await self.refresh()
            return await self.apply(self.plan())

    async def scale(self, deployment: str, replicas: int) -> None:
        self.set_desired(deployment, replicas)
        self.emit("deployment.scaled", deployment, f"scaled to {replicas} by the user")
        await self.step()

    async def stop_deployment(self, deployment: str) -> None:
        await self.scale(deployment, 0)

    def start_intent(self, deployment: str) -> None:
        """Back to the inventory's count; an autoscaled deployment whose floor is 0 wakes
        to one replica (the autoscaler takes it from there)."""
        found = self.inventory.deployment(deployment)
        wake_one = found is not None and found.autoscale is not None and found.autoscale.min == 0
        self.set_desired(deployment, 1 if wake_one else None)

    async def start_deployment(self, deployment: str) -> None:
        self.start_intent(deployment)
        self.emit("deployment.started", deployment, "started by the user")
        await self.step()

    async def restart_deployment(self, deployment: str) -> None:
        self.overrides.bump_restart(deployment, str(time.time()))
        self.emit("deployment.restart", deployment, "restart requested: every replica is replaced")
        await self.step()

    async def follow_logs(self, replica_id: str, tail: int = 200) -> AsyncIterator[str]:
        deployment, _, replica = replica_id.partition("/")
        for session in self.sessions.values():
            observation = session.observation
            if observation and any(r.replica_id == replica_id for r in observation.replicas):
                async for line in session.program.logs(deployment, replica, tail=tail, follow=True):
                    yield line.text
                return
        raise HostError(f"no replica {replica_id} is known", "its host may be unreachable")

    # -- live ----------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def watching(self, interval_s: float) -> AsyncIterator[None]:
        """One watch channel per host while any reader needs it (the TUI, a controller)."""
        self._watchers += 1
        if self._watchers == 1:
            self._watch_interval = interval_s
            self._sync_watch_tasks()
            self._telemetry_task = asyncio.create_task(self._scrape_metrics(max(interval_s, 2.0)))
        try:
            yield
        finally:
            self._watchers -= 1
            if self._watchers == 0:
                tasks, self._watch_tasks = list(self._watch_tasks.values()), {}
                if self._telemetry_task is not None:
                    tasks.append(self._telemetry_task)
                    self._telemetry_task = None
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    def _sync_watch_tasks(self) -> None:
        """One watch task per current session (after an inventory change too)."""
        for name, task in list(self._watch_tasks.items()):
            if name not in self.sessions or task.get_name() != f"watch:{id(self.sessions[name])}":
                task.cancel()
                del self._watch_tasks[name]
        for name, session in self.sessions.items():
            if name not in self._watch_tasks:
                self._watch_tasks[name] = asyncio.create_task(
                    self._watch_host(session, self._watch_interval), name=f"watch:{id(session)}"
                )

    async def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]:
        """A snapshot per tick, from observations streamed over one channel per host."""
        async with self.watching(interval_s):
            while True:
                yield self.snapshot()
                await asyncio.sleep(interval_s)

    async def _watch_host(self, session: HostSession, interval_s: float) -> None:
        backoff = 1.0
        while True:
            try:
                async for observation in session.watch(interval_s):
                    self._track(session.name, observation)
                    backoff = 1.0
                raise HostError(f"lost the watch channel to {session.name}", "it ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure must not end the watch
                if not isinstance(exc, HostError):
                    exc = HostError(
                        f"the watch of {session.name} failed",
                        f"{type(exc).__name__}: {exc}",
                        "fleetdeck retries; report this if it repeats",
                    )
                if session.error is None:
                    self.emit("host.unreachable", session.name, str(exc), "warning")
                session.mark_unreachable(exc)
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, 15.0)

    async def _scrape_metrics(self, interval_s: float) -> None:
        """Endpoints follow the ready replicas each second; /metrics every `interval_s`."""
        next_scrape = 0.0
        try:
            while True:
                transports = {name: s.transport for name, s in self.sessions.items()}
                await self.endpoints.sync(self.inventory, self.snapshot(), transports)
                if time.monotonic() >= next_scrape:
                    next_scrape = time.monotonic() + interval_s
                    await self.telemetry.round(self.snapshot(), transports)
                await asyncio.sleep(1.0)
        finally:
            await self.endpoints.close()

    async def _drain(self, replica_id: str) -> None:
        """Before a stop: its endpoint sends it nothing new and waits for what it serves."""
        await self.endpoints.drain(replica_id, STOP_GRACE_S)

    async def close(self) -> None:
        await self.telemetry.close()
        await asyncio.gather(*(s.close() for s in self.sessions.values()), return_exceptions=True)
