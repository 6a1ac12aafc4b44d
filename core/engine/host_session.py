"""One host as the engine sees it: its transport, its host program, and its reachability."""

from __future__ import annotations

import asyncio
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

    @property
    def name(self) -> str:
        return self.host.name

    async def observe(self) -> HostObservation | None:
        """A fresh observation, or None (with `error` set) when the host cannot be reached."""
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

    async def watch(self, interval_s: float) -> AsyncIterator[HostObservation]:
        async for observation in self.program.watch(interval_s):
            self.record(observation)
            yield observation

    def record(self, observation: HostObservation) -> None:
        self.observation = observation
        self.last_seen = observation
        self.state = HostState.UP
        self.error = None

    def mark_unreachable(self, error: HostError) -> None:
        self.state = HostState.UNREACHABLE
        self.error = error
        self.observation = None

    async def close(self) -> None:
        await self.transport.close()
