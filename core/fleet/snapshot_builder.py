"""Build the immutable FleetSnapshot from what the engine knows (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fleetdeck.core.fleet.snapshot import (
    READY,
    DeploymentCost,
    DeploymentSnapshot,
    EndpointSnapshot,
    FleetSnapshot,
    FleetStateView,
    GpuProcessSnapshot,
    GpuSnapshot,
    HostSnapshot,
    HostState,
    MetricsSnapshot,
    ReplicaSnapshot,
    ReplicaStatus,
)
from fleetdeck.core.inventory import Deployment, Inventory
from fleetdeck.core.inventory.secrets import mask_secret
from fleetdeck.core.policy.failure_reason import error_excerpt
from fleetdeck.core.policy.plan import Start
from fleetdeck.core.policy.status import deployment_status, replica_status
from fleetdeck.hosts.errors import HostError
from fleetdeck.hosts.observations import GpuReading, HostObservation, ReplicaObservation

DEFAULT_IDLE_WINDOW_S = 60.0


@dataclass(frozen=True)
class HostView:
    state: HostState
    observation: HostObservation | None
    error: HostError | None
    # While unreachable: the latest observation, whose replicas are shown as unknown.
    last_seen: HostObservation | None = None


def build_snapshot(
    inventory: Inventory,
    hosts: Mapping[str, HostView],
    *,
    last_active: Mapping[str, float],
    pending: Sequence[Start],
    desired: Mapping[str, int],
    now: float,
    api_keys: Mapping[str, str] | None = None,
    replica_metrics: Mapping[str, MetricsSnapshot] | None = None,
    deployment_metrics: Mapping[str, MetricsSnapshot] | None = None,
    endpoints: Mapping[str, str] | None = None,
    costs: Mapping[str, DeploymentCost] | None = None,
    routers: Sequence[EndpointSnapshot] = (),
    fleet_state: FleetStateView | None = None,
) -> FleetSnapshot:
    host_snapshots = tuple(
        _host_snapshot(h.name, h.address or "local", hosts[h.name], dict(h.labels))
        for h in inventory.hosts
    )
    replicas: dict[str, list[ReplicaSnapshot]] = {}
    for host in inventory.hosts:
        view = hosts[host.name]
        disk_full = view.observation.disk_full if view.observation is not None else None
        for observation in _replicas_shown(view):
            deployment = inventory_deployment(inventory, observation.deployment)
            replica = _replica_snapshot(
                host.name,
                observation,
                reachable=view.state == HostState.UP,
                last_active=last_active.get(observation.replica_id),
                now=now,
                idle_window_s=_idle_window(deployment),
            )
            if disk_full is not None:
                replica = replica.model_copy(update={"reason": _with_disk_full(replica.reason)})
            replicas.setdefault(observation.deployment, []).append(replica)
    for start in pending:
        replicas.setdefault(start.deployment, []).append(
            ReplicaSnapshot(
                id=f"{start.deployment}/{start.replica}",
                deployment=start.deployment,
                host=start.host,
                port=0,
                status=ReplicaStatus.PENDING,
                gpu_uuids=start.gpu_uuids,
            )
        )
    deployments = []
    names = [d.name for d in inventory.deployments]
    names += sorted(set(replicas) - set(names))  # still running, no longer in the inventory
    for name in names:
        deployment = inventory_deployment(inventory, name)
        want = desired.get(name, deployment.desired_replicas if deployment else 0)
        own = tuple(
            r.model_copy(update={"metrics": (replica_metrics or {}).get(r.id)})
            for r in sorted(replicas.get(name, []), key=lambda r: r.id)
        )
        deployments.append(
            DeploymentSnapshot(
                name=name,
                model=deployment.model if deployment else "(not in inventory)",
                status=deployment_status(want, [r.status for r in own]),
                desired=want,
                ready=sum(1 for r in own if r.status in READY),
                replicas=own,
                api_key_masked=mask_secret(api_keys[name])
                if api_keys and name in api_keys
                else None,
                metrics=(deployment_metrics or {}).get(name),
                endpoint=(endpoints or {}).get(name),
                cost=(costs or {}).get(name),
            )
        )
    return FleetSnapshot(
        fleet=inventory.fleet.name,
        taken_at=now,
        hosts=host_snapshots,
        deployments=tuple(deployments),
        endpoints=tuple(routers),
        fleet_state=fleet_state,
    )


def _replicas_shown(view: HostView) -> tuple[ReplicaObservation, ...]:
    """What the host runs; while it is unreachable, what it ran when last observed and
    had not been asked to stop (their status is unknown, and they count until replaced)."""
    if view.observation is not None:
        return view.observation.replicas
    if view.state is HostState.UNREACHABLE and view.last_seen is not None:
        return tuple(r for r in view.last_seen.replicas if not r.stop_requested)
    return ()


DISK_FULL_REASON = "disk full: its log and exits may not be recorded"


def _with_disk_full(reason: str | None) -> str:
    """A replica on a host whose state dir is full says so, after its own reason."""
    return f"{reason}; {DISK_FULL_REASON}" if reason else DISK_FULL_REASON


def inventory_deployment(inventory: Inventory, name: str) -> Deployment | None:
    return next((d for d in inventory.deployments if d.name == name), None)


def _idle_window(deployment: Deployment | None) -> float:
    if deployment is not None and deployment.autoscale is not None:
        return deployment.autoscale.window
    return DEFAULT_IDLE_WINDOW_S


def _replica_snapshot(
    host: str,
    observation: ReplicaObservation,
    *,
    reachable: bool,
    last_active: float | None,
    now: float,
    idle_window_s: float,
) -> ReplicaSnapshot:
    derived = replica_status(
        observation,
        host_reachable=reachable,
        last_active_at=last_active,
        now=now,
        idle_window_s=idle_window_s,
    )
    return ReplicaSnapshot(
        id=observation.replica_id,
        deployment=observation.deployment,
        host=host,
        port=observation.port or 0,
        pid=observation.pid,
        status=derived.status,
        phase=derived.phase,
        healthy=observation.healthy and reachable,
        restarts=sum(1 for _ in observation.exits),
        last_exit_code=_last_exit_code(observation, derived.status),
        reason=derived.reason,
        gpu_uuids=observation.gpu_uuids,
        started_at=observation.started_at,
        spec_hash=observation.spec_hash,
        first_failure=error_excerpt(observation.first_failure),
        log_excerpt=derived.log_excerpt,
    )


def _host_snapshot(name: str, address: str, view: HostView, labels: dict[str, str]) -> HostSnapshot:
    observation = view.observation
    error = str(view.error) if view.error else None
    if observation is None:
        return HostSnapshot(
            name=name, address=address, state=view.state, labels=labels, error=error
        )
    load = observation.load
    lease = observation.lease
    # The replicas named on this host say which deployment a GPU process serves; the id's
    # own spelling is only the fallback (a process of a replica the host no longer lists).
    deployments = {r.replica_id: r.deployment for r in observation.replicas}
    if observation.disk_full is not None and error is None:
        error = f"disk full: {observation.disk_full}"  # shown where host errors are
    return HostSnapshot(
        name=name,
        address=address,
        state=view.state,
        labels=labels,
        error=error,
        disk_full=observation.disk_full,
        gpus=tuple(_gpu_snapshot(g, deployments) for g in observation.gpus),
        cpu_pct=load.cpu_pct,
        load_1m=load.load_1m,
        load_5m=load.load_5m,
        load_15m=load.load_15m,
        cpu_count=load.cpu_count,
        memory_used_mib=load.memory_used_mib,
        memory_total_mib=load.memory_total_mib,
        disk_path=load.disk_path,
        disk_used_bytes=load.disk_used_bytes,
        disk_total_bytes=load.disk_total_bytes,
        disk_free_bytes=load.disk_free_bytes,
        net_rx_bytes_s=load.net_rx_bytes_s,
        net_tx_bytes_s=load.net_tx_bytes_s,
        # An expired lease binds nobody: the host is free for any controller to take.
        lease_holder=lease.holder if lease and lease.expires_at > observation.time else None,
        lease_expires_at=lease.expires_at
        if lease and lease.expires_at > observation.time
        else None,
        observed_at=observation.time,
        gpu_source=observation.gpu_source,
        gpu_error=observation.gpu_error,
    )


def _gpu_snapshot(reading: GpuReading, deployments: Mapping[str, str]) -> GpuSnapshot:
    return GpuSnapshot(
        index=reading.index,
        uuid=reading.uuid,
        name=reading.name,
        temperature_c=reading.temperature_c,
        utilization_pct=reading.utilization_pct,
        memory_used_mib=reading.memory_used_mib,
        memory_total_mib=reading.memory_total_mib,
        power_w=reading.power_w,
        power_limit_w=reading.power_limit_w,
        processes=tuple(
            GpuProcessSnapshot(
                pid=p.pid,
                memory_mib=p.memory_mib,
                ours=p.ours,
                replica=p.replica,
                deployment=_deployment_of(p.replica, deployments) if p.ours else None,
            )
            for p in reading.processes
        ),
    )


def _deployment_of(replica: str | None, deployments: Mapping[str, str]) -> str | None:
    if replica is None:
        return None
    return deployments.get(replica) or replica.rpartition("/")[0] or None


def _last_exit_code(observation: ReplicaObservation, status: ReplicaStatus) -> int | None:
    """The code of the replica's last exit. For one given up on, the last crash: a run
    our own stop ended afterwards (143, racing the give-up) is not why it failed."""
    exits = observation.exits
    if status is ReplicaStatus.FAILED:
        exits = tuple(e for e in exits if e.stopped is not True) or exits
    return exits[-1].code if exits else None
