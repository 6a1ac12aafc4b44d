"""The one interface every way of reaching a host implements (SSH, or this machine)."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str


def command_line(argv: Sequence[str]) -> str:
    """The line a remote shell runs for `argv`: every word single-quoted as needed, so the
    shell splits it back into exactly `argv` and expands nothing ($, `, ;, ~, globs).
    A NUL cannot be quoted (argv strings end at one), so it is refused here too."""
    if any("\0" in word for word in argv):
        raise ValueError("a command word holds a NUL byte; it cannot reach a host")
    return shlex.join(argv)


class Transport(Protocol):
    """Commands are argv lists; a transport quotes them itself (shlex) where a shell is involved."""

    host_name: str

    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None: ...

    async def run(
        self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float | None = None
    ) -> CommandResult: ...

    def stream_lines(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        more_stdin: asyncio.Queue[str] | None = None,
    ) -> AsyncIterator[str]:
        """Lines printed by a long-lived command, until it ends or the consumer stops.
        `stdin` is written and then closed; with `more_stdin` it stays open instead and
        each string put on that queue is written to it as it comes (a watch's asks)."""
        ...

    async def forward_port(self, remote_port: int, remote_host: str = "127.0.0.1") -> int:
        """A port on 127.0.0.1 here that reaches remote_host:remote_port as the host sees
        it; made on demand, reused for the same target, rebuilt after a reconnect. Ask
        again after a reconnect rather than keep the number: it may change."""
        ...

    def probe(self, suspect: bool) -> None:
        """`suspect` True: the host fell silent where output was due, so check the
        connection now and close it unless it answers within seconds (everything waiting
        on it then fails at once, instead of after the usual keepalive). False: it spoke
        again; back to the usual keepalive. A no-op where nothing can hang."""
        ...

    async def close(self) -> None:
        """Close the connection and every port forward on it."""
        ...
