"""Writes a recording: snapshots as keyframes and deltas, events as they come, with a
size cap and one rotation (FILE -> FILE.1).

Append-only: each frame is one write() on an O_APPEND descriptor, so a `kill -9` loses
at most the frame being written (frames.py explains why the rest stays readable). No
fsync per frame: a killed process's writes are in the page cache already; only a
machine's crash could lose the last seconds, which is not worth a disk flush a second.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.recording import frames
from fleetdeck.core.recording.delta import diff

FORMAT = 1
KEYFRAME_EVERY_S = 60.0
"""A full snapshot this often: a seek decodes at most a minute of deltas."""
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
"""At ~18 MB an hour for 20 hosts x 4 replicas (README), about 14 hours per file."""
MIN_MAX_BYTES = 64 * 1024


def rotated(path: Path) -> Path:
    return path.with_name(path.name + ".1")


class RecordingWriter:
    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        keyframe_every_s: float = KEYFRAME_EVERY_S,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Starts a new recording at `path` (an older one there moves to FILE.1).
        `meta`: what the header keeps besides format and start (the fleet's name, each
        deployment's inventory entry for the detail screen)."""
        self.path = path
        self._max_bytes = max(max_bytes, MIN_MAX_BYTES)
        self._keyframe_every_s = keyframe_every_s
        self._meta = dict(meta or {})
        self._previous: dict[str, Any] | None = None
        self._keyframe_at = 0.0
        self._size = 0
        self._fd = -1
        self._lock = threading.Lock()
        if path.exists() and path.stat().st_size > 0:
            os.replace(path, rotated(path))
        self._open()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        header = {"format": FORMAT, "started_at": time.time(), **self._meta}
        self._size = 0
        self._write_raw(frames.MAGIC + frames.encode(frames.HEADER, time.time(), header))
        self._previous = None  # the new file starts with a keyframe

    def _write_raw(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)

    def _full(self, frame: bytes) -> bool:
        """`frame` would pass the cap (a file with no snapshot yet is never full)."""
        return self._size + len(frame) > self._max_bytes and self._previous is not None

    def _write(self, frame: bytes) -> None:
        """Writes `frame`, first rotating when it would pass the cap."""
        if self._full(frame):
            os.close(self._fd)
            os.replace(self.path, rotated(self.path))
            self._open()
        self._write_raw(frame)

    def snapshot(self, snapshot: FleetSnapshot, *, now: float | None = None) -> None:
        """Writes `snapshot` as a delta, or whole when a keyframe is due. Thread-safe with
        `event`: the recorder runs this (~10 ms at 80 replicas) off the event loop."""
        with self._lock:
            if self._fd >= 0:  # closed: a late snapshot is dropped
                self._snapshot(snapshot, time.time() if now is None else now)

    def _snapshot(self, snapshot: FleetSnapshot, at: float) -> None:
        document = snapshot.model_dump(mode="json")
        if self._previous is not None and at - self._keyframe_at < self._keyframe_every_s:
            op = diff(self._previous, document)
            if op is None:
                return  # nothing changed, not even the time it was taken
            frame = frames.encode(frames.DELTA, at, op)
            if not self._full(frame):
                self._write(frame)
                self._previous = document
                return
            # The cap is reached: the next file must start with a whole snapshot.
        self._write(frames.encode(frames.KEYFRAME, at, document))
        self._keyframe_at = at
        self._previous = document

    def event(self, event: Event) -> None:
        frame = frames.encode(frames.EVENT, event.time, event.model_dump(mode="json"))
        with self._lock:
            if self._fd >= 0:
                self._write(frame)

    @property
    def size(self) -> int:
        return self._size

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
