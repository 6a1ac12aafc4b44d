"""One-shot commands and a controller in charge: hand over instead of fighting it.

When `fleetdeck run` (or an open console) holds a host's lease, `apply`, `scale`,
`stop`, `start` and `restart` do not act themselves: the controller re-reads the
inventory and the overrides on its next tick. With --wait they watch until the fleet
has converged; `down` refuses, because the controller would start the replicas again.
"""

from __future__ import annotations

import asyncio
import sys
import time

from fleetdeck.core.commands.exit_codes import DONE, FAILED, PARTIAL
from fleetdeck.core.control.reconcile import lease_for_one_shot
from fleetdeck.core.engine.engine import Engine


async def controller_in_charge(engine: Engine) -> list[str]:
    """Hosts held by another controller (after a refresh); empty: this process may act."""
    await engine.refresh()
    return await lease_for_one_shot(engine)


def say_handed_over(others: list[str]) -> None:
    print(
        "another controller is in charge of "
        + ", ".join(others)
        + ": it applies the inventory and overrides itself on its next tick",
        file=sys.stderr,
    )


async def wait_for_controller(engine: Engine, timeout_s: float) -> int:
    """Watch (without acting) until nothing is left to do and every replica is ready."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        snapshot = await engine.refresh()
        engine.reload_overrides()
        plan = engine.plan()
        if not plan.actions and all(d.ready >= d.desired for d in snapshot.deployments):
            return PARTIAL if engine.unreachable_hosts else DONE
        await asyncio.sleep(1.0)
    print("timed out waiting for the controller in charge", file=sys.stderr)
    return FAILED
