"""A small but real ConsoleBackend for the console's tests.

It is what the App is handed in tests, in place of the engine: snapshots and events are
scripted by the test, replica logs keep a history and stream new lines to every
follower (honouring `tail`), and every action is recorded and can be made to fail.
Nothing is mocked: the app talks to it through the same protocol as to the engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fleetdeck.core.errors import UsageError
from fleetdeck.core.fleet.events import Event, of_deployment
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.intents import IntentOutcome
from fleetdeck.core.intents.host_keys import HostKeyReport

_END = object()


@dataclass
class LogStream:
    """One `follow_logs` call as the backend saw it."""

    replica_id: str
    tail: int
    queue: asyncio.Queue[object] = field(default_factory=asyncio.Queue)
    closed: bool = False


class ScriptedBackend:
    def __init__(self, *snapshots: FleetSnapshot | Exception) -> None:
        self._snapshots: asyncio.Queue[FleetSnapshot | Exception] = asyncio.Queue()
        self._listeners: list[Callable[[Event], None]] = []
        self._history: dict[str, list[str]] = {}
        self.streams: list[LogStream] = []
        self.calls: list[tuple[str, str, int | None]] = []
        """Every action received: (action, deployment, replicas or None)."""
        self.failures: dict[str, BaseException] = {}
        """Action name -> error that action raises (after recording the call)."""
        self.snapshots_closed = False
        self.inventory: dict[str, dict[str, Any]] = {}
        """Deployment name -> what `export` returns (as FleetIntents.export would)."""
        self.exports: list[str] = []
        """Every deployment `export` was asked for, in order."""
        self.journal: list[Event] = []
        """What `event_history` reads, as the engine's journal holds it (any order)."""
        self.history_asks: list[tuple[str | None, int]] = []
        """Every `event_history` call: (deployment, last)."""
        self.history_gate: asyncio.Event | None = None
        """When set by a test, `event_history` waits for it (a slow journal)."""
        self.history_error: BaseException | None = None
        """When set, `event_history` raises it (an unreadable journal)."""
        self.refused_keys: tuple[str, ...] = ()
        """What `key_refusals` says: the hosts refused for their key."""
        self.key_reports: dict[str, HostKeyReport] = {}
        """Host -> what `host_key` returns."""
        self.trusted: list[tuple[str, bool]] = []
        """Every `trust` call: (host, replace)."""
        for item in snapshots:
            self.push(item)

    # -- what the test scripts ---------------------------------------------------------
    def push(self, item: FleetSnapshot | Exception) -> None:
        self._snapshots.put_nowait(item)

    def emit(self, event: Event) -> None:
        for listener in self._listeners:
            listener(event)

    def write_log(self, replica_id: str, *lines: str) -> None:
        self._history.setdefault(replica_id, []).extend(lines)
        for stream in self.streams:
            if stream.replica_id == replica_id and not stream.closed:
                for line in lines:
                    stream.queue.put_nowait(line)

    def end_log(self, replica_id: str, error: BaseException | None = None) -> None:
        """End every open stream of `replica_id`, or make it fail with `error`."""
        for stream in self.streams:
            if stream.replica_id == replica_id and not stream.closed:
                stream.queue.put_nowait(_END if error is None else error)

    def open_streams(self, replica_id: str | None = None) -> list[LogStream]:
        return [
            s
            for s in self.streams
            if not s.closed and (replica_id is None or s.replica_id == replica_id)
        ]

    # -- ConsoleBackend ----------------------------------------------------------------
    async def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]:
        try:
            while True:
                item = await self._snapshots.get()
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self.snapshots_closed = True

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    async def event_history(
        self, deployment: str | None = None, *, last: int = 0
    ) -> tuple[Event, ...]:
        self.history_asks.append((deployment, last))
        if self.history_gate is not None:
            await self.history_gate.wait()
        if self.history_error is not None:
            raise self.history_error
        accept = of_deployment(deployment) if deployment is not None else None
        events = sorted(
            (e for e in self.journal if accept is None or accept(e)), key=lambda e: e.time
        )
        return tuple(events[-last:] if last > 0 else events)

    async def follow_logs(self, replica_id: str, *, tail: int = 200) -> AsyncIterator[str]:
        stream = LogStream(replica_id, tail)
        self.streams.append(stream)
        try:
            for line in self._history.get(replica_id, [])[-tail:] if tail else []:
                yield line
            while True:
                item = await stream.queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, str)
                yield item
        finally:
            stream.closed = True

    def export(self, deployment: str) -> dict[str, Any]:
        self.exports.append(deployment)
        if deployment not in self.inventory:  # FleetIntents raises the same
            raise UsageError(
                f"fleet.toml: no deployment named {deployment!r}",
                f"known: {', '.join(self.inventory) or 'none'}",
                "nothing was started or stopped",
            )
        return self.inventory[deployment]

    async def scale(self, deployment: str, replicas: int) -> IntentOutcome:
        return await self._act("scale", deployment, replicas)

    async def stop(self, deployment: str) -> IntentOutcome:
        return await self._act("stop", deployment)

    async def start(self, deployment: str) -> IntentOutcome:
        return await self._act("start", deployment)

    async def restart(self, deployment: str) -> IntentOutcome:
        return await self._act("restart", deployment)

    def key_refusals(self) -> tuple[str, ...]:
        return self.refused_keys

    async def host_key(self, host: str) -> HostKeyReport:
        await asyncio.sleep(0)
        return self.key_reports[host]

    def trust(self, report: HostKeyReport, *, replace: bool = False) -> bool:
        self.trusted.append((report.host, replace))
        return True

    async def _act(
        self, action: str, deployment: str, replicas: int | None = None
    ) -> IntentOutcome:
        await asyncio.sleep(0)  # an action is a real await, as the engine's are
        self.calls.append((action, deployment, replicas))
        error = self.failures.get(action)
        if error is not None:
            raise error
        return IntentOutcome()
