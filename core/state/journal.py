"""The event journal: every engine event as one JSON line, for `fleetdeck events`.

Lines are appended in the order events are written, which is not always their time
order: a replica's exit found in its host's history is written when a fleetdeck process
first observes it, dated when it happened (core/state/host_history.py). `read()` sorts.

Beside it, fleet-events.jsonl mirrors the fleet's own journal, kept on its home host
(core/state/fleet_mirror.py): every operator's changes of desired state, naming who
acted. `read()` merges both and shows an event found in both once. The home host's
journal is the authoritative record of desired-state changes; this machine's files are
its cache, plus what this machine's processes saw and did.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from fleetdeck.core.fleet.events import Event, of_deployment

JOURNAL = "events.jsonl"
LOCK = JOURNAL + ".lock"
MIRROR = "fleet-events.jsonl"  # the home host's journal, as far as this machine read it
# Past this size the journal starts again, keeping one previous file.
MAX_BYTES = 20 * 1024 * 1024
# How much of the journal's end `read_recent` reads (about 13,000 events).
RECENT_BYTES = 2 * 1024 * 1024
# Held for one short read and a few appends; only a hung process holds it longer.
LOCK_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class JournalTail:
    """The journal's last events, in the order they were written."""

    events: tuple[Event, ...]
    complete: bool  # the whole journal: nothing older was ever written, or none was dropped


class EventJournal:
    def __init__(self, directory: Path) -> None:
        self.path = directory / JOURNAL
        self.mirror_path = directory / MIRROR
        self._lock = FileLock(directory / LOCK, timeout=LOCK_TIMEOUT_S)

    @property
    def previous_path(self) -> Path:
        return self.path.with_suffix(".jsonl.1")

    def append(self, event: Event) -> None:
        if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
            self.path.replace(self.previous_path)
        with self.path.open("a") as handle:
            handle.write(json.dumps(event.model_dump(mode="json")) + "\n")

    def locked(self) -> contextlib.AbstractContextManager[object]:
        """Held by a writer that appends only what the journal does not hold yet (a
        check, then appends): no other fleetdeck process does the same in between.
        Raises filelock.Timeout after LOCK_TIMEOUT_S."""
        return self._lock

    def read(self, deployment: str | None = None) -> Iterator[Event]:
        """Every event, oldest first (by `time`; written order among equal times); with
        `deployment`, only those about it and its replicas (`of_deployment`). A missing
        journal has none."""
        # Only lines that hold the name as JSON writes it are parsed: a quiet deployment's
        # few events are found among a busy fleet's many without parsing every line.
        needle = json.dumps(deployment)[1:-1] if deployment is not None else ""
        accept = of_deployment(deployment) if deployment is not None else None
        read: list[list[Event]] = []
        for path in (self.previous_path, self.path, self.mirror_path):
            try:
                text = path.read_text()
            except FileNotFoundError:
                text = ""
            lines = (line for line in text.splitlines() if needle in line)
            read.append([e for e in _parse(lines) if accept is None or accept(e)])
        events = read[0] + read[1]
        # The home host's journal holds this machine's shared events too, and two
        # processes may have mirrored the same lines: each event once.
        seen = set(events)
        events += [e for e in dict.fromkeys(read[2]) if e not in seen]
        events.sort(key=lambda event: event.time)
        return iter(events)

    def mirror(self, lines: Iterable[str]) -> None:
        """Append lines read from the home host's journal to this machine's mirror."""
        data = "".join(line.rstrip("\n") + "\n" for line in lines)
        if data:
            with self.mirror_path.open("a") as handle:
                handle.write(data)

    def read_recent(self, max_bytes: int = RECENT_BYTES) -> JournalTail:
        """The events in the journal's last `max_bytes`, in written order."""
        lines, used, whole = _tail_lines(self.path, max_bytes)
        rotated = self.previous_path.exists()
        if whole and rotated and used < max_bytes:
            older, _, _ = _tail_lines(self.previous_path, max_bytes - used)
            lines = older + lines
        # After a rotation an older previous file may have been dropped: never complete.
        return JournalTail(tuple(_parse(lines)), whole and not rotated)


def _tail_lines(path: Path, max_bytes: int) -> tuple[list[str], int, bool]:
    """The whole lines in the file's last `max_bytes`, the bytes read, and whether that
    was all of the file (a missing file is empty)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - max_bytes)
            handle.seek(start)
            data = handle.read()
    except FileNotFoundError:
        return [], 0, True
    lines = data.decode("utf-8", "replace").splitlines()
    if start > 0 and lines:
        lines = lines[1:]  # the first line is probably cut
    return lines, len(data), start == 0


def _parse(lines: Iterable[str]) -> Iterator[Event]:
    for line in lines:
        try:
            yield Event.model_validate_json(line)
        except ValueError:
            continue  # a line cut short by a crash
