"""Readiness history of a replica, kept in its state dir so a new console can read it.

`ready_at` is written the first time an observation sees a run healthy; `failed` holds
the reason when the engine gave up on a replica that never became ready. Start failures
in a row = runs that exited since the replica was last seen ready. Runs that came and
went while no console was observing are counted as failures: the conservative reading.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Sequence

from . import layout
from .protocol import ExitRecord

READY_AT = "ready_at"
FAILED = "failed"


def note_health(paths: layout.ReplicaPaths, healthy: bool, started_at: float | None) -> None:
    if not healthy:
        return
    ready_at = ready_time(paths)
    if ready_at is None or (started_at is not None and ready_at < started_at):
        # With the disk full it stays unwritten: the next healthy observation tries again.
        with contextlib.suppress(OSError):
            layout.write_atomic(paths.file(READY_AT), "%f\n" % time.time())


def ready_time(paths: layout.ReplicaPaths) -> float | None:
    try:
        return float(layout.read_text(paths.file(READY_AT)).strip())
    except ValueError:
        return None


def start_failures(paths: layout.ReplicaPaths, exits: Sequence[ExitRecord]) -> int:
    since = ready_time(paths) or 0.0
    return sum(1 for record in exits if record.at >= since)


def failed_reason(paths: layout.ReplicaPaths) -> str | None:
    text = layout.read_text(paths.file(FAILED)).strip()
    return text or None


def mark_failed(paths: layout.ReplicaPaths, reason: str) -> None:
    if os.path.isdir(paths.dir):
        layout.write_atomic(paths.file(FAILED), reason + "\n")
