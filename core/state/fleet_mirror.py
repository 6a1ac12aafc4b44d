"""This machine's mirror of the fleet's journal, which its home host keeps.

Each observation of a host brings the lines of that host's fleet journal after the
cursor it was sent (hosts/remote/fleet_state.py: the journal's id and an offset). They
are appended to fleet-events.jsonl beside this machine's own journal, and the cursor is
kept in fleet-events.cursors.json, so the next process asks only for what is new: a cold
`fleetdeck events` stays one exec per host and reads its files locally.

Two processes on this machine may mirror the same lines; the journal's `read()` shows
an event once, however often it was written.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.state.atomic_file import replace_file
from fleetdeck.core.state.journal import EventJournal

CURSORS = "fleet-events.cursors.json"

Cursor = tuple[str, int]  # the host journal's id, the offset read up to


class FleetMirror:
    def __init__(self, journal: EventJournal, directory: Path) -> None:
        self._journal = journal
        self._path = directory / CURSORS
        self._cursors = self._load()

    def _load(self) -> dict[str, Cursor]:
        try:
            data = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            str(host): (str(value[0]), int(value[1]))
            for host, value in data.items()
            if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)
        }

    def cursor(self, host: str) -> Cursor | None:
        return self._cursors.get(host)

    def absorb(self, host: str, journal_id: str, end: int, lines: tuple[str, ...]) -> list[Event]:
        """Mirror `lines` (read from `host` up to `end`); the events they hold."""
        if not journal_id or self._cursors.get(host) == (journal_id, end):
            return []
        events = []
        for line in lines:
            with contextlib.suppress(ValueError):
                events.append(Event.model_validate_json(line))
        with contextlib.suppress(OSError):
            self._journal.mirror(lines)
            self._cursors[host] = (journal_id, end)
            self._save()
        return events

    def _save(self) -> None:
        data = json.dumps({host: list(cursor) for host, cursor in self._cursors.items()})
        replace_file(self._path, data)
