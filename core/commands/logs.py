"""`fleetdeck logs FILE DEPLOYMENT[/REPLICA]`: print (and follow) a replica's log.

With -f the log is followed through LogFollower: when the host drops, the command says
so on stderr, reconnects with backoff and carries on from the last line printed, so the
output has no gap and no repeat.
"""

from __future__ import annotations

import sys

from fleetdeck.core.commands.exit_codes import DONE
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.errors import FleetdeckError
from fleetdeck.hosts.log_follower import LogFollower, StreamBroken


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
    # keep_lines=0: the terminal keeps the lines, the follower keeps only the offset.
    follower = LogFollower(
        program,
        deployment,
        chosen.id.split("/", 1)[1],
        tail=tail,
        keep_lines=0,
        on_break=lambda broken: _say_reconnecting(chosen.host, broken),
    )
    lines = follower.follow() if follow else follower.read()
    async for line in lines:
        print(line.text, flush=True)
    return DONE


def _say_reconnecting(host: str, broken: StreamBroken) -> None:
    print(
        f"(lost the log stream from {host}: {broken.reason}; "
        f"resuming in {broken.retry_in_s:.1f} s)",
        file=sys.stderr,
        flush=True,
    )
