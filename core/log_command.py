"""`fleetdeck logs FILE DEPLOYMENT[/REPLICA]`: print (and follow) a replica's log."""

from __future__ import annotations

import sys

from .engine import Engine
from .errors import FleetdeckError
from .exit_codes import DONE


async def show_logs(engine: Engine, target: str, *, tail: int, follow: bool) -> int:
    deployment, _, replica = target.partition("/")
    snapshot = await engine.refresh()
    found = snapshot.deployment(deployment)
    if found is None or not found.replicas:
        raise FleetdeckError(
            f"no replica of {deployment!r} is known",
            "it has never been applied, or its hosts are unreachable",
            "run `fleetdeck status FILE` to see what runs",
        )
    candidates = [r for r in found.replicas if not replica or r.id == target]
    if not candidates:
        names = ", ".join(r.id for r in found.replicas)
        raise FleetdeckError(f"no replica {target!r}", f"known: {names}", "pick one of those")
    chosen = candidates[0]
    if len(found.replicas) > 1 and not replica:
        print(f"(showing {chosen.id}; name a replica as DEPLOYMENT/REPLICA)", file=sys.stderr)
    program = engine.sessions[chosen.host].program
    async for line in program.logs(
        deployment, chosen.id.split("/", 1)[1], tail=tail, follow=follow
    ):
        print(line.text, flush=True)
    return DONE
