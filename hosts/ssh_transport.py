"""SSH transport: one asyncssh connection per host, many channels on it.

Host keys are always verified against the configured known_hosts file; nothing here ever
adds a key to it. Agent forwarding is off. Commands are argv lists joined with
shlex.join, so every part is quoted for the remote shell.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from .errors import AuthenticationRejected, HostKeyRejected, HostUnreachable
from .transport import CommandResult

# sshd's default MaxSessions is 10; keep a margin for forwards and a human's ssh -O.
MAX_CHANNELS = 8


@dataclass(frozen=True)
class SshTarget:
    host_name: str  # the inventory's name, for messages
    address: str
    port: int = 22
    user: str | None = None
    identity_file: Path | None = None
    known_hosts: Path | None = None
    connect_timeout_s: float = 10.0
    keepalive_interval_s: float = 15.0
    keepalive_count_max: int = 3


class SshTransport:
    def __init__(self, target: SshTarget) -> None:
        self.target = target
        self.host_name = target.host_name
        self._conn: asyncssh.SSHClientConnection | None = None
        self._channels = asyncio.Semaphore(MAX_CHANNELS)
        self._connect_lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def connect(self) -> None:
        async with self._connect_lock:
            if self.connected:
                return
            self._conn = await self._open()

    async def _open(self) -> asyncssh.SSHClientConnection:
        t = self.target
        options: dict[str, Any] = {
            "port": t.port,
            "agent_forwarding": False,
            "keepalive_interval": t.keepalive_interval_s,
            "keepalive_count_max": t.keepalive_count_max,
            "connect_timeout": t.connect_timeout_s,
        }
        if t.user:
            options["username"] = t.user
        if t.identity_file is not None:
            options["client_keys"] = [str(t.identity_file)]
        if t.known_hosts is not None:
            if not t.known_hosts.exists():
                raise HostKeyRejected(
                    f"host {t.host_name} cannot be verified",
                    f"known_hosts file {t.known_hosts} does not exist",
                    f"create it, or run `fleetdeck trust FILE {t.host_name}` after checking "
                    "the host's key",
                    None,
                )
            options["known_hosts"] = str(t.known_hosts)
        try:
            return await asyncssh.connect(t.address, **options)
        except asyncssh.HostKeyNotVerifiable as exc:
            fingerprint = await self._fingerprint()
            raise HostKeyRejected(
                f"host {t.host_name} ({t.address}:{t.port}) presented a key that "
                f"{t.known_hosts or 'known_hosts'} does not vouch for",
                f"{exc.reason}; its key is {fingerprint or 'unavailable'}",
                f"check that fingerprint with the host's owner, then run "
                f"`fleetdeck trust FILE {t.host_name}`",
                fingerprint,
            ) from exc
        except asyncssh.PermissionDenied as exc:
            key = t.identity_file or "your default keys and agent"
            raise AuthenticationRejected(
                f"host {t.host_name} refused the key {key}",
                exc.reason,
                "add it with ssh-copy-id, or set identity_file / user in the inventory",
            ) from exc
        except (OSError, asyncio.TimeoutError, asyncssh.Error) as exc:
            raise HostUnreachable(
                f"host {t.host_name} ({t.address}:{t.port}) is unreachable",
                str(exc) or type(exc).__name__,
                "check the address and port, and that sshd runs there",
            ) from exc

    async def _fingerprint(self) -> str | None:
        try:
            key = await asyncio.wait_for(
                asyncssh.get_server_host_key(self.target.address, self.target.port),
                self.target.connect_timeout_s,
            )
        except (OSError, asyncio.TimeoutError, asyncssh.Error):
            return None
        return key.get_fingerprint("sha256") if key is not None else None

    def _connection(self) -> asyncssh.SSHClientConnection:
        if self._conn is None or self._conn.is_closed():
            raise HostUnreachable(
                f"host {self.host_name} is not connected", "", "wait for the reconnect"
            )
        return self._conn

    async def run(
        self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float | None = None
    ) -> CommandResult:
        await self.connect()
        conn = self._connection()
        async with self._channels:
            try:
                result = await conn.run(
                    shlex.join(argv), input=stdin, encoding=None, check=False, timeout=timeout
                )
            except asyncssh.TimeoutError as exc:
                raise asyncio.TimeoutError(str(exc)) from exc
            except (asyncssh.ChannelOpenError, asyncssh.DisconnectError, OSError) as exc:
                raise HostUnreachable(
                    f"lost host {self.host_name}", str(exc), "fleetdeck reconnects by itself"
                ) from exc
        status = result.exit_status if result.exit_status is not None else 255
        return CommandResult(status, _text(result.stdout), _text(result.stderr))

    async def stream_lines(
        self, argv: Sequence[str], *, stdin: bytes | None = None
    ) -> AsyncIterator[str]:
        await self.connect()
        conn = self._connection()
        async with self._channels:
            try:
                process = await conn.create_process(shlex.join(argv), encoding="utf-8")
            except (asyncssh.ChannelOpenError, asyncssh.DisconnectError, OSError) as exc:
                raise HostUnreachable(
                    f"lost host {self.host_name}", str(exc), "fleetdeck reconnects by itself"
                ) from exc
            try:
                if stdin:
                    process.stdin.write(stdin.decode())
                process.stdin.write_eof()
                async for line in process.stdout:
                    if line:  # asyncssh yields "" at EOF; a blank line arrives as "\n"
                        yield line.rstrip("\n")
            except (asyncssh.DisconnectError, OSError) as exc:
                raise HostUnreachable(
                    f"lost host {self.host_name}", str(exc), "fleetdeck reconnects by itself"
                ) from exc
            finally:
                process.close()

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
            self._conn = None


def _text(data: object) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return "" if data is None else str(data)
