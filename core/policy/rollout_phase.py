"""What a deployment is in the middle of: a rolling update or a scale (pure).

During a rollout the plain ready/desired ratio reads as nonsense ("3/2" while a new
replica surges in beside the old ones, "1/0" while the last one drains). The console's
row and `fleetdeck status` show this phase instead, derived from the snapshot alone.

The snapshot does not carry the hash each replica *should* have, so "newest" means the
spec hash of the most recently started replica: a rollout starts new replicas, so the
newest start carries the new spec.
"""

from __future__ import annotations

from fleetdeck.core.fleet.snapshot import READY, DeploymentSnapshot, ReplicaStatus

# Replicas that take, or are about to take, a share of the deployment: what a scale
# moves from. Stopped and failed ones are out of it (failures are the status's story).
_COUNTED = frozenset(
    {
        ReplicaStatus.PENDING,
        ReplicaStatus.STARTING,
        ReplicaStatus.ACTIVE,
        ReplicaStatus.IDLE,
        ReplicaStatus.STOPPING,
        ReplicaStatus.UNKNOWN,
    }
)
_COMING = frozenset({ReplicaStatus.PENDING, ReplicaStatus.STARTING})


def rollout_phase(deployment: DeploymentSnapshot) -> str | None:
    """ "rolling 1/2 updated", "scaling 1→0", "scaling 1→3", or None when settled.

    None too for a first start from nothing (the status already says "loading" and
    0/N is an honest ratio), for a crashed replica coming back (not a scale), and for a
    scale up beside a failed replica (the failure is the news).
    """
    counted = [r for r in deployment.replicas if r.status in _COUNTED]
    # Pending replicas have no hash yet: they are the update still to come.
    hashed = [r for r in counted if r.spec_hash and r.status is not ReplicaStatus.PENDING]
    if len({r.spec_hash for r in hashed}) > 1:
        starters = [r for r in hashed if r.status is not ReplicaStatus.STOPPING] or hashed
        newest = max(starters, key=lambda r: r.started_at or 0.0).spec_hash
        updated = sum(1 for r in hashed if r.spec_hash == newest and r.status in READY)
        return f"rolling {updated}/{deployment.desired} updated"
    running = len(counted)
    stopping = sum(1 for r in counted if r.status is ReplicaStatus.STOPPING)
    if running > deployment.desired and (stopping or deployment.ready > deployment.desired):
        return f"scaling {running}→{deployment.desired}"
    # A replica that has exited before is being restarted, not added by a scale.
    added = [
        r for r in counted if r.status in _COMING and not r.restarts and r.last_exit_code is None
    ]
    # With a failed replica the story is the failure: the status and the ratio tell it.
    failed = any(r.status is ReplicaStatus.FAILED for r in deployment.replicas)
    if added and not failed and 0 < deployment.ready < deployment.desired:
        return f"scaling {deployment.ready}→{deployment.desired}"
    return None
