"""One host as the engine sees it: its transport, its host program, and its reachability."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fleetdeck.core.fleet.snapshot import HostState
from fleetdeck.core.inventory import Host
from fleetdeck.hosts.errors import HostError, HostUnreachable
from fleetdeck.hosts.host_program import HostProgram
from fleetdeck.hosts.local_transport import LocalTransport
from fleetdeck.hosts.observations import HostObservation
from fleetdeck.hosts.ssh_transport import SshTarget, SshTransport
from fleetdeck.hosts.transport import Transport
from fleetdeck.hosts.watch_asks import WatchAsks

SILENCE_INTERVALS = 3
SILENCE_MIN_S = 3.0
# A host found unreachable is not asked again for this long: one verb observes several
# times (checks, leases, plan), and each try at a hung host waits out connect_timeout.
RECHECK_AFTER_S = 10.0
# An ask over a watch channel that gets no answer in this long is given up on, and the
# host observed with an exec instead (which finds out whether it is reachable).
ASK_TIMEOUT_S = 5.0


def ssh_target(host: Host, ssh_config: tuple[Path, ...] | None = None) -> SshTarget:
    """How to reach `host` over SSH; `ssh_config` None reads ~/.ssh/config like ssh does."""
    return SshTarget(
        host_name=host.name,
        address=host.address or "",
        # Only a port the inventory names overrides ~/.ssh/config's Port for the address.
        port=host.port if "port" in host.model_fields_set else None,
        user=host.user,
        identity_file=host.identity_file,
        known_hosts=host.known_hosts,
        ssh_config=ssh_config,
        connect_timeout_s=host.connect_timeout,
        keepalive_interval_s=host.keepalive_interval,
        keepalive_count_max=host.keepalive_count,
    )


def silence_limit(interval_s: float) -> float:
    """How long a watch may go without an observation before its connection is probed:
    three intervals, and at least 3 s (an observation that reads nvidia-smi and probes
    each replica's /health can take a second or two)."""
    return max(SILENCE_MIN_S, SILENCE_INTERVALS * interval_s)


def make_transport(host: Host) -> Transport:
    if host.transport == "local":
        return LocalTransport(host.name)
    return SshTransport(ssh_target(host))


class HostSession:
    """Mutable only inside the engine; readers get HostSnapshot copies."""

    def __init__(self, host: Host, transport: Transport | None = None) -> None:
        self.host = host
        self.transport = transport or make_transport(host)
        simulate: dict[str, Any] | None = (
            host.simulate.model_dump() if host.simulate is not None else None
        )
        self.program = HostProgram(
            self.transport, state_dir=host.state_dir, python=host.python, simulate=simulate
        )
        self.state = HostState.CONNECTING
        self.error: HostError | None = None
        self.observation: HostObservation | None = None
        # The latest observation, kept while the host is unreachable: what it last ran.
        self.last_seen: HostObservation | None = None
        self._unreachable_at = 0.0  # time.monotonic() when last found unreachable
        # While a watch channel is open and has spoken: asks for an observation now.
        self._asks: WatchAsks | None = None

    @property
    def name(self) -> str:
        return self.host.name

    async def observe(self) -> HostObservation | None:
        """A fresh observation, or None (with `error` set) when the host cannot be reached;
        None at once while it was found unreachable less than RECHECK_AFTER_S ago (a
        watch, where one runs, reconnects on its own schedule)."""
        if (
            self.state is HostState.UNREACHABLE
            and time.monotonic() - self._unreachable_at < RECHECK_AFTER_S
        ):
            return None
        try:
            observation = await self.program.observe()
        except HostError as exc:
            self.mark_unreachable(exc)
            return None
        except asyncio.TimeoutError:
            self.mark_unreachable(
                HostUnreachable(
                    f"host {self.name} did not answer in time",
                    "the observe command timed out",
                    "fleetdeck retries; check the host's load",
                )
            )
            return None
        self.record(observation)
        return observation

    @property
    def watch_live(self) -> bool:
        """A watch channel is open to this host and has spoken: refresh asks over it."""
        return self._asks is not None

    async def observe_over_watch(self) -> bool:
        """A fresh observation over the open watch channel, one round trip, no exec:
        True once it is recorded; False when no watch is live here or it gave no answer
        (the caller observes with an exec instead)."""
        asks = self._asks
        if asks is None:
            return False
        try:
            await asyncio.wait_for(asks.ask(), ASK_TIMEOUT_S)
        except (HostError, asyncio.TimeoutError):
            return False
        return True

    async def watch(
        self, interval_s: float, detect_s: float = 0.0
    ) -> AsyncIterator[HostObservation]:
        """Observations as the host streams them, one per interval. Once it has spoken,
        silence longer than `silence_limit(interval_s)` has the transport probe the
        connection: a hung host (sshd stopped, machine frozen) is dropped within seconds
        rather than after the whole keepalive, and a merely slow one answers the probe."""
        loop = asyncio.get_running_loop()
        limit = silence_limit(interval_s)
        timer: asyncio.TimerHandle | None = None
        suspect = False

        def silent() -> None:
            nonlocal suspect
            suspect = True
            self.transport.probe(True)

        asks = WatchAsks()
        try:
            async for observation in self.program.watch(interval_s, detect_s, asks):
                self._asks = asks  # it has spoken: asks get answers now
                if timer is not None:
                    timer.cancel()
                if suspect:
                    suspect = False
                    self.transport.probe(False)
                timer = loop.call_later(limit, silent)
                self.record(observation)
                yield observation
        finally:
            if self._asks is asks:
                self._asks = None
            asks.abandon(HostError(f"the watch of {self.name} ended", "no answer to an ask"))
            if timer is not None:
                timer.cancel()
            if suspect:
                self.transport.probe(False)

    def record(self, observation: HostObservation) -> None:
        self.observation = observation
        self.last_seen = observation
        self.state = HostState.UP
        self.error = None

    def mark_unreachable(self, error: HostError) -> None:
        self._unreachable_at = time.monotonic()
        self.state = HostState.UNREACHABLE
        self.error = error
        self.observation = None

    def recheck_soon(self) -> None:
        """The next `observe` tries the host again at once (its key was just trusted)."""
        self._unreachable_at = 0.0

    async def close(self) -> None:
        await self.transport.close()
