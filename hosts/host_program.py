"""Ship the host program (hosts/remote, stdlib only) to a host and call it.

The program travels as a zipapp written once to <state_dir>/.bin/ under a name that
carries its content hash, so a host never runs a stale copy and never needs more than
sshd and python3.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from fleetdeck.hosts.errors import HostError, RemoteCommandFailed
from fleetdeck.hosts.observations import (
    HostObservation,
    LaunchReply,
    LeaseReply,
    LogErrorMessage,
    LogLineMessage,
    StopReply,
    parse_message,
    read_message,
)
from fleetdeck.hosts.remote.protocol import Message
from fleetdeck.hosts.transport import Transport

M = TypeVar("M", bound=Message)

PACKAGE = "fleetdeck_remote"
ZIP_MAIN = f"""\
import os, sys, zipfile
from {PACKAGE}.main import main
program = os.path.abspath(sys.argv[0])
with zipfile.ZipFile(program) as archive:
    supervisor = archive.read("{PACKAGE}/supervise.sh")
sys.exit(main(sys.argv[1:], program, supervisor))
"""
# Reads the zip from stdin and writes it under the expanded state dir; prints its path.
INSTALLER = """\
import os, sys
if sys.version_info < (3, 8):
    sys.exit("fleetdeck needs python3 >= 3.8 on this host, found " + sys.version.split()[0])
state_dir = os.path.abspath(os.path.expanduser(sys.argv[1]))
path = os.path.join(state_dir, ".bin", sys.argv[2])
if not os.path.isdir(state_dir):
    os.makedirs(state_dir, mode=0o700)  # replica state, leases and logs: the user's only
if not os.path.exists(path):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    data = sys.stdin.buffer.read()
    tmp = path + ".%d.tmp" % os.getpid()
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
print(path)
"""


@cache
def program_zip() -> tuple[str, bytes]:
    """The zipapp's file name (with content hash) and bytes; deterministic."""
    remote = resources.files("fleetdeck.hosts.remote")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)

        add("__main__.py", ZIP_MAIN.encode())
        # Every module of hosts/remote, sorted so the bytes (and the hash) are stable.
        for entry in sorted(remote.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".py"):
                add(f"{PACKAGE}/{entry.name}", entry.read_bytes())
        add(f"{PACKAGE}/supervise.sh", remote.joinpath("supervise.sh").read_bytes())
    data = buffer.getvalue()
    return f"fleetdeck-host-{hashlib.sha256(data).hexdigest()[:16]}.pyz", data


@dataclass(frozen=True)
class LaunchRequest:
    deployment: str
    replica: str
    argv: tuple[str, ...]
    env: dict[str, str]
    port_range: tuple[int, int]
    bind_host: str = "127.0.0.1"
    gpu_uuids: tuple[str, ...] = ()
    spec_hash: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    restart_backoff_s: int = 10  # the supervisor's first restart delay; doubles to 300 s
    log_max_bytes: int = 50 * 1024 * 1024  # the host rotates the log past this (2 kept)
    log_check_s: float = 10.0  # how often the supervisor checks the log's size


@dataclass(frozen=True)
class LogLine:
    offset: int  # byte offset just after this line: resume from here
    text: str


@dataclass(frozen=True)
class LaunchResult:
    port: int
    adopted: bool


