"""Reconciling until the fleet matches: the loop behind apply, scale, start, ... --wait.

A plan is a pure function of what was observed, so the loop is: observe, plan, apply, and
observe again. Steps that depend on readiness (a rolling update's next replica) simply
appear in a later plan.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.fleet.snapshot import FleetSnapshot, ReplicaStatus
from fleetdeck.core.policy.placement import UNREACHABLE
from fleetdeck.core.policy.plan import Plan

# Replicas that no longer count against a deployment's count (kept only for their log).
GONE = frozenset({ReplicaStatus.STOPPED, ReplicaStatus.STOPPING, ReplicaStatus.FAILED})
# Not counted as running more than desired either: on an unreachable host, once replaced
# it waits there until the host comes back and the surplus is stopped.
NOT_RUNNING_HERE = GONE | {ReplicaStatus.UNKNOWN}


@dataclass(frozen=True)
class Converged:
    ok: bool
    reason: str  # why it stopped: "converged", "ready", a failure, or "timed out"
    plans: tuple[Plan, ...]
    snapshot: FleetSnapshot
    partial: bool = False  # done where it could be: some hosts were unreachable


async def converge(
    engine: Engine,
    *,
    timeout_s: float,
    wait_ready: bool,
    on_plan: Callable[[Plan], None] | None = None,
    on_snapshot: Callable[[FleetSnapshot], None] | None = None,
    poll_s: float = 1.0,
    keep_leases: Callable[[], Awaitable[Sequence[object]]] | None = None,
) -> Converged:
    """Apply plans until none is left (and, with wait_ready, every replica is ready).

    `keep_leases` renews this command's host leases before every step and returns the
    hosts another controller holds; when there are any, it stops without acting.
    """
    deadline = time.monotonic() + timeout_s
    plans: list[Plan] = []
    while True:
        snapshot = await engine.refresh()
        if keep_leases is not None:
            others = await keep_leases()
            if others:
                reason = "another controller took over: " + ", ".join(map(str, others))
                return Converged(False, reason, tuple(plans), snapshot)
        if on_snapshot is not None:
            on_snapshot(snapshot)
        plan = engine.plan()
        engine.report_holds(plan)
        if plan.actions:
            plans.append(plan)
            if on_plan is not None:
                on_plan(plan)
            outcome = await engine.apply(plan)
            if outcome.failed:
                _, error = outcome.failed[0]
                return Converged(False, error, tuple(plans), await engine.refresh())
        elif plan.unschedulable:
            blocked = {u.deployment for u in plan.unschedulable}
            rest_ready = fleet_settled(snapshot, leave_out=blocked)
            if not wait_ready or rest_ready:
                plans.append(plan)
                reason = "; ".join(f"{u.deployment}: {u.reason}" for u in plan.unschedulable)
                # Blocked only by unreachable hosts: the rest is done, a partial result.
                partial = all(u.reason.startswith(UNREACHABLE) for u in plan.unschedulable)
                return Converged(partial, reason, tuple(plans), snapshot, partial)
        else:
            # A crashed replica is restarted by its supervisor and may come up; the plan
            # gives up on it (and the loop ends above) after max_start_failures.
            ready = fleet_settled(snapshot)
            if not wait_ready or ready:
                why = "ready" if ready else "converged"
                partial = bool(engine.unreachable_hosts)
                return Converged(True, why, tuple(plans), snapshot, partial)
        if time.monotonic() >= deadline:
            return Converged(False, "timed out", tuple(plans), await engine.refresh())
        await asyncio.sleep(poll_s)


def fleet_settled(snapshot: FleetSnapshot, leave_out: Collection[str] = ()) -> bool:
    """Every deployment has its replicas ready and no more running: a rolling update
    that still has an old replica to stop is not settled, though enough are ready."""
    return all(
        d.ready >= d.desired
        and sum(r.status not in NOT_RUNNING_HERE for r in d.replicas) <= d.desired
        for d in snapshot.deployments
        if d.name not in leave_out
    )
