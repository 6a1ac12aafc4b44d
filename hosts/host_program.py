"""Ship the host program (hosts/remote, stdlib only) to a host and call it.

The program travels as a zipapp kept in <state_dir>/.bin/ under a name that carries its
content hash, so a host never runs a stale copy and never needs more than sshd and
python3.

A one-shot call is ONE exec per host: `python3 -c BOOTSTRAP STATE_DIR NAME SHA256 COMMAND`.
The bootstrap checks that the cached zipapp exists and hashes to SHA256, then runs
COMMAND inside the same Python process (runpy on the zipapp), reading the request from
the same stdin. Only when the copy is missing or damaged does it answer MISSING, and the
client runs the same exec once more with the zipapp in front of the request on stdin.

Why a miss-then-retry and not the other two ways (zipapp ~31 KB deflated, measured):
- Sending the zipapp on every cold call costs ~31 KB per host per command, forever:
  N x 31 KB for each `status` of an N-host fleet, paid again by every controller tick
  that falls back to a one-shot call, and the host must read and hash it every time.
- A retry costs one more round trip, but only on a host's first contact with a given
  program version (after an upgrade or a wiped state_dir): once per host per release.
- A client-side cache of "installed hash per host" would save even that round trip, but
  it is one more file to keep right (wiped hosts, several client machines, renamed
  hosts) and it still needs the retry for the cases where it is stale. Not worth it.
The bootstrap runs the program from an extracted copy (<name>.pyz.d) with bytecode,
made once per hash and compared with the hashed zipapp's bytes on every run (see the
comment in BOOTSTRAP); the host's python runs with -S (NO_SITE).

Long-lived streams (watch, logs) call install() first (it sends the zipapp, once per
host per process) and then run the program by path: their stdin is text and there is no
exit status to see a miss by, and a console pays that once, not per refresh.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
    FleetOverrides,
    FleetWriteReply,
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
from fleetdeck.hosts.transport import CommandResult, Transport
from fleetdeck.hosts.watch_asks import WatchAsks

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
# The host program is stdlib-only, so its python skips `site` (-S): site-packages' .pth
# files, ~60 ms of a host's CPU per call with a well-stocked interpreter (pyenv's).
NO_SITE = "-S"
MISSING_EXIT = 75  # the bootstrap has no (intact) copy and none came on stdin: resend
BOOTSTRAP_FAILED_EXIT = 70  # python3 too old, state_dir not writable, damaged upload
BOOTSTRAP_MARK = "fleetdeck-bootstrap: "
# argv: STATE_DIR NAME SHA256 [COMMAND ...]; stdin: "SIZE\n", SIZE bytes of zipapp (0:
# none sent), then the command's request. No COMMAND: install only and print the path.
# Written for any python3 (no f-strings) so an old one still says what it is.
BOOTSTRAP = f"""\
import sys
def fail(why):
    sys.stderr.write("{BOOTSTRAP_MARK}" + why + "\\n")
    sys.exit({BOOTSTRAP_FAILED_EXIT})
if sys.version_info < (3, 8):
    fail("fleetdeck needs python3 >= 3.8 on this host, found " + sys.version.split()[0])
import hashlib, os
state_dir = os.path.abspath(os.path.expanduser(sys.argv[1]))
path = os.path.join(state_dir, ".bin", sys.argv[2])
stdin = sys.stdin.buffer
size = int(stdin.readline() or 0)
upload = stdin.read(size) if size else b""
try:
    with open(path, "rb") as handle:
        program = handle.read()
except OSError:
    program = b""
if hashlib.sha256(program).hexdigest() != sys.argv[3]:
    if not upload:
        sys.stderr.write("{BOOTSTRAP_MARK}missing\\n")
        sys.exit({MISSING_EXIT})
    if len(upload) != size or hashlib.sha256(upload).hexdigest() != sys.argv[3]:
        fail("the host program arrived incomplete or damaged")
    try:
        # exist_ok: a console's watch and a one-shot call may both make it on first contact.
        os.makedirs(state_dir, mode=0o700, exist_ok=True)  # replicas, leases, logs: the user's
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = path + ".%d.tmp" % os.getpid()
        with open(tmp, "wb") as handle:
            handle.write(upload)
        os.replace(tmp, path)
    except OSError as error:
        fail("cannot write " + path + ": " + str(error))
    program = upload
if len(sys.argv) < 5:
    print(path)
    sys.exit(0)
