"""Host leases: one controller acts on a fleet at a time.

A controller (`fleetdeck run`, an open console) renews a lease on every reachable host
each tick; a one-shot command (apply, scale, down, ...) takes them while it acts. The
holder names user, machine and pid, so a lease left by a process killed with -9 on this
machine is taken over at once instead of after its expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import socket
from dataclasses import dataclass
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


@dataclass(frozen=True)
class LeaseRefusal:
    """A host whose lease another process holds (its holder, when the host said)."""

    host: str
    holder: str | None

    def __str__(self) -> str:
        return f"{self.host} (held by {self.holder})"

    def describe_holder(self) -> str:
        """user@machine/id:pid as "user@machine/id:pid (pid N on machine M)"."""
        if self.holder is None:
            return "another controller"
        who, _, pid = self.holder.rpartition(":")
        machine = who.partition("@")[2].partition("/")[0]
        if not pid.isdigit() or not machine:
            return self.holder
        return f"{self.holder} (pid {pid} on machine {machine})"


async def take_leases(
    engine: Engine, holder: str, ttl_s: float = LEASE_TTL_S
) -> list[LeaseRefusal]:
    """Take or renew every reachable host's lease, all or none; who refused us.

    In one global order, so two processes never split the hosts between them and wait
    for each other: the first reachable host by name first, and only once it is ours the
    rest (at once). When any host refuses, every lease this holder has is released
    before returning: a process never holds some hosts while waiting for others.
    """
    names = sorted(n for n, s in engine.sessions.items() if s.observation)
    if not names:
        return []

    taken: list[str] = []

    async def take(name: str) -> LeaseRefusal | None:
        session = engine.sessions[name]
        try:
            reply = await session.program.take_lease(holder, ttl_s)
            current = reply.lease.holder if reply.lease else None
            if not reply.acquired and current and holder_is_dead(current):
                reply = await session.program.take_lease(holder, ttl_s, stale_holder=current)
        except (HostError, asyncio.TimeoutError):
            return None  # unreachable or hung: its replicas are left alone anyway
        if reply.acquired:
            taken.append(name)
            return None
        return LeaseRefusal(name, reply.lease.holder if reply.lease else None)

    others: list[LeaseRefusal] = []
    rest = list(names)
    while rest and not taken and not others:  # one by one until the first is ours
        refused = await take(rest.pop(0))
        others += [refused] if refused else []
    if not others:
        others = [r for r in await asyncio.gather(*(take(n) for n in rest)) if r]
    if others:
        await _release(engine, holder, taken)
    return others


async def _release(engine: Engine, holder: str, names: list[str]) -> None:
    async def release(name: str) -> None:
        with contextlib.suppress(HostError, asyncio.TimeoutError):
            await engine.sessions[name].program.take_lease(holder, 0)

    await asyncio.gather(*(release(n) for n in names))


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


async def lease_for_one_shot(engine: Engine, ttl_s: float = LEASE_TTL_S) -> list[LeaseRefusal]:
    """A one-shot command (apply, scale, down...) holds the leases while it acts.

    Returns the hosts held by another controller (then nothing was taken and the caller
    must not act); an empty list means this process now holds every reachable host.
    """
    return await take_leases(engine, controller_identity(), ttl_s)


async def release_one_shot(engine: Engine) -> None:
    await release_leases(engine, controller_identity())
