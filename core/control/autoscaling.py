"""The autoscaler and idle shutdown, run by the controller once per tick.

Decisions are pure (core/autoscaler.py); this keeps their state per deployment, feeds
them the deployment's metrics, and turns decisions into desired counts and events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.inventory import Inventory
from fleetdeck.core.policy.autoscaler import (
    AutoscalerState,
    Decision,
    LoadSample,
    decide,
    wake,
    worth_reporting,
)


@dataclass(frozen=True)
class ScalingStep:
    deployment: str
    decision: Decision
    report: bool  # a change, or a new reason worth an event


class Scaler:
    def __init__(self) -> None:
        self._states: dict[str, AutoscalerState] = {}
        self._last_desired: dict[str, int] = {}

    def tick(
        self,
        inventory: Inventory,
        snapshot: FleetSnapshot,
        desired: Mapping[str, int],
        now: float,
    ) -> list[ScalingStep]:
        steps = []
        for deployment in inventory.deployments:
            if deployment.autoscale is None and deployment.idle_timeout is None:
                continue
            seen = snapshot.deployment(deployment.name)
            if seen is None:
                continue
            current = desired.get(deployment.name, deployment.desired_replicas)
            state = self._states.get(deployment.name, AutoscalerState())
            if self._last_desired.get(deployment.name, current) <= 0 < current:
                # Started again by the user (fleetdeck start, the console): a fresh idle
                # clock, and no load readings from replicas that are gone.
                fixed = deployment.replicas if deployment.replicas is not None else 1
                state, _ = wake(
                    deployment.autoscale, state, now, current=current, fixed_replicas=fixed
                )
            metrics = seen.metrics
            sample = LoadSample(
                time=now,
                running=(metrics.running or 0.0) if metrics else 0.0,
                waiting=(metrics.waiting or 0.0) if metrics else 0.0,
                requests_total=metrics.requests_total if metrics else None,
                ready_replicas=seen.ready,
                current_desired=current,
            )
            previous = state.last_decision
            state, decision = decide(deployment.autoscale, deployment.idle_timeout, state, sample)
            self._states[deployment.name] = state
            self._last_desired[deployment.name] = decision.desired
            steps.append(
                ScalingStep(deployment.name, decision, worth_reporting(previous, decision))
            )
        return steps
