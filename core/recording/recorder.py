"""`--record FILE`: follows a fleet's snapshots and events into a recording while a
console or `fleetdeck run` is open. Records what the console renders: the same
snapshot stream (one a second) and the same events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from fleetdeck.core.errors import UsageError
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.recording.writer import DEFAULT_MAX_BYTES, RecordingWriter

RECORD_INTERVAL_S = 1.0
"""The console's own refresh: a replay shows every frame the console showed."""


class RecordedSource(Protocol):
    def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]: ...

    def subscribe(self, listener: Callable[[Event], None]) -> None: ...


@contextlib.asynccontextmanager
async def recording(
    source: RecordedSource,
    path: Path,
    *,
    fleet: str,
    exports: Mapping[str, Mapping[str, Any]] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    interval_s: float = RECORD_INTERVAL_S,
) -> AsyncIterator[RecordingWriter]:
    """Records `source` into `path` for the duration of the block."""
    try:
        writer = RecordingWriter(
            path, max_bytes=max_bytes, meta={"fleet": fleet, "exports": dict(exports or {})}
        )
    except OSError as exc:  # before anything runs: a usage error, exit 2
        raise UsageError(
            f"cannot record to {path}",
            exc.strerror or str(exc),
            "name a file in a directory you can write to",
        ) from exc
    closed = False

    def on_event(event: Event) -> None:
        if not closed:
            writer.event(event)

    source.subscribe(on_event)

    async def follow() -> None:
        async for snapshot in source.snapshots(interval_s):
            # Off the loop: dumping, diffing and compressing 80 replicas takes ~10 ms
            # (benchmarks/record_size.py), and the snapshot is immutable.
            await asyncio.to_thread(writer.snapshot, snapshot)

    task = asyncio.create_task(follow(), name=f"record {path}")
    try:
        yield writer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        closed = True
        writer.close()


class RecordedFleet(RecordedSource, Protocol):
    """FleetIntents, as far as recording it goes."""

    @property
    def inventory(self) -> Any: ...

    def export(self, deployment: str) -> dict[str, Any]: ...


def recorded(
    intents: RecordedFleet, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> contextlib.AbstractAsyncContextManager[RecordingWriter]:
    """Records a fleet's intents: its name and each deployment's inventory entry (the
    detail screen's inventory panel) in the header, then snapshots and events."""
    inventory = intents.inventory
    exports = {d.name: intents.export(d.name) for d in inventory.deployments}
    return recording(intents, path, fleet=inventory.fleet.name, exports=exports,
                     max_bytes=max_bytes)  # fmt: skip
