"""Local port forwards over one host's SSH connection, one per remote target.

Replicas listen on 127.0.0.1 on their host (their /metrics and /health have no auth),
so the console reaches them through forwards: a listener on 127.0.0.1 here whose every
accepted socket becomes a direct-tcpip channel to the target. Forwards are not sessions,
so they do not count against sshd's MaxSessions.

A forward belongs to the connection it was made on; when that connection is replaced
the forward is rebuilt on the new one, on the same local port when it is still free,
so a reader that kept the port number keeps working.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import asyncssh

LISTEN_HOST = "127.0.0.1"
Target = tuple[str, int]  # (remote host as the SSH host sees it, remote port)


@dataclass
class _Forward:
    connection: asyncssh.SSHClientConnection
    listener: asyncssh.SSHListener
    local_port: int


class PortForwards:
    def __init__(self) -> None:
        self._forwards: dict[Target, _Forward] = {}
        self._lock = asyncio.Lock()  # two callers asking for one target get one listener

    async def local_port(
        self, connection: asyncssh.SSHClientConnection, remote_host: str, remote_port: int
    ) -> int:
        """The local port reaching the target over `connection`, made if need be."""
        async with self._lock:
            return await self._ensure(connection, (remote_host, remote_port))

    async def rebuild(self, connection: asyncssh.SSHClientConnection) -> None:
        """Move every forward onto a new connection (after a reconnect); best effort."""
        async with self._lock:
            for target in list(self._forwards):
                try:
                    await self._ensure(connection, target)
                except (OSError, asyncssh.Error):
                    self._drop(target)  # made again on demand by the next local_port()

    def close(self) -> None:
        for target in list(self._forwards):
            self._drop(target)

    async def _ensure(self, connection: asyncssh.SSHClientConnection, target: Target) -> int:
        current = self._forwards.get(target)
        if current is not None and current.connection is connection:
            return current.local_port
        preferred = 0
        if current is not None:
            preferred = current.local_port
            self._drop(target)
        listener = await _listen(connection, target, preferred)
        forward = _Forward(connection, listener, listener.get_port())
        self._forwards[target] = forward
        return forward.local_port

    def _drop(self, target: Target) -> None:
        forward = self._forwards.pop(target, None)
        if forward is not None:
            forward.listener.close()


async def _listen(
    connection: asyncssh.SSHClientConnection, target: Target, preferred: int
) -> asyncssh.SSHListener:
    remote_host, remote_port = target
    if preferred:
        # The old port may have been taken meanwhile; then any free port will do.
        with contextlib.suppress(OSError):
            return await connection.forward_local_port(
                LISTEN_HOST, preferred, remote_host, remote_port
            )
    return await connection.forward_local_port(LISTEN_HOST, 0, remote_host, remote_port)
