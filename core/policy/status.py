"""Replica and deployment statuses derived from observations (pure; DESIGN.md "Statuses")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fleetdeck.core.fleet.snapshot import READY, DeploymentStatus, ReplicaStatus
from fleetdeck.core.policy.failure_reason import classify_failure, failure_excerpt
from fleetdeck.core.policy.loading_phase import loading_phase
from fleetdeck.hosts.observations import ReplicaObservation


@dataclass(frozen=True)
class DerivedReplica:
    status: ReplicaStatus
    phase: str | None = None
    reason: str | None = None
    log_excerpt: tuple[str, ...] = ()  # a failed replica's last lines, or "no output"


def replica_status(
    observation: ReplicaObservation,
    *,
    host_reachable: bool,
    last_active_at: float | None,
    now: float,
    idle_window_s: float,
) -> DerivedReplica:
    if not host_reachable:
        return DerivedReplica(ReplicaStatus.UNKNOWN, reason="host unreachable")
    last_exit = observation.exits[-1].code if observation.exits else None
    if observation.stop_requested:
        running = observation.alive or observation.wrapper_alive
        if running:
            return DerivedReplica(ReplicaStatus.STOPPING, reason=observation.failed_reason)
        if observation.failed_reason is not None:
            # Given up on: failed, kept with why and what it said until the user acts
            # (`restart`, `start` or `forget-failed`).
            excerpt = failure_excerpt(observation.exits, observation.log_tail)
            return DerivedReplica(
                ReplicaStatus.FAILED, reason=observation.failed_reason, log_excerpt=excerpt
            )
        return DerivedReplica(ReplicaStatus.STOPPED)
    if observation.alive and observation.healthy:
        recent = last_active_at is not None and now - last_active_at <= idle_window_s
        return DerivedReplica(ReplicaStatus.ACTIVE if recent else ReplicaStatus.IDLE)
    if observation.alive:
        return DerivedReplica(ReplicaStatus.STARTING, phase=loading_phase(observation.log_tail))
    if observation.wrapper_alive and not observation.exits:
        return DerivedReplica(ReplicaStatus.STARTING, phase="launching")
    reason = classify_failure(last_exit, observation.log_tail)
    if observation.wrapper_alive:
        reason += "; restarting after backoff"
    else:
        reason += "; supervisor not running"
    excerpt = failure_excerpt(observation.exits, observation.log_tail)
    return DerivedReplica(ReplicaStatus.FAILED, reason=reason, log_excerpt=excerpt)


def deployment_status(desired: int, replicas: Sequence[ReplicaStatus]) -> DeploymentStatus:
    ready = sum(1 for status in replicas if status in READY)
    live = [s for s in replicas if s not in (ReplicaStatus.STOPPED, ReplicaStatus.STOPPING)]
    if not live:
        # Nothing runs (never applied, or scaled to zero): say so, whatever is desired.
        return DeploymentStatus.STOPPED
    # Ready meets desired: healthy, including a scale-down (to zero too) whose surplus
    # replicas still serve until they are stopped; the rollout phase says "scaling 2→1".
    if ready > 0 and ready >= desired:
        if ReplicaStatus.ACTIVE in replicas:
            return DeploymentStatus.ACTIVE
        return DeploymentStatus.IDLE
    if ReplicaStatus.FAILED in replicas:
        return DeploymentStatus.DEGRADED if ready > 0 else DeploymentStatus.FAILED
    if ReplicaStatus.UNKNOWN in replicas:
        return DeploymentStatus.DEGRADED
    if any(s in (ReplicaStatus.STARTING, ReplicaStatus.PENDING) for s in replicas):
        return DeploymentStatus.LOADING
    return DeploymentStatus.DEGRADED
