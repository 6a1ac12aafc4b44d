"""A controller in charge elsewhere: watch it converge instead of fighting it.

When `fleetdeck run` (or an open console) holds a host's lease, a one-shot `apply`,
`scale`, `stop`, `start` or `restart` records its intent (the inventory, the overrides)
and does not act: the controller re-reads both on its next tick. With --wait the command
watches, without acting, until the fleet has converged.
"""

from __future__ import annotations

import asyncio
import time

from fleetdeck.core.control.converge import Converged, fleet_settled
from fleetdeck.core.engine.engine import Engine


async def watch_controller(engine: Engine, timeout_s: float, *, wait_ready: bool) -> Converged:
    """Until nothing is left to do (and, with wait_ready, every replica is ready)."""
    deadline = time.monotonic() + timeout_s
    while True:
        snapshot = await engine.refresh()
        engine.desired.reload()
        plan = engine.plan()
        ready = fleet_settled(snapshot)
        if not plan.actions and (ready or not wait_ready):
            partial = bool(engine.unreachable_hosts)
            return Converged(True, "ready" if ready else "converged", (), snapshot, partial)
        if time.monotonic() >= deadline:
            return Converged(False, "timed out waiting for the controller in charge", (), snapshot)
        await asyncio.sleep(1.0)
