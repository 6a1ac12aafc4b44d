"""SSH transport: one asyncssh connection per host, many channels on it.

Host keys are always verified against the configured known_hosts file; nothing here ever
adds a key to it (`fleetdeck trust` does, through hosts.known_hosts). Agent forwarding
is off. Commands are argv lists joined by transport.command_line (shlex), so every part
is quoted for the remote shell.

~/.ssh/config is read the way `ssh ADDRESS` reads it (asyncssh's default): HostName,
User, Port, IdentityFile, ProxyJump and HostKeyAlias apply when the inventory leaves them
out, and an inventory value always wins. Keepalives detect a dead peer (a paused or
unplugged host never closes its side); the connection is then closed, and the next call
opens a new one rather than reuse it. A caller that expected output and got none can
`probe()` the connection: a keepalive each second, closed after 5 s without an answer.
Retrying on a schedule is the caller's business (the engine's watch loop backs off with
jitter, hosts/backoff.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from fleetdeck.hosts.errors import AuthenticationRejected, HostError, HostUnreachable
from fleetdeck.hosts.known_hosts import key_refusal
from fleetdeck.hosts.port_forwards import PortForwards
from fleetdeck.hosts.transport import CommandResult, command_line

# sshd's default MaxSessions is 10; keep a margin for a human's ssh -O and the like.
MAX_CHANNELS = 8
# While a host is suspect (probe): a keepalive each second, the connection closed when
# PROBE_COUNT_MAX go unanswered, i.e. after (PROBE_COUNT_MAX + 1) s of silence. 5 s, not
# less: sshd answers a keepalive itself, but a host whose CPUs a CPU-only vLLM saturates
# must not be dropped for a slow answer (the e2e test runs one on 2 cores).
PROBE_INTERVAL_S = 1.0
PROBE_COUNT_MAX = 4


@dataclass(frozen=True)
class SshTarget:
    host_name: str  # the inventory's name, for messages
    address: str  # an address, a DNS name or a ~/.ssh/config Host alias
    port: int | None = None  # None: ~/.ssh/config's Port, else 22
    user: str | None = None
    identity_file: Path | None = None
    known_hosts: Path | None = None
    ssh_config: tuple[Path, ...] | None = None  # None: ~/.ssh/config when readable
    connect_timeout_s: float = 10.0
    # asyncssh closes a connection silent for (count_max + 1) x interval: 20 s here.
    keepalive_interval_s: float = 5.0
    keepalive_count_max: int = 3

    def connect_options(self) -> dict[str, Any]:
        """asyncssh.connect keyword arguments, less known_hosts (see SshTransport._open)."""
        options: dict[str, Any] = {
            "host": self.address,
            "agent_forwarding": False,  # also overrides a ForwardAgent in ~/.ssh/config
            "keepalive_interval": self.keepalive_interval_s,
            "keepalive_count_max": self.keepalive_count_max,
            "connect_timeout": self.connect_timeout_s,
        }
        if self.port is not None:
            options["port"] = self.port
        if self.user:
            options["username"] = self.user
        if self.identity_file is not None:
            options["client_keys"] = [str(self.identity_file)]
        if self.ssh_config is not None:
            options["config"] = [str(path) for path in self.ssh_config]
        return options

    @property
    def where(self) -> str:
        return f"{self.address}:{self.port}" if self.port is not None else self.address


def _lost(host_name: str, exc: BaseException) -> HostUnreachable:
    return HostUnreachable(
        f"lost host {host_name}", str(exc) or type(exc).__name__, "fleetdeck reconnects by itself"
    )


class SshTransport:
    def __init__(self, target: SshTarget) -> None:
        self.target = target
        self.host_name = target.host_name
        self._conn: asyncssh.SSHClientConnection | None = None
        self._channels = asyncio.Semaphore(MAX_CHANNELS)
        self._connect_lock = asyncio.Lock()
        self._attempts_done = 0
        self._last_error: HostError | None = None
        self._forwards = PortForwards()

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def connect(self) -> None:
        """Open the connection unless a live one exists; a dead one is never reused."""
        if self.connected:
            return
        attempts_seen = self._attempts_done
        async with self._connect_lock:
            if self.connected:
                return
            if self._attempts_done != attempts_seen and self._last_error is not None:
                # An attempt failed while we queued: share its answer instead of waiting
                # out another connect timeout on the same dead host.
                raise self._last_error
            self._conn = None
            try:
                self._conn = await self._open()
                self._last_error = None
            except HostError as exc:
                self._last_error = exc
                raise
            finally:
                self._attempts_done += 1
            await self._forwards.rebuild(self._conn)

    async def _open(self) -> asyncssh.SSHClientConnection:
        t = self.target
        options = t.connect_options()
        known_hosts = t.known_hosts
        if known_hosts is not None:
            # A missing file vouches for nothing; asyncssh would fall back to
            # ~/.ssh/known_hosts instead, so hand it an explicitly empty list.
            options["known_hosts"] = (
                str(known_hosts) if known_hosts.exists() else asyncssh.SSHKnownHosts()
            )
        try:
            return await asyncssh.connect(**options)
        except (asyncssh.HostKeyNotVerifiable, asyncssh.KeyExchangeFailed) as exc:
            refusal = await key_refusal(t, exc)
            if refusal is None:  # a key exchange failure unrelated to host keys
                raise self._unreachable(exc) from exc
            raise refusal from exc
        except asyncssh.PermissionDenied as exc:
            key = t.identity_file or "your default keys and agent"
            raise AuthenticationRejected(
                f"host {t.host_name} refused the key {key}",
                exc.reason,
                "add it with ssh-copy-id, or set identity_file / user in the inventory",
            ) from exc
        except ValueError as exc:  # e.g. a known_hosts or ssh config line asyncssh rejects
            raise HostUnreachable(
                f"cannot connect to host {t.host_name}",
                str(exc),
                f"fix the file named above (known_hosts is {known_hosts})",
            ) from exc
        except (OSError, asyncio.TimeoutError, asyncssh.Error) as exc:
            raise self._unreachable(exc) from exc

    def _unreachable(self, exc: BaseException) -> HostUnreachable:
        t = self.target
        return unreachable(t, exc, f"host {t.host_name} ({t.where}) is unreachable")

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
                    command_line(argv), input=stdin, encoding=None, check=False, timeout=timeout
                )
            except asyncssh.TimeoutError as exc:
                raise asyncio.TimeoutError(str(exc)) from exc
            except (asyncssh.ChannelOpenError, asyncssh.DisconnectError, OSError) as exc:
                raise _lost(self.host_name, exc) from exc
        if result.exit_status is None and conn.is_closed():
            # The channel closed because the connection did: no exit status to report.
            raise _lost(self.host_name, ConnectionError("the connection closed mid-command"))
        status = result.exit_status if result.exit_status is not None else 255
        return CommandResult(status, _text(result.stdout), _text(result.stderr))

    async def stream_lines(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        more_stdin: asyncio.Queue[str] | None = None,
    ) -> AsyncIterator[str]:
        await self.connect()
        conn = self._connection()
        async with self._channels:
            try:
                process = await conn.create_process(command_line(argv), encoding="utf-8")
            except (asyncssh.ChannelOpenError, asyncssh.DisconnectError, OSError) as exc:
                raise _lost(self.host_name, exc) from exc
            feeding: asyncio.Task[None] | None = None
            try:
                if stdin:
                    process.stdin.write(stdin.decode())
                if more_stdin is None:
                    process.stdin.write_eof()
                else:
                    feeding = asyncio.create_task(_feed(process.stdin, more_stdin))
                async for line in process.stdout:
                    if line:  # asyncssh yields "" at EOF; a blank line arrives as "\n"
                        yield line.rstrip("\n")
                if conn.is_closed():
                    raise _lost(self.host_name, ConnectionError("the connection closed"))
            except (asyncssh.DisconnectError, OSError) as exc:
                raise _lost(self.host_name, exc) from exc
            finally:
                if feeding is not None:
                    feeding.cancel()
                process.close()

    async def forward_port(self, remote_port: int, remote_host: str = "127.0.0.1") -> int:
        """A port on 127.0.0.1 here that reaches remote_host:remote_port as the host sees it."""
        await self.connect()
        conn = self._connection()
        try:
            return await self._forwards.local_port(conn, remote_host, remote_port)
        except OSError as exc:
            raise HostError(
                f"cannot forward a local port to {remote_host}:{remote_port} on {self.host_name}",
                str(exc),
                "free a local port, or check the local firewall",
            ) from exc

    def probe(self, suspect: bool) -> None:
        conn = self._conn
        if conn is None or conn.is_closed():
            return
        if suspect:
            # Probing only ever tightens the inventory's keepalive, never loosens it.
            interval = min(PROBE_INTERVAL_S, self.target.keepalive_interval_s)
            configured = (self.target.keepalive_count_max + 1) * self.target.keepalive_interval_s
            window = min((PROBE_COUNT_MAX + 1) * interval, configured)
            conn.set_keepalive(interval, max(1, round(window / interval) - 1))
        else:
            conn.set_keepalive(self.target.keepalive_interval_s, self.target.keepalive_count_max)

    async def close(self) -> None:
        self._forwards.close()
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
            self._conn = None


async def _feed(stdin: asyncssh.SSHWriter[str], more: asyncio.Queue[str]) -> None:
    """Write what is put on `more` to a long-lived command's stdin, until cancelled."""
    while True:
        stdin.write(await more.get())


def _text(data: object) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return "" if data is None else str(data)


def unreachable(target: SshTarget, exc: BaseException, title: str) -> HostUnreachable:
    """The error for a host that did not answer SSH, with a cause a person can act on."""
    cause = str(exc) or type(exc).__name__
    if isinstance(exc, asyncio.TimeoutError):
        cause = f"no SSH answer within connect_timeout ({target.connect_timeout_s:g}s)"
    return HostUnreachable(title, cause, "check the address and port, and that sshd runs there")
