"""A controller in charge elsewhere: watch it converge instead of fighting it.

When `fleetdeck run` (or an open console) holds a host's lease, a one-shot `apply`,
`scale`, `stop`, `start` or `restart` records its intent (the inventory, the overrides)
and does not act: the controller re-reads both on its next tick. With --wait the command
watches, without acting, until the fleet has converged.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from fleetdeck.core.control.converge import Converged, fleet_settled
from fleetdeck.core.engine.engine import Engine


async def watch_controller(
    engine: Engine,
    timeout_s: float,
    *,
    wait_ready: bool,
    take_over: Callable[[], Awaitable[bool]] | None = None,
) -> Converged | None:
    """Until nothing is left to do (and, with wait_ready, every replica is ready).

    `take_over` (a one-shot command's): while something is left to do, try to take every
    host's lease (all or none) after each look, at a jittered interval; None when it got
    them, and the caller then acts itself. So a command that waited for another one-shot
    command (which holds the leases only while it runs) carries on once that one ends.
    """
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
        if take_over is not None and await take_over():
            return None
        await asyncio.sleep(random.uniform(0.75, 1.25) if take_over else 1.0)
