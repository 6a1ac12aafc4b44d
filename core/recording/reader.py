"""Reads a recording back: its snapshots by time, its events, how it ended.

Opening indexes the frames without decoding the snapshots; `snapshot_at(t)` decodes
from the keyframe before `t` (at most KEYFRAME_EVERY_S of deltas), and stepping
forward reuses the snapshot decoded last, so playing is one delta per frame.
"""

from __future__ import annotations

import bisect
import copy
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fleetdeck.core.errors import UsageError
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.recording import frames
from fleetdeck.core.recording.delta import patch


class RecordingError(UsageError):
    """The file is not a recording, or nothing in it can be shown (exit 2)."""


def _bad(path: Path, cause: str) -> RecordingError:
    return RecordingError(
        f"{path}: cannot replay it",
        cause,
        "name a file written by `fleetdeck run --record FILE` or `fleetdeck --record FILE`",
    )


@dataclass(frozen=True)
class _Point:
    time: float
    frame: frames.Frame
    keyframe: int  # index of the keyframe this point decodes from


class Recording:
    def __init__(
        self,
        path: Path,
        header: dict[str, Any],
        points: list[_Point],
        events: tuple[Event, ...],
        torn_at: int | None,
    ) -> None:
        self.path = path
        self.header = header
        self._points = points
        self._times = [p.time for p in points]
        self.events = events
        """Every recorded event, oldest first."""
        self.torn_at = torn_at
        """Where an incomplete last frame begins (a recorder killed mid-write), or None."""
        self._cache: tuple[int, Any] | None = None

    @classmethod
    def open(cls, path: Path) -> Recording:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _bad(path, exc.strerror or str(exc)) from exc
        if not data.startswith(frames.MAGIC):
            raise _bad(path, "it is not a fleetdeck recording (its first line is not one)")
        scan = frames.scan(data)
        if not scan.frames or scan.frames[0].kind != frames.HEADER:
            raise _bad(path, "it ends before its header: the recorder stopped at once")
        try:
            header = scan.frames[0].document()
            points: list[_Point] = []
            events: list[Event] = []
            keyframe = -1
            for frame in scan.frames[1:]:
                if frame.kind == frames.EVENT:
                    events.append(Event.model_validate(frame.document()))
                    continue
                if frame.kind == frames.KEYFRAME:
                    keyframe = len(points)
                elif keyframe < 0:
                    continue  # a delta with nothing to apply it to
                points.append(_Point(frame.time, frame, keyframe))
        except (ValueError, zlib.error, ValidationError) as exc:
            raise _bad(path, f"a frame cannot be read: {exc}") from exc
        if not points:
            raise _bad(path, "it holds no snapshot: the recorder stopped before the first")
        # Oldest first, as the journal reads: an exit merged from a host's history is
        # recorded when seen but dated when it happened.
        events.sort(key=lambda event: event.time)
        return cls(path, header, points, tuple(events), scan.torn_at)

    # -- time ---------------------------------------------------------------------------
    @property
    def start(self) -> float:
        return self._times[0]

    @property
    def end(self) -> float:
        return self._times[-1]

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def fleet(self) -> str:
        return str(self.header.get("fleet") or "")

    @property
    def exports(self) -> dict[str, dict[str, Any]]:
        """Each deployment's inventory entry when recording began (secrets as references)."""
        found = self.header.get("exports")
        return found if isinstance(found, dict) else {}

    def __len__(self) -> int:
        return len(self._points)

    def time_of(self, index: int) -> float:
        return self._times[index]

    def index_at(self, at: float) -> int:
        """The last snapshot taken at or before `at` (the first, before the start)."""
        return max(bisect.bisect_right(self._times, at) - 1, 0)

    # -- snapshots ----------------------------------------------------------------------
    def snapshot(self, index: int) -> FleetSnapshot:
        return FleetSnapshot.model_validate(self._document(index))

    def snapshot_at(self, at: float) -> FleetSnapshot:
        return self.snapshot(self.index_at(at))

    def _document(self, index: int) -> Any:
        if index < 0:
            index += len(self._points)  # -1: the newest
        point = self._points[index]
        cached = self._cache
        if cached is not None and point.keyframe <= cached[0] <= index:
            at, document = cached
        else:
            at, document = point.keyframe, self._points[point.keyframe].frame.document()
        for i in range(at + 1, index + 1):
            document = patch(document, self._points[i].frame.document())
        # The cache is patched in place by the next step: hand out a copy.
        self._cache = (index, document)
        return copy.deepcopy(document)

    def events_between(self, after: float, until: float) -> tuple[Event, ...]:
        """Events recorded in (after, until]."""
        return tuple(e for e in self.events if after < e.time <= until)
