"""A transport for hosts that are this machine: plain subprocesses, no sshd."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from fleetdeck.hosts.errors import HostUnreachable
from fleetdeck.hosts.transport import CommandResult

# An observation of many failing replicas (each with its log tail) is one long JSON
# line; asyncio's default 64 KiB reader limit would break the stream on it.
STREAM_LINE_LIMIT = 16 * 1024 * 1024


class LocalTransport:
    def __init__(self, host_name: str) -> None:
        self.host_name = host_name
        self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        self._connected = True

    async def run(
        self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float | None = None
    ) -> CommandResult:
        process = await self._spawn(argv)
        try:
            out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
            raise
        return CommandResult(
            process.returncode if process.returncode is not None else -1,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
        )

    async def stream_lines(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        more_stdin: asyncio.Queue[str] | None = None,
    ) -> AsyncIterator[str]:
        process = await self._spawn(argv)
        assert process.stdin is not None and process.stdout is not None
        if stdin:
            process.stdin.write(stdin)
            await process.stdin.drain()
        feeding: asyncio.Task[None] | None = None
        if more_stdin is None:
            process.stdin.close()
        else:
            feeding = asyncio.create_task(_feed(process.stdin, more_stdin))
        try:
            while line := await process.stdout.readline():
                yield line.decode("utf-8", "replace").rstrip("\n")
        finally:
            if feeding is not None:
                feeding.cancel()
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()

    async def forward_port(self, remote_port: int, remote_host: str = "127.0.0.1") -> int:
        # The host is this machine: its 127.0.0.1 is ours, nothing to forward.
        return remote_port

    def probe(self, suspect: bool) -> None:
        pass  # no connection to check: a subprocess that stalls is the host program's own

    async def close(self) -> None:
        self._connected = False

    async def _spawn(self, argv: Sequence[str]) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=STREAM_LINE_LIMIT,
            )
        except OSError as exc:
            raise HostUnreachable(
                f"cannot run {argv[0]} on {self.host_name}", str(exc), "check the host's python"
            ) from exc


async def _feed(stdin: asyncio.StreamWriter, more: asyncio.Queue[str]) -> None:
    """Write what is put on `more` to a long-lived command's stdin, until cancelled."""
    while True:
        stdin.write((await more.get()).encode())
        await stdin.drain()
