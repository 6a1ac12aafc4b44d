"""Idle shutdown: how long a deployment has gone without requests, and where it goes then.

Pure and immutable like the autoscaler that carries it; time is always passed in.

What counts as activity (any one of these restarts the idle clock):
- the deployment's finished-request counter moved since the last reading, up or down. A
  counter that goes down is a replica that restarted (or left the sum), and that is
  activity, never idleness. The first reading only sets the baseline, so a console that
  starts late does not count requests served before it was watching; a missing reading
  (None) neither counts nor moves the baseline;
- requests in flight (running + waiting > 0): a long generation is not idleness;
- no replica ready: a deployment that cannot serve is loading or stopped, not idle, so the
  clock only runs while at least one replica is ready. This also means that a deployment
  woken from zero is never stopped again before its replicas have loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetdeck.core.fleet.snapshot import DeploymentCost
from fleetdeck.core.inventory.models import Autoscale


@dataclass(frozen=True)
class IdleClock:
    """When the deployment was last seen busy (or unable to serve), and the last counter."""

    last_activity: float | None = None  # None until the first reading
    last_requests_total: float | None = None

    def observe(
        self, now: float, requests_total: float | None, in_flight: float, ready_replicas: int
    ) -> IdleClock:
        """The clock after one reading at `now`."""
        busy = self.busy(requests_total, in_flight, ready_replicas)
        first = self.last_activity is None
        return IdleClock(
            last_activity=now if busy or first else self.last_activity,
            last_requests_total=(
                requests_total if requests_total is not None else self.last_requests_total
            ),
        )

    def busy(self, requests_total: float | None, in_flight: float, ready_replicas: int) -> bool:
        """Whether a reading is activity (see the module docstring); cost accounting
        (core/metrics/cost.py) counts GPU-hours as idle by this same test."""
        counter_moved = (
            requests_total is not None
            and self.last_requests_total is not None
            and requests_total != self.last_requests_total
        )
        return counter_moved or in_flight > 0 or ready_replicas <= 0

    def idle_for(self, now: float) -> float:
        """Seconds since the last activity (0 before the first reading)."""
        if self.last_activity is None:
            return 0.0
        return max(0.0, now - self.last_activity)

    def restarted(self, now: float) -> IdleClock:
        """A fresh clock from `now`, with no counter baseline (after a wake: new replicas)."""
        return IdleClock(last_activity=now, last_requests_total=None)


def idle_floor(autoscale: Autoscale | None) -> int:
    """Where idle shutdown takes a deployment: autoscale.min (may be 0), or 0 without one."""
    return autoscale.min if autoscale is not None else 0


def wake_target(autoscale: Autoscale | None, fixed_replicas: int) -> int:
    """Replicas a woken deployment returns to: max(autoscale.min, 1), or its fixed count.

    At least one, since waking to zero would wake nothing; the autoscaler takes it from
    there once a replica is ready and can measure load.
    """
    if autoscale is not None:
        return max(autoscale.min, 1)
    return max(fixed_replicas, 1)


def idle_savings(cost: DeploymentCost | None, stopping: int) -> str:
    """What an idle shutdown that stops `stopping` replicas stops spending, for its event:
    "stops 2 replicas, saves 2 GPU·h/h = 4.20 USD/h".

    From what the deployment holds now (`cost`, the snapshot's). Stopping all of them is
    exact; stopping some is that share of the whole ("about"), since the planner picks
    which ones and their hosts' prices may differ.
    """
    replicas = f"{stopping} replica{'' if stopping == 1 else 's'}"
    if cost is None or cost.replicas_holding <= 0:
        return f"stops {replicas}"
    share = min(stopping, cost.replicas_holding) / cost.replicas_holding
    about = "" if share >= 1 else "about "
    gpus = cost.gpus_held * share
    if gpus <= 0:
        return f"stops {replicas}, holding no GPU"
    saves = f"stops {replicas}, saves {about}{_figure(gpus)} GPU·h/h"
    if cost.price_per_hour is None:
        return f"{saves} (no gpu_hour_price on its hosts)"
    return f"{saves} = {cost.price_per_hour * share:.2f} {cost.currency}/h"


def _figure(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"
