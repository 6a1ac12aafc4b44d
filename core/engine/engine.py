"""The engine: the only writer of fleet state. It observes hosts, plans, applies, and
publishes immutable FleetSnapshots and Events that the CLI and the TUI both read."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from fleetdeck.core.endpoint.manager import EndpointManager
from fleetdeck.core.engine.action_runner import STOP_GRACE_S, ActionRunner, ApplyOutcome
from fleetdeck.core.engine.activity import ActivityTracker
from fleetdeck.core.engine.desired_counts import DesiredCounts
from fleetdeck.core.engine.disk_alerts import DiskAlerts
from fleetdeck.core.engine.host_session import HostSession
from fleetdeck.core.engine.host_watchers import HostWatchers
from fleetdeck.core.engine.shared_state import SharedState
from fleetdeck.core.engine.spending import cost_readings, gpu_holdings, host_prices
from fleetdeck.core.engine.telemetry import Telemetry
from fleetdeck.core.errors import SecretError
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import FleetSnapshot, HostState
from fleetdeck.core.fleet.snapshot_builder import HostView, build_snapshot
from fleetdeck.core.inventory import Deployment, Host, Inventory
from fleetdeck.core.metrics.cost import CostMeter, Holding
from fleetdeck.core.policy.launch_spec import replica_env, resolve_secrets, spec_hash, vllm_argv
from fleetdeck.core.policy.plan import Plan, Unreachable, make_plan
from fleetdeck.core.state.host_history import HostHistory
from fleetdeck.core.state.journal import EventJournal
from fleetdeck.core.state.serving import ServingRecord
from fleetdeck.core.state.user_state import user_state_dir
from fleetdeck.hosts.errors import HostError
from fleetdeck.hosts.observations import HostObservation

__all__ = ["ApplyOutcome", "Engine"]


SNAPSHOT_GAP_S = 0.05  # snapshots() yields at most this often


class Engine:
    def __init__(
        self,
        inventory: Inventory,
        *,
        sessions: Mapping[str, HostSession] | None = None,
        clock: Callable[[], float] = time.time,
        state_dir: Path | None = None,
    ) -> None:
        self._inventory = inventory
        self._sessions: dict[str, HostSession] = (
            dict(sessions) if sessions else {h.name: HostSession(h) for h in inventory.hosts}
        )
        self._clock = clock
        self._activity = ActivityTracker()
        self._secrets: dict[str, dict[str, str]] | None = None
        self._listeners: list[Callable[[Event], None]] = []
        self._observed_at: dict[str, float] = {}  # host -> monotonic time of last observation
        self._unreachable_since: dict[str, float] = {}  # host -> self._clock() when it dropped
        self._holds_reported: set[tuple[str, str]] = set()  # (replica id, host)
        self._applied_at = 0.0
        self._events: list[Event] = []
        self._closing: set[asyncio.Task[None]] = set()
        # One plan-and-apply at a time: the console's actions and the controller's tick
        # would otherwise plan from the same observation and both act on it.
        self._reconcile_lock = asyncio.Lock()
        # Set by a Controller running in this process (the console's, `fleetdeck run`'s):
        # False while another controller holds the leases, so actions only record intent.
        # None: no controller here (a one-shot command), which takes leases itself.
        self._controller_in_charge: bool | None = None
        directory = state_dir or user_state_dir(inventory)
        self._journal = EventJournal(directory)
        self._host_history = HostHistory(self._journal)  # the supervisors' exits, merged
        self._disk_alerts = DiskAlerts(self._journal, self.emit)  # state dirs full or not
        # Snapshots follow a replica's change at once, and hosts look for one between
        # observations (host_watchers.DETECT_S); False: only every interval (benchmarks).
        self.detect_changes = True
        self._replica_states: dict[str, tuple[object, ...]] = {}  # host -> what changed
        self._change_waiters: set[asyncio.Event] = set()  # one per snapshots() reader
        self._desired = DesiredCounts(directory, inventory)
        # The overrides and the journal of who changed them, on the fleet's home host.
        self._shared = SharedState(
            inventory.fleet.name,
            self._sessions,
            lambda: self._desired,
            self._journal,
            directory,
            lambda kind, message: self.emit(kind, inventory.fleet.name, message, "warning"),
            clock(),
        )
        for session in self._sessions.values():
            self._shared.attach(session)
        self._actions = ActionRunner(
            inventory, self._sessions, self.secrets, self.spec_hash_for, self.emit, self._drain
        )
        self._telemetry = Telemetry()
        self._cost = CostMeter()  # GPU-hours, tokens and cost since this process watched
        self._endpoints = EndpointManager(self.emit, ServingRecord(directory))
        self._watchers = HostWatchers(self)

    # -- read-only views -------------------------------------------------------------
    @property
    def inventory(self) -> Inventory:
        return self._inventory

    @property
    def sessions(self) -> Mapping[str, HostSession]:
        """Every host's session, read-only: the engine alone adds or drops them."""
        return MappingProxyType(self._sessions)

    @property
    def controller_in_charge(self) -> bool | None:
        return self._controller_in_charge

    def set_controller_in_charge(self, in_charge: bool | None) -> None:
        """Told by this process's Controller each tick (None: it has stopped)."""
        self._controller_in_charge = in_charge

    def recent_events(self) -> tuple[Event, ...]:
        """This process's events and the host history it merged, oldest first (the last
        1000)."""
        return tuple(self._events)

    def history(self, deployment: str | None = None) -> Iterator[Event]:
        """Every event in this fleet's journal, oldest first, from any fleetdeck process
        (observe the hosts first: their history is merged into it as it is seen); with
        `deployment`, only its own and its replicas'. Reads the whole file: call it off
        the event loop (FleetIntents.event_history does)."""
        return self._journal.read(deployment)

    @property
    def journal_path(self) -> Path:
        return self._journal.path

    def reconciling(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Held around one plan-and-apply, so two never plan from the same observation."""
        return self._reconcile_lock

    # -- events ------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def emit(self, kind: str, subject: str, message: str, level: str = "info") -> None:
        event = Event(time=self._clock(), kind=kind, subject=subject, message=message, level=level)
        with contextlib.suppress(OSError):
            self._journal.append(event)
        self._publish(event)

    def emit_shared(self, kind: str, subject: str, message: str, level: str = "info") -> None:
        """An event that changes what the fleet should run (a scale, a stop, ...): also
        for the fleet's journal on its home host, written by the next `share()`."""
        event = Event(time=self._clock(), kind=kind, subject=subject, message=message, level=level)
        with contextlib.suppress(OSError):
            self._journal.append(event)
        self._shared.queue(event)
        self._publish(event)

    async def share(self) -> bool:
        """Write the desired-state edits and events of this process that the fleet's
        home host does not have yet (one exec there); False when it cannot be reached
        (they stay on this machine, and the snapshot says so)."""
        return await self._shared.share()

    @property
    def operator(self) -> str:
        """Who acts here (user@machine, or FLEETDECK_OPERATOR)."""
        return self._desired.operator

    def _publish(self, event: Event) -> None:
        """To this process's listeners; kept in time order (host history comes late)."""
        bisect.insort(self._events, event, key=lambda e: e.time)
        del self._events[:-1000]
        for listener in self._listeners:
            listener(event)

    # -- observing ---------------------------------------------------------------
    async def refresh(self) -> FleetSnapshot:
        """Observe every host concurrently and return a snapshot: one round trip on its
        open watch channel where one runs (the console, a controller), else one exec."""
        await asyncio.gather(*(self._observe(s) for s in self._sessions.values()))
        return self.snapshot()

    async def _observe(self, session: HostSession) -> None:
        if await session.observe_over_watch():
            return  # the watcher has tracked it

        was_unreachable = session.error is not None
        observation = await session.observe()
        if observation is None:
            if not was_unreachable:
                self.emit("host.unreachable", session.name, str(session.error), "warning")
            self._unreachable_since.setdefault(session.name, self._clock())
            return
        self.track(session.name, observation)

    def lost(self, session: HostSession, error: HostError) -> None:
        """A host stopped answering: reported once, and timed from the first failure."""
        if session.error is None:
            self.emit("host.unreachable", session.name, str(error), "warning")
        session.mark_unreachable(error)
        self._unreachable_since.setdefault(session.name, self._clock())

    def track(self, host: str, observation: HostObservation) -> None:
        self._observed_at[host] = time.monotonic()
        self._unreachable_since.pop(host, None)
        self._disk_alerts.note(host, observation.disk_full)
        states = tuple(
            (r.replica_id, r.pid, r.alive, r.healthy, len(r.exits), r.stop_requested)
            for r in observation.replicas
        )
        if self._replica_states.get(host) != states:
            self._replica_states[host] = states
            for waiter in self._change_waiters:
                waiter.set()
        for replica in observation.replicas:
            self._actions.pending.pop(replica.replica_id, None)
        for event in self._host_history.merge(host, observation):
            self._publish(event)  # already in the journal
        for event in self._shared.observed(host, observation):
            self._publish(event)  # another process's, from the fleet's journal

    def note_metrics(self) -> None:
        """After a scrape round: a finished-request counter that moved means activity."""
        now = self._clock()
        for replica_id, metrics in self._telemetry.replica_summaries.items():
            self._activity.update(replica_id, metrics.requests_total, now)
        readings = cost_readings(
            self._inventory,
            self._gpu_holdings(),
            self._telemetry.pages(),
            self._telemetry.deployment_summaries,
        )
        self._cost.record(now, readings, host_prices(self._inventory))

    def _inventory_holdings(self) -> dict[str, list[Holding]]:
        """What each deployment holds now; every inventory deployment, holding or not."""
        held: dict[str, list[Holding]] = {d.name: [] for d in self._inventory.deployments}
        return held | self._gpu_holdings()

    def _gpu_holdings(self) -> dict[str, list[Holding]]:
        return gpu_holdings(
            {name: s.observation for name, s in self._sessions.items()},
            {name: s.last_seen for name, s in self._sessions.items()},
        )

    def observed_since_last_apply(self) -> bool:
        """Every reachable host has reported since the last apply finished: safe to plan."""
        return all(
            self._observed_at.get(name, 0.0) > self._applied_at
            for name, session in self._sessions.items()
            if session.observation is not None
        )

    def snapshot(self) -> FleetSnapshot:
        views = {
            name: HostView(s.state, s.observation, s.error, s.last_seen)
            for name, s in self._sessions.items()
        }
        return build_snapshot(
            self._inventory,
            views,
            last_active=self._activity.last_active(),
            pending=tuple(self._actions.pending.values()),
            desired=self.effective_desired(),
            now=self._clock(),
            api_keys=self._api_keys(),
            replica_metrics=self._telemetry.replica_summaries,
            deployment_metrics=self._telemetry.deployment_summaries,
            endpoints=self._endpoints.urls(),
            costs=self._cost.costs(
                self._inventory_holdings(),
                host_prices(self._inventory),
                self._inventory.fleet.currency,
            ),
            routers=self._endpoints.views(),
            fleet_state=self._shared.view(),
        )

    def _api_keys(self) -> dict[str, str]:
        """Each deployment's API key (masked in snapshots); none while a secret is unset."""
        try:
            resolved = self.secrets()
        except SecretError:
            return {}
        return {d: s["VLLM_API_KEY"] for d, s in resolved.items() if "VLLM_API_KEY" in s}

    @property
    def unreachable_hosts(self) -> list[str]:
        return [name for name, s in self._sessions.items() if s.observation is None]

    # -- planning and applying ---------------------------------------------------
    def secrets(self) -> dict[str, dict[str, str]]:
        """Resolve every secret reference once; raises SecretError naming the key."""
        if self._secrets is None:
            self._secrets = {d.name: resolve_secrets(d) for d in self._inventory.deployments}
        return self._secrets

    def spec_hash_for(
        self, deployment: Deployment, host: Host, restart_token: str | None = None
    ) -> str:
        """What a replica of `deployment` on `host` should carry; `restart` changes it."""
        env = replica_env(host, deployment, (), self.secrets()[deployment.name])
        if restart_token is None:
            restart_token = self._desired.restart_tokens().get(deployment.name, "")
        return spec_hash(vllm_argv(host, deployment), env, restart_token)

    def expected_hashes(self) -> dict[tuple[str, str], str]:
        tokens = self._desired.restart_tokens()  # one read of the overrides per plan
        return {
            (deployment.name, host.name): self.spec_hash_for(
                deployment, host, tokens.get(deployment.name, "")
            )
            for deployment in self._inventory.deployments
            for host in self._inventory.hosts
        }

    @property
    def desired(self) -> DesiredCounts:
        """The replica counts wanted: inventory, the user's overrides, the autoscaler's."""
        return self._desired

    def effective_desired(self) -> dict[str, int]:
        return self._desired.effective()

    def unreachable(self) -> dict[str, Unreachable]:
        """Each unreachable host: since when, and the replicas it last ran."""
        down = {}
        for name, s in self._sessions.items():
            if s.observation is None and s.state is HostState.UNREACHABLE:
                since = self._unreachable_since.setdefault(name, self._clock())
                down[name] = Unreachable(since, s.last_seen.replicas if s.last_seen else ())
        return down

    def plan(self) -> Plan:
        return make_plan(
            self._inventory,
            self.observations(),
            self.expected_hashes(),
            self.effective_desired(),
            self._clock(),
            self.unreachable(),
        )

    def plan_for(self, inventory: Inventory) -> Plan:
        """The plan a changed `inventory` would make now, without taking it: what the
        console's form shows before it saves. SecretError when one of its secret
        references cannot be read (it could not be applied either)."""
        secrets = {d.name: resolve_secrets(d) for d in inventory.deployments}
        tokens = self._desired.restart_tokens()
        hashes = {
            (d.name, h.name): spec_hash(
                vllm_argv(h, d), replica_env(h, d, (), secrets[d.name]), tokens.get(d.name, "")
            )
            for d in inventory.deployments
            for h in inventory.hosts
        }
        return make_plan(
            inventory,
            self.observations(),
            hashes,
            self._desired.for_inventory(inventory).effective(),
            self._clock(),
            self.unreachable(),
        )

    def report_holds(self, plan: Plan) -> None:
        """An event for each replacement held back, once while it is held (a controller
        plans every tick)."""
        held = set()
        for hold in plan.holds:
            key = (hold.replica, hold.host)
            held.add(key)
            if key not in self._holds_reported:
                self.emit("replica.unreachable", hold.replica, hold.reason, "warning")
        self._holds_reported = held

    async def apply(self, plan: Plan) -> ApplyOutcome:
        try:
            outcome = await self._actions.apply(plan)
        finally:
            self._applied_at = time.monotonic()
        for item in plan.unschedulable:
            self.emit("placement.blocked", item.deployment, item.reason, "error")
        return outcome

    def retry_host(self, name: str) -> None:
        """Reach `name` again now rather than on its backoff: the next observe tries it,
        and a running watch starts over (known_hosts was just changed for it)."""
        session = self._sessions.get(name)
        if session is not None:
            session.recheck_soon()
            self._watchers.retry_now(name)

    def replace_inventory(self, inventory: Inventory) -> None:
        """Take a changed inventory: new hosts get sessions, removed ones are closed later."""
        self._inventory = inventory
        for host in inventory.hosts:
            if host.name not in self._sessions or self._sessions[host.name].host != host:
                self._sessions[host.name] = HostSession(host)
                self._shared.attach(self._sessions[host.name])
        for name in [n for n in self._sessions if inventory.host(n) is None]:
            session = self._sessions.pop(name)
            task = asyncio.get_running_loop().create_task(session.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        self._secrets = None
        self._desired = self._desired.for_inventory(inventory)
        self._actions = ActionRunner(
            inventory, self._sessions, self.secrets, self.spec_hash_for, self.emit, self._drain
        )
        self._watchers.sync()

    def observations(self) -> dict[str, HostObservation | None]:
        """Each host's latest observation (None while unreachable)."""
        return {name: s.observation for name, s in self._sessions.items()}

    # -- live ----------------------------------------------------------------------
    def watching(self, interval_s: float) -> contextlib.AbstractAsyncContextManager[None]:
        """One watch channel per host while any reader needs it (the TUI, a controller)."""
        return self._watchers.watching(interval_s)

    async def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]:
        """A snapshot per tick, from observations streamed over one channel per host."""
        changed = asyncio.Event()
        async with self.watching(interval_s):
            await self._watchers.first_observations()
            self._change_waiters.add(changed)
            try:
                while True:
                    changed.clear()  # before: a change while the reader draws is kept
                    yield self.snapshot()
                    if not self.detect_changes:
                        await asyncio.sleep(interval_s)
                        continue
                    # At once when a replica started, turned ready or died; at least
                    # SNAPSHOT_GAP_S apart so a busy fleet does not redraw without end.
                    await asyncio.sleep(SNAPSHOT_GAP_S)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), interval_s - SNAPSHOT_GAP_S)
            finally:
                self._change_waiters.discard(changed)

    async def serve_round(self, *, scrape: bool) -> None:
        """The watchers' round: endpoints follow ready replicas; `scrape` reads /metrics."""
        transports = {name: s.transport for name, s in self._sessions.items()}
        routes = self._desired.routes()  # `fleetdeck route`, from this or another process
        await self._endpoints.sync(self._inventory, self.snapshot(), transports, routes)
        if scrape:
            await self.scrape_metrics()

    async def route_now(self) -> bool:
        """Take a changed route at once where this process serves the endpoints (the
        console, `fleetdeck run`); False when none is served here."""
        if not self._endpoints.serving:
            return False
        transports = {name: s.transport for name, s in self._sessions.items()}
        routes = self._desired.routes()
        await self._endpoints.sync(self._inventory, self.snapshot(), transports, routes)
        return True

    async def scrape_metrics(self) -> None:
        """Read every ready replica's /metrics once; rates come from successive rounds."""
        transports = {name: s.transport for name, s in self._sessions.items()}
        await self._telemetry.round(self.snapshot(), transports)
        self.note_metrics()

    async def close_endpoints(self) -> None:
        await self._endpoints.close()

    async def _drain(self, replica_id: str) -> None:
        """Before a stop: its endpoint sends it nothing new and waits for what it serves."""
        await self._endpoints.drain(replica_id, STOP_GRACE_S)

    async def close(self) -> None:
        await self._telemetry.close()
        await asyncio.gather(*(s.close() for s in self._sessions.values()), return_exceptions=True)
