"""The front door to the engine: every verb that the console and the CLI offer.

One implementation per verb (apply, scale, start, stop, restart, forget-failed, down,
follow-logs, trust, test, export), so the console and the CLI cannot drift; the
console's form saves with `apply_inventory`, which writes the file and then `apply`s.
The CLI calls a verb and then, to honour --wait, `settle()`; the console calls the same verb
and lets the controller it runs alongside carry on.

Who acts: a verb records the intent (overrides, restart token, an event), then applies
one reconcile step, but only where this process may act. With a controller in this
process (the console, `fleetdeck run`) that is while it holds the host leases; with no
controller here (a one-shot command), the verb takes the leases itself and keeps them
until `close()`. When another controller holds them, the verb only records the intent,
which that controller reads on its next tick, and says it handed over.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fleetdeck.core.control.controller import Controller, run_with_controller
from fleetdeck.core.control.converge import Converged, converge
from fleetdeck.core.control.handover import watch_controller
from fleetdeck.core.engine.action_runner import ApplyOutcome
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.engine.leases import LeaseRefusal, lease_for_one_shot, release_one_shot
from fleetdeck.core.errors import FleetdeckError, UsageError
from fleetdeck.core.fleet.snapshot import FleetSnapshot, HostState
from fleetdeck.core.intents.fleet_queries import FleetQueries
from fleetdeck.core.intents.host_check import HostCheck, check_hosts
from fleetdeck.core.intents.host_keys import HostKeyReport, inspect_host_key, trust_host_key
from fleetdeck.core.intents.outcome import NOTHING_DONE, IntentOutcome
from fleetdeck.core.intents.replica_logs import follow_replica_log, resolve_replica
from fleetdeck.core.inventory import MAX_REPLICAS, Deployment, parse_inventory
from fleetdeck.core.policy.plan import Plan, clearing_stops, down_stops
from fleetdeck.hosts.log_follower import StreamBroken

if TYPE_CHECKING:
    from fleetdeck.core.intents.chat_probe import ChatProbe


class FleetIntents(FleetQueries):
    """The verbs; what they read (snapshots, events, the journal) is in FleetQueries."""

    def __init__(self, engine: Engine, *, who: str = "fleetdeck") -> None:
        """`who` names the front end in the overrides it writes ("the console")."""
        super().__init__(engine)
        self._who = who
        self._holding_one_shot_leases = False

    # -- verbs that change what should run ------------------------------------------
    async def apply(self) -> IntentOutcome:
        """Bring the fleet to the inventory (and the overrides in force): one step."""
        return await self._act()

    async def scale(self, deployment: str, replicas: int) -> IntentOutcome:
        """Refused (nothing recorded) beyond MAX_REPLICAS or beyond the GPUs of the hosts
        it may run on, where every one of them has told how many it has."""
        found = self._deployment(deployment)
        name = found.name
        if not 0 <= replicas <= MAX_REPLICAS:
            raise UsageError(
                f"cannot scale {name} to {replicas}",
                f"a replica count is 0 to {MAX_REPLICAS}",
                "nothing was recorded",
            )
        room = await self._gpu_room(found)
        if room is not None and replicas > room:
            need = found.gpus_needed
            raise UsageError(
                f"cannot scale {name} to {replicas}",
                f"each replica needs {need} GPU{'s' if need != 1 else ''} and the hosts it may"
                f" run on hold at most {room} of them",
                f"scale to {room} or fewer, or add hosts; nothing was recorded",
            )
        self._engine.desired.set(name, replicas, by=self._by("scale"))
        self._engine.emit_shared(
            "deployment.scaled", name, f"scaled to {replicas} by {self._acting('scale')}"
        )
        return await self._act()

    async def route(self, endpoint: str, deployment: str) -> IntentOutcome:
        """Blue-green: all of an [[endpoints]] entry's traffic to one of its backends, in one
        step; requests already running finish where they started. Kept in the overrides
        until the inventory changes that endpoint's backends, so a controller in another
        process takes it on its next round, and one started later too."""
        found = self.inventory.endpoint(endpoint)
        if found is None:
            known = ", ".join(e.name for e in self.inventory.endpoints) or "none"
            raise UsageError(
                f"{self.inventory.source}: no [[endpoints]] entry named {endpoint!r}",
                f"known: {known} (a deployment's own endpoint has one backend: nothing to switch)",
                "nothing was changed",
            )
        backends = [b.deployment for b in found.backends]
        if deployment not in backends:
            raise UsageError(
                f"cannot route {endpoint} to {deployment}",
                f"its backends are {', '.join(backends)}",
                "add it to the endpoint's backends in the inventory first; nothing was changed",
            )
        self._engine.desired.set_route(endpoint, deployment, by=self._by("route"))
        self._engine.emit_shared(
            "endpoint.route-set",
            endpoint,
            f"all traffic to {deployment}, by {self._acting('route')}",
        )
        # To the fleet's home host, where every operator's controller reads it.
        await self._engine.share()
        await self._engine.route_now()  # where this process serves it; else its controller's
        return IntentOutcome()

    async def stop(self, deployment: str) -> IntentOutcome:
        name = self._deployment(deployment).name
        self._engine.desired.set(name, 0, by=self._by("stop"))
        self._engine.emit_shared(
            "deployment.stopped", name, f"stopped by {self._acting('stop')} (kept at 0)"
        )
        return await self._act()

    async def start(self, deployment: str) -> IntentOutcome:
        """Back to the inventory's count (or autoscale.min), clearing a stop or a scale and
        the replicas given up on, so the deployment is not left blocked."""
        name = self._deployment(deployment).name
        self._engine.desired.start(name, by=self._by("start"))
        self._engine.emit_shared("deployment.started", name, f"started by {self._acting('start')}")
        await self.forget_failed(name)
        return await self._act()

    async def restart(self, deployment: str) -> IntentOutcome:
        """Replace every replica: rolling, or all at once with update_strategy=recreate."""
        name = self._deployment(deployment).name
        await self.forget_failed(name)
        self._engine.desired.request_restart(name, str(time.time()))
        self._engine.emit_shared(
            "deployment.restart",
            name,
            f"restart requested by {self._acting('restart')}: every replica is replaced",
        )
        return await self._act()

    async def _gpu_room(self, deployment: Deployment) -> int | None:
        """How many replicas of `deployment` its hosts' GPUs could ever hold; None when
        it needs no GPU or a host it may run on has not told its GPUs (unreachable, or
        no GPU reader answered there: gpu_source "none" is no count)."""
        need = deployment.gpus_needed
        wanted = deployment.placement.labels
        names = {h.name for h in self.inventory.hosts if wanted.items() <= h.labels.items()}
        if need == 0 or not names:
            return None
        hosts = [h for h in self._engine.snapshot().hosts if h.name in names]
        if any(h.gpu_source is None for h in hosts):
            hosts = [h for h in (await self._engine.refresh()).hosts if h.name in names]
        if len(hosts) != len(names) or any(
            h.state is not HostState.UP or h.gpu_source in (None, "none") for h in hosts
        ):
            return None
        return sum(len(h.gpus) // need for h in hosts)

    async def apply_inventory(self, text: str, *, based_on: str) -> IntentOutcome:
        """Write `text` as the inventory file (the console's form saves this way), take
        it, then `apply`: the same step as the CLI's. Refused, nothing written, when
        `text` does not load or the file is no longer `based_on` (edited meanwhile)."""
        source = self.inventory.source
        inventory = parse_inventory(text, source)  # InventoryError: nothing written
        try:
            on_disk = await asyncio.to_thread(source.read_text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(
                f"cannot read {source}",
                str(error),
                "nothing was written; restore the file, then open the form again",
            ) from error
        if on_disk != based_on:
            raise UsageError(
                f"{source} changed on disk while the form was open",
                "saving would overwrite that change",
                "nothing was written; open the form again to edit the file as it is now",
            )
        from fleetdeck.core.inventory.editing import write_inventory  # tomlkit: only here

        await asyncio.to_thread(write_inventory, source, text)
        self._engine.replace_inventory(inventory)
        self._engine.emit("inventory.edited", str(source), f"saved by {self._by('form')}")
        return await self.apply()

    async def forget_failed(self, deployment: str) -> ApplyOutcome:
        """Remove the replicas given up on (kept with their reason and log until now).

        They are stopped already, so this only clears their state on the host; it does
        so whoever holds the leases, as the other controller has nothing to decide here.
        """
        name = self._deployment(deployment).name
        engine = self._engine
        async with engine.reconciling():
            await engine.refresh()
            stops = clearing_stops(engine.observations(), name)
            if not stops:
                return NOTHING_DONE
            return await engine.apply(Plan(stops, (), (), ()))

    async def down(self, deployment: str | None = None) -> ApplyOutcome:
        """Stop and forget managed replicas, and the overrides that would bring them back."""
        if deployment is not None:
            deployment = self._deployment(deployment).name
        engine = self._engine
        others = await self._may_act()
        if others:
            raise FleetdeckError(
                "a controller is in charge of " + ", ".join(map(str, others)),
                "it would start the replicas again",
                "stop `fleetdeck run` (or close the console) first",
            )
        engine.desired.forget(deployment)
        engine.emit_shared(
            "deployment.down",
            deployment or engine.inventory.fleet.name,
            f"overrides dropped and managed replicas stopped by {self._acting('down')}",
        )
        await engine.share()
        async with engine.reconciling():
            await engine.refresh()
            stops = down_stops(engine.observations(), deployment)
            return await engine.apply(Plan(stops, (), (), tuple(engine.unreachable_hosts)))

    async def settle(
        self,
        outcome: IntentOutcome,
        *,
        timeout_s: float,
        wait_ready: bool,
        on_plan: Callable[[Plan], None] | None = None,
        on_snapshot: Callable[[FleetSnapshot], None] | None = None,
    ) -> Converged:
        """After a verb, for a one-shot command: act until nothing is left to do (and,
        with wait_ready, every replica is ready); or watch the controller in charge."""
        engine = self._engine
        deadline = time.monotonic() + timeout_s
        if outcome.handed_over:
            # With no controller in this process, the holder may be another one-shot
            # command: once it ends (or its leases expire), take them and act here.
            one_shot = engine.controller_in_charge is None
            watched = await watch_controller(
                engine,
                timeout_s,
                wait_ready=wait_ready,
                take_over=self._take_one_shot_leases if one_shot else None,
            )
            if watched is not None:
                return watched
        return await converge(
            engine,
            timeout_s=max(0.0, deadline - time.monotonic()),
            wait_ready=wait_ready,
            on_plan=on_plan,
            on_snapshot=on_snapshot,
            keep_leases=lambda: lease_for_one_shot(engine),
        )

    # -- verbs that read from a host ------------------------------------------------
    def follow_logs(
        self,
        replica_id: str,
        *,
        tail: int = 200,
        follow: bool = True,
        on_break: Callable[[StreamBroken], None] | None = None,
    ) -> AsyncIterator[str]:
        """A replica's last `tail` lines, then (with follow) new ones for as long as the
        caller reads: across host reconnects, log rotation and the replica's restarts,
        with no line lost or repeated (the follower resumes from the last offset)."""
        return follow_replica_log(
            self._engine, replica_id, tail=tail, follow=follow, on_break=on_break
        )

    async def resolve_replica(self, target: str) -> tuple[str, tuple[str, ...]]:
        """DEPLOYMENT or DEPLOYMENT/REPLICA -> (a replica id, every replica id of it)."""
        self._deployment(target.partition("/")[0])  # an unknown name is a usage error
        return await resolve_replica(self._engine, target)

    async def test_request(
        self, deployment: str, *, prompt: str, max_tokens: int, timeout_s: float
    ) -> ChatProbe:
        """One real chat completion through a ready replica, with latency and TTFT."""
        from fleetdeck.core.intents.chat_probe import send_chat_probe  # httpx: only here

        found = self._deployment(deployment)
        return await send_chat_probe(self._engine, found, prompt, max_tokens, timeout_s)

    async def host_key(self, host: str) -> HostKeyReport:
        """The key `host` presents, and how its known_hosts stands towards it."""
        found = self.inventory.host(host)
        if found is None:
            names = ", ".join(h.name for h in self.inventory.hosts) or "none"
            raise UsageError(f"no host named {host!r}", f"hosts: {names}", "nothing written")
        return await inspect_host_key(found)

    def trust(self, report: HostKeyReport, *, replace: bool = False) -> bool:
        """Write a key shown by `host_key` to known_hosts; False if already trusted."""
        written = trust_host_key(report, replace=replace)
        self._engine.retry_host(report.host)  # refused for this key a moment ago
        if written:
            self._engine.emit(
                "host.trusted",
                report.host,
                f"trusted {report.algorithm} {report.fingerprint} for {report.pattern} "
                f"in {report.known_hosts}",
            )
        return written

    def export(self, deployment: str) -> dict[str, Any]:
        """A deployment as inventory data: what the user wrote, secrets as references."""
        found = self._deployment(deployment)
        data: dict[str, Any] = found.model_dump(mode="json", exclude_defaults=True)
        return {"name": found.name, "model": found.model, **data}

    async def check_hosts(self) -> list[HostCheck]:
        """Each host: ssh, python3, the vLLM launch command, GPUs."""
        return await check_hosts(self._engine)

    # -- the controller -------------------------------------------------------------
    async def run_controller(self, stop: asyncio.Event, *, interval_s: float = 5.0) -> None:
        """The engine's loops (reconcile, autoscale, endpoints, metrics) until `stop`."""
        controller = Controller(self._engine, interval_s=interval_s)
        self._engine.emit(
            "controller.started", controller.holder, f"reconciling every {interval_s}s"
        )
        await controller.run(stop)
        self._engine.emit("controller.stopped", controller.holder, "released the host leases")

    async def run_beside_controller(self, main: Awaitable[object]) -> None:
        """Run `main` (the console) with a controller alongside, stopped after it."""
        await run_with_controller(self._engine, main)

    # -- the end ---------------------------------------------------------------------
    async def close(self) -> None:
        if self._holding_one_shot_leases:
            self._holding_one_shot_leases = False
            await release_one_shot(self._engine)
        await self._engine.close()

    def _by(self, verb: str) -> str:
        return f"fleetdeck {verb}" if self._who == "fleetdeck" else self._who

    def _acting(self, verb: str) -> str:
        """ "alice@laptop (fleetdeck scale)": who acted, and how, for the fleet's journal."""
        return f"{self._engine.operator} ({self._by(verb)})"

    # -- one step, where this process may act ---------------------------------------
    async def _act(self) -> IntentOutcome:
        engine = self._engine
        others = await self._may_act()
        # With the leases (the home host's first), or handing over to their holder: the
        # change goes to the fleet's home host either way, where every controller and
        # operator reads it (the host's lock orders two writers; the later one wins).
        shared = await engine.share()
        if others:
            engine.emit(
                "controller.handed-over",
                engine.inventory.fleet.name,
                "another controller holds the leases ("
                + ", ".join(map(str, others))
                + "): it applies this change on its next tick"
                + (
                    ""
                    if shared
                    else " if it runs on this machine (the fleet's home host was not"
                    " reachable to record it)"
                ),
                "warning",
            )
            return IntentOutcome(handed_over_to=tuple(map(str, others)), refused_by=tuple(others))
        async with engine.reconciling():
            await engine.refresh()
            return IntentOutcome(await engine.apply(engine.plan()))

    async def _may_act(self) -> list[LeaseRefusal]:
        """The hosts another controller holds; empty when this process may act now."""
        engine = self._engine
        if engine.controller_in_charge is True:
            return []
        if engine.controller_in_charge is False:
            return [LeaseRefusal("every host", "another controller")]
        await engine.refresh()
        others = await lease_for_one_shot(engine)
        self._holding_one_shot_leases = not others
        return others

    async def _take_one_shot_leases(self) -> bool:
        """Every reachable host's lease for this one-shot command (all or none)."""
        return not await self._may_act()
