"""`logs`: find a replica's host and follow its log there, as the console and CLI do.

The follower (hosts/log_follower.py) resumes from the last offset after a dropped
connection; a replica keeps its id and its log across the supervisor's restarts, so a
crash-restart shows up as the next run's lines in the same stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.errors import FleetdeckError, UsageError
from fleetdeck.core.fleet.snapshot import HostState
from fleetdeck.hosts.log_follower import LogFollower, StreamBroken


async def follow_replica_log(
    engine: Engine,
    replica_id: str,
    *,
    tail: int,
    follow: bool,
    on_break: Callable[[StreamBroken], None] | None,
) -> AsyncIterator[str]:
    deployment, _, replica = replica_id.partition("/")
    host = await _host_of(engine, replica_id)
    follower = LogFollower(
        engine.sessions[host].program,
        deployment,
        replica,
        tail=tail,
        keep_lines=0,  # the screen or the terminal keeps the lines
        on_break=on_break,
    )
    async for line in follower.follow() if follow else follower.read():
        yield line.text


async def resolve_replica(engine: Engine, target: str) -> tuple[str, tuple[str, ...]]:
    """DEPLOYMENT or DEPLOYMENT/REPLICA -> (a replica id, every replica id of it)."""
    deployment, _, replica = target.partition("/")
    snapshot = await engine.refresh()
    found = snapshot.deployment(deployment)
    if found is None or not found.replicas:
        unreachable = [h.name for h in snapshot.hosts if h.state is not HostState.UP]
        if unreachable:  # it may run there: an operation failed, not the request
            raise FleetdeckError(
                f"no replica of {deployment!r} is known",
                f"it has never been applied, or it runs on {', '.join(unreachable)},"
                " which did not answer",
                "run `fleetdeck status FILE` to see what runs",
            )
        what = f"no replica {target!r}" if replica else f"no replica of {deployment!r}"
        raise UsageError(
            f"{what} is known",
            f"every host answered and none runs a replica of {deployment!r}",
            f"run `fleetdeck apply FILE` or `fleetdeck start FILE {deployment}` first;"
            " `fleetdeck status FILE` shows what runs",
        )
    ids = tuple(r.id for r in found.replicas)
    if replica and target not in ids:
        raise UsageError(f"no replica {target!r}", f"known: {', '.join(ids)}", "pick one")
    return (target if replica else ids[0]), ids


async def _host_of(engine: Engine, replica_id: str) -> str:
    for snapshot in (engine.snapshot(), await engine.refresh()):
        deployment = snapshot.deployment(replica_id.partition("/")[0])
        for replica in deployment.replicas if deployment else ():
            if replica.id == replica_id:
                return replica.host
    raise FleetdeckError(
        f"no replica {replica_id} is known",
        "no reachable host reports it",
        "run `fleetdeck status FILE` to see what runs",
    )