class HostProgram:
    """Calls into the host program over a transport; one per host."""

    def __init__(
        self,
        transport: Transport,
        *,
        state_dir: str,
        python: str = "python3",
        simulate: dict[str, Any] | None = None,
    ) -> None:
        self.transport = transport
        self.state_dir = state_dir
        self.python = python
        self.simulate = simulate
        self._path: str | None = None
        self._install_lock = asyncio.Lock()

    async def install(self) -> str:
        async with self._install_lock:
            if self._path is None:
                name, data = program_zip()
                result = await self.transport.run(
                    [self.python, "-c", INSTALLER, self.state_dir, name], stdin=data, timeout=60
                )
                if result.exit_status != 0 or not result.stdout.strip():
                    raise RemoteCommandFailed(
                        f"cannot install fleetdeck's host program on {self.transport.host_name}",
                        (result.stderr or result.stdout).strip()[-500:]
                        or f"exit {result.exit_status}",
                        f"check that `{self.python}` (3.8+) runs there and that state_dir "
                        f"{self.state_dir} is writable",
                    )
                self._path = result.stdout.strip().splitlines()[-1]
            return self._path

    async def call(
        self, command: str, request: dict[str, Any], reply: type[M], timeout: float = 60
    ) -> M:
        """Run `command` with `request` on stdin; its reply (the last stdout line), validated."""
        path = await self.install()
        payload = json.dumps({"state_dir": self.state_dir, **request}).encode()
        result = await self.transport.run(
            [self.python, path, command], stdin=payload, timeout=timeout
        )
        host = self.transport.host_name
        try:
            line = result.stdout.strip().splitlines()[-1]
            return parse_message(reply, line, host=host, command=command)
        except (ValueError, IndexError) as exc:  # no JSON at all: a traceback, say
            raise RemoteCommandFailed(
                f"{command} failed on {host}",
                (result.stderr or result.stdout).strip()[-800:] or f"exit {result.exit_status}",
                "run `fleetdeck check FILE` to test the host",
            ) from exc

    async def launch(self, request: LaunchRequest) -> LaunchResult:
        reply = await self.call(
            "launch",
            {
                "deployment": request.deployment,
                "replica": request.replica,
                "argv": list(request.argv),
                "env": request.env,
                "port_range": list(request.port_range),
                "bind_host": request.bind_host,
                "gpu_uuids": list(request.gpu_uuids),
                "spec_hash": request.spec_hash,
                "meta": request.meta,
                "restart_backoff_s": request.restart_backoff_s,
                "log_max_bytes": request.log_max_bytes,
                "log_check_s": request.log_check_s,
            },
            LaunchReply,
        )
        subject = f"{request.deployment}/{request.replica} on {self.transport.host_name}"
        if not reply.ok:
            raise HostError(
                f"cannot start {subject}",
                reply.error or "unknown error",
                "free a port in the host's port_range, or widen port_range",
            )
        if reply.port is None:  # adopted, but its spec.json names no port
            raise RemoteCommandFailed(
                f"{subject} runs without a known port",
                "its spec.json in the host's state_dir has no port",
                f"replace it: `fleetdeck restart FILE {request.deployment}`",
            )
        return LaunchResult(port=reply.port, adopted=reply.adopted)

    async def stop(
        self,
        deployment: str,
        replica: str,
        *,
        grace_s: float = 10.0,
        forget: bool = False,
        mark_failed: str | None = None,
    ) -> StopReply:
        """Stop a replica; `forget` removes its state, `mark_failed` keeps it with a reason."""
        request = {"deployment": deployment, "replica": replica, "grace_s": grace_s}
        request |= {"forget": forget, "mark_failed": mark_failed}
        return await self.call("stop", request, StopReply, timeout=grace_s + 30)

    async def take_lease(
        self, holder: str, ttl_s: float, *, stale_holder: str | None = None
    ) -> LeaseReply:
        """Take or renew this host's controller lease; ttl_s = 0 releases it.

        `stale_holder`: a holder known to be dead; its lease is taken over even if unexpired.
        """
        request = {"holder": holder, "ttl_s": ttl_s, "stale_holder": stale_holder}
        return await self.call("lease", request, LeaseReply, timeout=30)

    def _observe_request(self, interval_s: float = 1.0, detect_s: float = 0.0) -> dict[str, Any]:
        return {
            "simulate": self.simulate,
            "host_id": self.transport.host_name,
            "interval_s": interval_s,
            "detect_s": detect_s,
        }

    async def observe(self) -> HostObservation:
        return await self.call("observe", self._observe_request(), HostObservation, timeout=60)

    async def _stream(self, command: str, request: dict[str, Any]) -> AsyncIterator[str]:
        """A long-lived command's output lines; the request goes by stdin, never argv."""
        path = await self.install()
        payload = json.dumps({"state_dir": self.state_dir, **request}).encode()
        async for line in self.transport.stream_lines([self.python, path, command], stdin=payload):
            yield line

    async def watch(
        self, interval_s: float, detect_s: float = 0.0
    ) -> AsyncIterator[HostObservation]:
        """Observations streamed over one long-lived channel: no exec per poll. With
        `detect_s`, the host also sends one as soon as a replica turns ready or dies
        (checked that often), not only every `interval_s`.

        A line cut short by a dropped connection raises ValueError (the caller reconnects);
        a whole line that is not an observation raises RemoteCommandFailed.
        """
        host = self.transport.host_name
        request = self._observe_request(interval_s, detect_s)
        async for line in self._stream("watch", request):
            if line.startswith("{"):
                yield parse_message(HostObservation, line, host=host, command="watch")

    async def logs(
        self,
        deployment: str,
        replica: str,
        *,
        tail: int = 50,
        follow: bool = False,
        offset: int | None = None,
    ) -> AsyncIterator[LogLine]:
        """A replica's log lines with the byte offset after each, to resume from."""
        request = {
            "deployment": deployment,
            "replica": replica,
            "tail": tail,
            "follow": follow,
            "offset": offset,
        }
        host = self.transport.host_name
        async for raw in self._stream("logs", request):
            if not raw.strip():
                continue
            # ValueError on a line cut short by a dropped connection: LogFollower resumes.
            data = json.loads(raw)
            if isinstance(data, dict) and "error" in data:
                error = read_message(LogErrorMessage, data, host=host, command="logs")
                raise RemoteCommandFailed(
                    f"no log for {deployment}/{replica} on {host}",
                    error.error,
                    "list replicas with `fleetdeck status FILE`",
                )
            message = read_message(LogLineMessage, data, host=host, command="logs")
            yield LogLine(message.offset, message.line)
