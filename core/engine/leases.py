"""Host leases: one controller acts on a fleet at a time.

A controller (`fleetdeck run`, an open console) renews a lease on every reachable host
each tick; a one-shot command (apply, scale, down, ...) takes them while it acts. The
holder names user, machine and pid, so a lease left by a process killed with -9 on this
machine is taken over at once instead of after its expiry.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import socket
from pathlib import Path

from fleetdeck.core.engine.engine import Engine
from fleetdeck.hosts.errors import HostError

# Renewed every tick; longer than one apply can take (a drain, a stop's grace, a kill).
LEASE_TTL_S = 120.0


def controller_identity() -> str:
    """user@machine:pid: who holds a lease, and (on this machine) whether it still lives."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}/{machine_id()}:{os.getpid()}"


def machine_id() -> str:
    """Tells two machines apart even when they share a hostname (containers, clones)."""
    for path in ("/etc/machine-id", "/proc/sys/kernel/random/boot_id"):
        try:
            text = Path(path).read_text().strip().replace("-", "")
        except OSError:
            continue
        if text:
            return text[:12]
    return "unknown"


def holder_is_dead(holder: str) -> bool:
    """A holder on this machine whose process is gone (a console killed with -9)."""
    who, _, pid_text = holder.rpartition(":")
    if who.partition("@")[2] != f"{socket.gethostname()}/{machine_id()}":
        return False  # another machine's process: only its lease expiry can tell
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def take_leases(engine: Engine, holder: str, ttl_s: float = LEASE_TTL_S) -> list[str]:
    """Take or renew every reachable host's lease; the holders that refused us."""
    others: list[str] = []

    async def take(name: str) -> None:
        session = engine.sessions[name]
        try:
            reply = await session.program.take_lease(holder, ttl_s)
            current = reply.lease.holder if reply.lease else None
            if not reply.acquired and current and holder_is_dead(current):
                reply = await session.program.take_lease(holder, ttl_s, stale_holder=current)
        except (HostError, asyncio.TimeoutError):
            return  # unreachable or hung: its replicas are left alone anyway
        if not reply.acquired:
            others.append(f"{name} (held by {reply.lease.holder if reply.lease else None})")

    await asyncio.gather(*(take(n) for n, s in engine.sessions.items() if s.observation))
    return others


async def release_leases(engine: Engine, holder: str) -> None:
    """Give back our lease on every reachable host; an unreachable one was not taken
    (take_leases skips it), and trying it would wait out a connect timeout."""
    for session in engine.sessions.values():
        if session.observation is None:
            continue
        try:
            await session.program.take_lease(holder, 0)
        except (HostError, asyncio.TimeoutError):
            continue


async def lease_for_one_shot(engine: Engine, ttl_s: float = LEASE_TTL_S) -> list[str]:
    """A one-shot command (apply, scale, down...) holds the leases while it acts.

    Returns the hosts held by another controller (then nothing was taken and the caller
    must not act); an empty list means this process now holds every reachable host.
    """
    holder = controller_identity()
    others = await take_leases(engine, holder, ttl_s)
    if others:
        await release_leases(engine, holder)
    return others


async def release_one_shot(engine: Engine) -> None:
    await release_leases(engine, controller_identity())
