"""When the engine stops retrying a replica that never becomes ready (pure).

The supervisor restarts a crashed vLLM on its own, with backoff; that is right for a
replica that served and then crashed, wrong for one that cannot start at all (a bad
argument, a model that does not fit): it would loop forever. After `max_start_failures`
runs in a row that never became ready, or one run not ready after `start_timeout`, the
engine stops it, keeps its state and log, and says why.
"""

from __future__ import annotations

from fleetdeck.core.inventory import Deployment
from fleetdeck.core.policy.failure_reason import classify_failure
from fleetdeck.hosts.observations import ReplicaObservation


def give_up_reason(replica: ReplicaObservation, deployment: Deployment, now: float) -> str | None:
    if replica.failed_reason is not None or replica.stop_requested or replica.healthy:
        return None
    if replica.start_failures >= deployment.max_start_failures:
        code = replica.exits[-1].code if replica.exits else None
        why = classify_failure(code, replica.log_tail)
        return f"failed at start {replica.start_failures} times in a row: {why}"
    started = replica.started_at
    ready_since_start = (
        replica.ready_at is not None and started is not None and replica.ready_at >= started
    )
    if replica.alive and started is not None and not ready_since_start:
        waited = now - started
        if waited > deployment.start_timeout:
            limit = deployment.start_timeout
            return f"not ready {waited:.0f}s after starting (start_timeout {limit:.0f}s)"
    return None
