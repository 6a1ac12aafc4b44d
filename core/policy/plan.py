"""Desired against observed: the actions that bring the fleet to the inventory (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fleetdeck.core.inventory import Deployment, Inventory
from fleetdeck.core.inventory.durations import format_duration
from fleetdeck.core.policy.placement import (
    HostCapacity,
    Placed,
    PlacementRequest,
    Unplaced,
    place,
    place_group,
    with_placed,
)
from fleetdeck.core.policy.start_failures import give_up_reason
from fleetdeck.hosts.observations import HostObservation, ReplicaObservation

# A GPU whose memory is this much held by processes that are not ours is not free.
FOREIGN_MEMORY_LIMIT_MIB = 1024.0


@dataclass(frozen=True)
class Start:
    deployment: str
    replica: str
    host: str
    gpu_uuids: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Stop:
    deployment: str
    replica: str
    host: str
    reason: str
    mark_failed: bool = False  # keep its state and log, marked failed, instead of forgetting


@dataclass(frozen=True)
class Unschedulable:
    deployment: str
    reason: str


@dataclass(frozen=True)
class Hold:
    """A replica on an unreachable host that still counts, so no replacement starts yet."""

    deployment: str
    replica: str  # its id, "deployment/replica"
    host: str
    wait_s: float  # until it is replaced, unless its host comes back
    reason: str


@dataclass(frozen=True)
class Unreachable:
    """A host that stopped answering: since when (the engine's clock), and the replicas
    it ran when last observed (none when it was never observed)."""

    since: float
    replicas: tuple[ReplicaObservation, ...] = ()


Action = Start | Stop


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    unschedulable: tuple[Unschedulable, ...]
    in_sync: tuple[str, ...]  # replica ids that need nothing
    unreachable_hosts: tuple[str, ...]
    holds: tuple[Hold, ...] = ()  # replacements not started yet: their host may come back

    @property
    def empty(self) -> bool:
        return not self.actions and not self.unschedulable


def make_plan(
    inventory: Inventory,
    observed: Mapping[str, HostObservation | None],
    expected_hash: Mapping[tuple[str, str], str],
    desired: Mapping[str, int] | None = None,
    now: float = 0.0,
    unreachable: Mapping[str, Unreachable] | None = None,
) -> Plan:
    """`observed` maps every host name to its observation, or None when unreachable.

    `unreachable` says, for hosts observed as None, since when and what they last ran:
    those replicas count toward their deployment's count for its
    `replace_unreachable_after` (a dropped connection must not start a second copy);
    after that, replacements are placed on other hosts.

    `expected_hash[(deployment, host)]` is the spec hash a replica there should carry;
    `desired` overrides a deployment's replica count (scale, autoscaler, stop/start).
    Actions that depend on readiness (a rolling update's next step) appear only once
    their condition holds, so calling this again after each apply converges.
    """
    actions: list[Action] = []
    unschedulable: list[Unschedulable] = []
    in_sync: list[str] = []
    holds: list[Hold] = []
    capacities = _capacities(inventory, observed)
    by_deployment = _replicas_by_deployment(observed)
    known = {d.name for d in inventory.deployments}

    for name, replicas in sorted(by_deployment.items()):
        if name not in known:
            for host, replica in replicas:
                actions.append(Stop(name, replica.replica, host, "deployment not in the inventory"))

    for deployment in inventory.deployments:
        want = (desired or {}).get(deployment.name, deployment.desired_replicas)
        own = by_deployment.get(deployment.name, [])
        sorted_ = _sort_replicas(deployment, own, expected_hash, now, observed)
        actions += sorted_.actions
        unschedulable += [Unschedulable(deployment.name, why) for why in sorted_.blocked]
        fresh, stale = sorted_.fresh, sorted_.stale
        for host, replica in _surplus(fresh, want):
            actions.append(Stop(deployment.name, replica.replica, host, f"scale to {want}"))
            fresh.remove((host, replica))
        if stale and (deployment.update_strategy == "recreate" or want == 0):
            for host, replica in stale:
                actions.append(Stop(deployment.name, replica.replica, host, "spec changed"))
            stale = []
        in_sync += [replica.replica_id for _, replica in fresh]
        if sorted_.blocked:
            continue  # a replica failed at start with this spec: starting more would loop
        ready = sum(1 for _, r in fresh if r.healthy)
        # Rolling: old replicas keep serving until new ones are ready to take over.
        keep = max(0, want - ready)
        for host, replica in _least_useful_first(stale)[: max(0, len(stale) - keep)]:
            actions.append(
                Stop(deployment.name, replica.replica, host, "replaced by a ready replica")
            )
        stale_kept = _least_useful_first(stale)[max(0, len(stale) - keep) :]
        lost = _lost_replicas(deployment.name, observed, unreachable or {}, now)
        grace = deployment.replace_unreachable_after
        waiting = [item for item in lost if item[2] < grace]
        expired = [item for item in lost if item[2] >= grace]
        missing = want - len(fresh)
        for host, replica_id, gone_s in waiting[: max(0, missing)]:
            wait_s = grace - gone_s
            why = f"waiting {wait_s:.0f}s for {host} to come back before replacing {replica_id}"
            holds.append(Hold(deployment.name, replica_id, host, wait_s, why))
        missing -= len(waiting)
        if stale_kept:
            # One extra replica at a time, and only once the previous new one is ready.
            missing = min(missing, 0 if any(not r.healthy for _, r in fresh) else 1)
        used_names = {(h, r.replica) for h, r in by_deployment.get(deployment.name, [])}
        reason = "rolling update" if stale_kept else f"scale to {want}"
        replacing = [
            f"{host} unreachable for {format_duration(round(gone_s))}: replacing {replica_id}"
            for host, replica_id, gone_s in expired
        ]
        if deployment.nodes > 1 and missing > 0:
            # Placed purely already; the host side (Ray head and workers under the
            # supervisor) is not built yet, so say where it would go and start nothing.
            why = _multi_node_reason(deployment, capacities)
            unschedulable.append(Unschedulable(deployment.name, why))
            continue
        for index in range(missing):
            outcome = place(_request(deployment), capacities)
            if isinstance(outcome, Unplaced):
                if stale_kept:
                    # No room for an extra replica: replace one in place instead.
                    host, replica = stale_kept[0]
                    actions.append(
                        Stop(
                            deployment.name,
                            replica.replica,
                            host,
                            "no room to surge: replace in place",
                        )
                    )
                else:
                    unschedulable.append(Unschedulable(deployment.name, outcome.reason))
                break
            capacities = with_placed(capacities, deployment.name, outcome)
            replica_name = _next_name(outcome, used_names)
            used_names.add((outcome.host, replica_name))
            why = replacing[index] if index < len(replacing) else reason
            actions.append(
                Start(deployment.name, replica_name, outcome.host, outcome.gpu_uuids, why)
            )
    down = tuple(sorted(h for h, o in observed.items() if o is None))
    return Plan(tuple(actions), tuple(unschedulable), tuple(in_sync), down, tuple(holds))


def _lost_replicas(
    deployment: str,
    observed: Mapping[str, HostObservation | None],
    unreachable: Mapping[str, Unreachable],
    now: float,
) -> list[tuple[str, str, float]]:
    """(host, replica id, seconds unreachable) for each of the deployment's replicas that
    ran on a host when it was last observed and that host is unreachable now."""
    lost = []
    for host, down in sorted(unreachable.items()):
        if host not in observed or observed[host] is not None:
            continue
        for replica in down.replicas:
            running = replica.alive or replica.wrapper_alive
            if replica.deployment != deployment or replica.stop_requested or not running:
                continue
            if replica.failed_reason is None:
                lost.append((host, replica.replica_id, max(0.0, now - down.since)))
    return lost


@dataclass
class _Sorted:
    fresh: list[tuple[str, ReplicaObservation]]
    stale: list[tuple[str, ReplicaObservation]]
    actions: list[Action]
    blocked: list[str]


def _sort_replicas(
    deployment: Deployment,
    replicas: list[tuple[str, ReplicaObservation]],
    expected_hash: Mapping[tuple[str, str], str],
    now: float,
    observed: Mapping[str, HostObservation | None],
) -> _Sorted:
    """Split a deployment's replicas into fresh (current spec) and stale, and decide what
    to do with stopped and failed ones."""
    result = _Sorted([], [], [], [])
    name = deployment.name
    for host, replica in replicas:
        current = replica.spec_hash == expected_hash.get((deployment.name, host))
        if replica.failed_reason is not None:
            if current:
                result.blocked.append(
                    f"{replica.replica_id} on {host} {replica.failed_reason}; fix the cause, then "
                    f"`fleetdeck restart FILE {deployment.name}`"
                )
            else:
                why = "clean up: failed with an old spec"
                result.actions.append(Stop(name, replica.replica, host, why))
            continue
        if replica.stop_requested:
            if not replica.alive and not replica.wrapper_alive:
                result.actions.append(Stop(name, replica.replica, host, "clean up stopped"))
            continue
        if not replica.alive and not replica.wrapper_alive:
            # Nothing runs and nothing will restart it (a host reboot, a killed supervisor).
            why = "clean up: neither vLLM nor its supervisor is running"
            result.actions.append(Stop(name, replica.replica, host, why))
            continue
        # The host's own clock: started_at is a time on the host, and clocks differ.
        host_observation = observed.get(host)
        host_now = host_observation.time if host_observation and host_observation.time else now
        gave_up = give_up_reason(replica, deployment, host_now)
        if gave_up is not None:
            result.actions.append(Stop(name, replica.replica, host, gave_up, mark_failed=True))
            result.blocked.append(f"{replica.replica_id} on {host} {gave_up}")
            continue
        (result.fresh if current else result.stale).append((host, replica))
    return result


def _least_useful_first(
    replicas: list[tuple[str, ReplicaObservation]],
) -> list[tuple[str, ReplicaObservation]]:
    def usefulness(item: tuple[str, ReplicaObservation]) -> tuple[int, float, str]:
        _, replica = item
        rank = 2 if replica.healthy else 1 if replica.alive else 0
        return (rank, -(replica.created_at or 0), replica.replica_id)

    return sorted(replicas, key=usefulness)


def _request(deployment: Deployment) -> PlacementRequest:
    return PlacementRequest(
        deployment.name,
        deployment.placement.labels,
        deployment.placement.strategy,
        deployment.gpus_needed,
    )


def _multi_node_reason(deployment: Deployment, capacities: list[HostCapacity]) -> str:
    outcome = place_group(_request(deployment), deployment.nodes, capacities)
    if isinstance(outcome, Unplaced):
        return outcome.reason
    hosts = ", ".join(member.host for member in outcome.members)
    return (
        f"a replica over {deployment.nodes} hosts would run on {hosts}; launching replicas"
        " over several hosts (Ray) is not supported yet"
    )


def _next_name(placed: Placed, used: set[tuple[str, str]]) -> str:
    index = 0
    while (placed.host, f"{placed.host}-{index}") in used:
        index += 1
    return f"{placed.host}-{index}"


def _surplus(
    live: list[tuple[str, ReplicaObservation]], want: int
) -> list[tuple[str, ReplicaObservation]]:
    """Which replicas to stop when there are too many: the least useful first."""
    return _least_useful_first(live)[: max(0, len(live) - want)]


def _replicas_by_deployment(
    observed: Mapping[str, HostObservation | None],
) -> dict[str, list[tuple[str, ReplicaObservation]]]:
    grouped: dict[str, list[tuple[str, ReplicaObservation]]] = {}
    for host, observation in sorted(observed.items()):
        for replica in observation.replicas if observation else ():
            grouped.setdefault(replica.deployment, []).append((host, replica))
    return grouped


def holds_gpus(replica: ReplicaObservation) -> bool:
    """A replica holds its GPUs from its start until it is gone: one being stopped still
    holds them until its processes are gone. Placement and cost both count by this."""
    return not replica.stop_requested or replica.alive


def _capacities(
    inventory: Inventory, observed: Mapping[str, HostObservation | None]
) -> list[HostCapacity]:
    capacities = []
    for host in inventory.hosts:
        observation = observed.get(host.name)
        if observation is None:
            capacities.append(HostCapacity(host.name, host.labels, False, ()))
            continue
        holding = [r for r in observation.replicas if holds_gpus(r)]
        busy = {uuid for r in holding for uuid in r.gpu_uuids}
        for gpu in observation.gpus:
            # vLLM's GPU memory is held by its EngineCore and workers, not the API server:
            # the host marks every process of our replicas' groups as ours.
            if gpu.foreign_memory_mib > FOREIGN_MEMORY_LIMIT_MIB:
                busy.add(gpu.uuid)
        counts: dict[str, int] = {}
        for replica in observation.replicas:
            if not replica.stop_requested:
                counts[replica.deployment] = counts.get(replica.deployment, 0) + 1
        capacities.append(
            HostCapacity(
                host.name,
                host.labels,
                True,
                tuple(g.uuid for g in observation.gpus),
                frozenset(busy),
                counts,
            )
        )
    return capacities


def clearing_stops(
    observed: Mapping[str, HostObservation | None], deployment: str
) -> tuple[Stop, ...]:
    """Stops that remove the replicas given up on (kept with their log until the user acts)."""
    return tuple(
        Stop(r.deployment, r.replica, host, "cleared by the user")
        for host, observation in observed.items()
        for r in (observation.replicas if observation else ())
        if r.deployment == deployment and r.failed_reason is not None
    )


def down_stops(
    observed: Mapping[str, HostObservation | None], deployment: str | None = None
) -> tuple[Stop, ...]:
    """A stop for every replica the fleet runs (or one deployment's): `down`."""
    return tuple(
        Stop(r.deployment, r.replica, host, "down")
        for host, observation in observed.items()
        for r in (observation.replicas if observation else ())
        if deployment is None or r.deployment == deployment
    )
