"""A watched host that falls silent has its connection probed (HostSession.watch), and a
host found unreachable is not tried again at once (HostSession.observe)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from fleetdeck.core.engine import host_session
from fleetdeck.core.engine.host_session import HostSession, silence_limit
from fleetdeck.core.fleet.snapshot import HostState
from fleetdeck.core.inventory import Host
from fleetdeck.hosts.errors import HostUnreachable
from fleetdeck.hosts.remote.protocol import HostLoad, HostObservation, encode
from fleetdeck.hosts.transport import CommandResult

LINE = encode(HostObservation(0.0, (), (), "none", HostLoad(None, None, None, None)))


class SilentHost:
    """A Transport whose watch prints a line only when the test puts one."""

    host_name = "gpu-7"
    connected = True

    def __init__(self) -> None:
        self.lines: asyncio.Queue[str] = asyncio.Queue()
        self.probes: list[bool] = []
        self.runs = 0

    async def connect(self) -> None:
        pass

    async def run(
        self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float | None = None
    ) -> CommandResult:
        if argv[1:3] == ["-S", "-c"] and len(argv) == 7:  # the bootstrap with no command installs
            return CommandResult(0, "/state/.bin/program.pyz\n", "")
        self.runs += 1
        raise HostUnreachable("host gpu-7 is unreachable", "no SSH answer", "check it")

    async def stream_lines(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        more_stdin: asyncio.Queue[str] | None = None,
    ) -> AsyncIterator[str]:
        while True:
            yield await self.lines.get()

    async def forward_port(self, remote_port: int, remote_host: str = "127.0.0.1") -> int:
        return remote_port

    def probe(self, suspect: bool) -> None:
        self.probes.append(suspect)

    async def close(self) -> None:
        pass


def session(transport: SilentHost) -> HostSession:
    return HostSession(Host(name="gpu-7", address="gpu-7.example"), transport=transport)


def test_the_silence_limit_is_three_intervals_and_at_least_three_seconds() -> None:
    assert silence_limit(1.0) == 3.0
    assert silence_limit(0.2) == 3.0
    assert silence_limit(2.0) == 6.0


async def test_silence_probes_the_connection_and_the_next_observation_relaxes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(host_session, "SILENCE_MIN_S", 0.2)
    transport = SilentHost()
    stream = session(transport).watch(0.05)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.35)
    assert transport.probes == [], "not before the host first spoke"
    transport.lines.put_nowait(LINE)
    await first
    await asyncio.sleep(0.1)
    assert transport.probes == []
    await asyncio.sleep(0.25)
    assert transport.probes == [True]
    transport.lines.put_nowait(LINE)
    await anext(stream)
    assert transport.probes == [True, False]
    await stream.aclose()  # type: ignore[attr-defined]
    assert transport.probes == [True, False]


async def test_a_host_found_unreachable_is_not_tried_again_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    transport = SilentHost()
    watched = session(transport)
    assert await watched.observe() is None
    assert watched.state is HostState.UNREACHABLE and transport.runs == 1
    assert await watched.observe() is None
    assert transport.runs == 1, "its error stands for RECHECK_AFTER_S"
    monkeypatch.setattr(host_session, "RECHECK_AFTER_S", 0.0)
    assert await watched.observe() is None
    assert transport.runs == 2


class KeepaliveRecorder:
    """Stands in for an asyncssh connection: records what keepalive it is given."""

    def __init__(self) -> None:
        self.settings: list[tuple[float, int]] = []

    def is_closed(self) -> bool:
        return False

    def set_keepalive(self, interval: float, count_max: int) -> None:
        self.settings.append((interval, count_max))


def probed(interval_s: float, count_max: int) -> tuple[float, int]:
    from fleetdeck.hosts.ssh_transport import SshTarget, SshTransport

    transport = SshTransport(
        SshTarget("h", "127.0.0.2", keepalive_interval_s=interval_s, keepalive_count_max=count_max)
    )
    conn = KeepaliveRecorder()
    transport._conn = conn  # type: ignore[assignment]
    transport.probe(True)
    transport.probe(False)
    assert conn.settings[1] == (interval_s, count_max), "the next observation restores it"
    return conn.settings[0]


def test_a_probe_tightens_the_keepalive_and_never_loosens_it() -> None:
    # The defaults (5 s x 3: 20 s of silence) become a keepalive a second, 5 s of silence.
    assert probed(5.0, 3) == (1.0, 4)
    # An inventory already tighter than the probe keeps its own window: 1 s x 2, 3 s.
    assert probed(1.0, 2) == (1.0, 2)
    # A sub-second keepalive is not slowed down to a second either.
    interval, count = probed(0.5, 1)
    assert interval == 0.5 and (count + 1) * interval <= 1.0