import runpy
sys.argv = [path] + sys.argv[4:]
# Run an extracted copy: a zipapp's modules are compiled again on every run (no .pyc
# can be written into a zip), about 60 ms of a host's CPU per call. The copy is made
# once per hash (atomic rename) and checked against the zipapp just hashed on every
# run: the same files, no other, byte for byte; its .pyc are checked-hash ones, so
# Python recompiles any whose source differs.
import io, zipfile
tree = path + ".d"
def tree_matches(archive):
    found = set()
    for top, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            found.add(os.path.relpath(os.path.join(top, name), tree).replace(os.sep, "/"))
    if found != set(archive.namelist()):
        return False
    for name in found:
        with open(os.path.join(tree, name), "rb") as handle:
            if handle.read() != archive.read(name):
                return False
    return True
def extract(archive):
    import importlib.util, py_compile, shutil
    tmp = tree + ".%d.tmp" % os.getpid()
    archive.extractall(tmp)
    for name in archive.namelist():
        if name.endswith(".py"):
            source = os.path.join(tmp, name)
            # Tracebacks name the file where it will be after the rename.
            py_compile.compile(source, cfile=importlib.util.cache_from_source(source),
                               dfile=os.path.join(tree, name), doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    # Never delete the copy before the new one is in place: another first contact may
    # have just renamed its own there and be importing from it.
    try:
        os.rename(tmp, tree)
        return
    except OSError:  # a copy is there: another first contact's, or a damaged one
        pass
    if not tree_matches(archive):  # damaged: moved aside whole, then replaced
        stale = tree + ".%d.stale" % os.getpid()
        try:
            os.rename(tree, stale)
            os.rename(tmp, tree)
        except OSError:  # someone else replaced it meanwhile
            pass
        shutil.rmtree(stale, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
try:
    with zipfile.ZipFile(io.BytesIO(program)) as archive:  # the bytes just hashed
        if not tree_matches(archive):
            extract(archive)
        ready = tree_matches(archive)
        supervisor = archive.read("{PACKAGE}/supervise.sh")
except Exception:  # no room, say: the zipapp itself still runs
    ready = False
if not ready:
    runpy.run_path(path, run_name="__main__")
    sys.exit(0)
# What the zipapp's __main__ does, with the program named by the zipapp's path (the
# supervisor runs its helpers from that).
sys.path.insert(0, tree)
from {PACKAGE}.main import main
sys.exit(main(sys.argv[1:], path, supervisor))
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


def _framed(upload: bytes, request: bytes) -> bytes:
    """The bootstrap's stdin: the zipapp's size, the zipapp (maybe none), the request."""
    return b"%d\n" % len(upload) + upload + request


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
        # The fleet whose shared state (hosts/remote/fleet_state.py) each observation
        # brings, and where in this host's copy of its journal the next one starts
        # (the journal's id, an offset); kept up to date by observe() and watch().
        self.fleet: str | None = None
        self.events_cursor: tuple[str, int] | None = None

    def _bootstrap_argv(self, *command: str) -> list[str]:
        name, data = program_zip()
        digest = hashlib.sha256(data).hexdigest()
        return [self.python, NO_SITE, "-c", BOOTSTRAP, self.state_dir, name, digest, *command]

    def _cannot_install(self, result: CommandResult) -> RemoteCommandFailed:
        why = (result.stderr or result.stdout).strip()
        return RemoteCommandFailed(
            f"cannot install fleetdeck's host program on {self.transport.host_name}",
            why.replace(BOOTSTRAP_MARK, "")[-500:] or f"exit {result.exit_status}",
            f"check that `{self.python}` (3.8+) runs there and that state_dir "
            f"{self.state_dir} is writable",
        )

    def _bootstrap_failed(self, result: CommandResult) -> bool:
        """The bootstrap, not the command, failed: no python3, too old, unwritable."""
        if result.exit_status == 127 and not result.stdout.strip():  # no such interpreter
            return True
        return result.exit_status == BOOTSTRAP_FAILED_EXIT and BOOTSTRAP_MARK in result.stderr

    async def _bootstrap(
        self, command: tuple[str, ...], request: bytes, timeout: float
    ) -> CommandResult:
        """Run `command` through the bootstrap: one exec when the host has this program,
        two (the second carrying the zipapp) on a first contact with this version."""
        argv = self._bootstrap_argv(*command)
        result = await self.transport.run(argv, stdin=_framed(b"", request), timeout=timeout)
        if result.exit_status == MISSING_EXIT and BOOTSTRAP_MARK in result.stderr:
            _, data = program_zip()
            result = await self.transport.run(argv, stdin=_framed(data, request), timeout=timeout)
        if self._bootstrap_failed(result):
            raise self._cannot_install(result)
        return result

    async def install(self) -> str:
        """Put the zipapp on the host (sent once per host per process); its path there."""
        async with self._install_lock:
            if self._path is None:
                _, data = program_zip()
                argv = self._bootstrap_argv()
                result = await self.transport.run(argv, stdin=_framed(data, b""), timeout=60)
                if result.exit_status != 0 or not result.stdout.strip():
                    raise self._cannot_install(result)
                self._path = result.stdout.strip().splitlines()[-1]
            return self._path

    async def call(
        self, command: str, request: dict[str, Any], reply: type[M], timeout: float = 60
    ) -> M:
        """Run `command` with `request` on stdin; its reply (the last stdout line), validated."""
        payload = json.dumps({"state_dir": self.state_dir, **request}).encode()
        result = await self._bootstrap((command,), payload, timeout)
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
        request: dict[str, Any] = {
            "simulate": self.simulate,
            "host_id": self.transport.host_name,
            "interval_s": interval_s,
            "detect_s": detect_s,
        }
        if self.fleet is not None:
            request["fleet"] = self.fleet
            if self.events_cursor is not None:
                journal_id, offset = self.events_cursor
                request["events_after"] = {"id": journal_id, "offset": offset}
        return request

    def _advance(self, observation: HostObservation) -> None:
        if observation.fleet_events_id:
            self.events_cursor = (observation.fleet_events_id, observation.fleet_events_end)

    async def observe(self) -> HostObservation:
        request = self._observe_request()
        observation = await self.call("observe", request, HostObservation, timeout=60)
        self._advance(observation)
        return observation

    async def write_fleet_state(
        self,
        *,
        operator: str,
        ops: list[list[Any]],
        events: list[str],
        base: FleetOverrides | None = None,
    ) -> FleetWriteReply:
        """Apply `ops` to the fleet's overrides on this host (its home) and append
        `events` (JSON lines) to its journal, in one exec; `base`: the newest document
        known, used when this host's is older (it was away when that one was written)."""
        request: dict[str, Any] = {
            "fleet": self.fleet,
            "operator": operator,
            "ops": ops,
            "events": events,
            "base": None if base is None else dataclasses.asdict(base),
        }
        reply = await self.call("fleet-write", request, FleetWriteReply, timeout=30)
        if not reply.ok:
            raise RemoteCommandFailed(
                f"cannot write the fleet's state on {self.transport.host_name}",
                reply.error or "unknown error",
                "check the host's state_dir (disk space, permissions)",
            )
        return reply

    async def _stream(
        self, command: str, request: dict[str, Any], asks: WatchAsks | None = None
    ) -> AsyncIterator[str]:
        """A long-lived command's output lines; the request goes by stdin, never argv
        (one line: with `asks`, stdin stays open for them after it)."""
        path = await self.install()
        payload = json.dumps({"state_dir": self.state_dir, **request}).encode() + b"\n"
        argv = [self.python, NO_SITE, path, command]
        more = asks.outgoing if asks is not None else None
        async for line in self.transport.stream_lines(argv, stdin=payload, more_stdin=more):
            yield line

    async def watch(
        self, interval_s: float, detect_s: float = 0.0, asks: WatchAsks | None = None
    ) -> AsyncIterator[HostObservation]:
        """Observations streamed over one long-lived channel: no exec per poll. With
        `detect_s`, the host also sends one as soon as a replica turns ready or dies
        (checked that often), not only every `interval_s`.

        With `asks`, `asks.ask()` has the host observe at once: the ask is answered once
        the observation that follows it has been taken by the reader of this iterator.

        A line cut short by a dropped connection raises ValueError (the caller reconnects);
        a whole line that is not an observation raises RemoteCommandFailed.
        """
        host = self.transport.host_name
        request = self._observe_request(interval_s, detect_s)
        answering: list[str] = []
        async for line in self._stream("watch", request, asks):
            if line.startswith("@"):  # the next observation answers this ask
                answering.append(line[1:])
            elif line.startswith("{"):
                observation = parse_message(HostObservation, line, host=host, command="watch")
                self._advance(observation)
                yield observation
                if asks is not None:
                    for token in answering:
                        asks.answered(token)
                answering.clear()

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
