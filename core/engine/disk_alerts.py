"""One event when a host's state dir fills up, one when it has room again.

Every fleetdeck process observes the hosts, one-shot commands included, so what was last
said is read from the journal (its recent end, once per process, at the first observation):
a second `status` on a full host says nothing new, and the first process to see it
freed says so.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.state.journal import RECENT_BYTES, EventJournal

DISK_FULL = "host.disk_full"
DISK_OK = "host.disk_ok"

Emit = Callable[[str, str, str, str], None]  # kind, subject, message, level


class DiskAlerts:
    def __init__(self, journal: EventJournal, emit: Emit) -> None:
        self._journal = journal
        self._emit = emit
        self._full: dict[str, bool] | None = None  # host -> last said full; read lazily

    def note(self, host: str, disk_full: str | None) -> None:
        known = self._said()
        was_full = known.get(host, False)
        if disk_full is not None and not was_full:
            known[host] = True
            self._emit(DISK_FULL, host, f"disk full: {disk_full}", "error")
        elif disk_full is None and was_full:
            known[host] = False
            self._emit(DISK_OK, host, "the state dir has room again", "info")

    def _said(self) -> dict[str, bool]:
        if self._full is None:
            self._full = {}
            for event in self._disk_events():
                self._full[event.subject] = event.kind == DISK_FULL
        return self._full

    def _disk_events(self) -> list[Event]:
        """The journal's recent disk events, in written order. Every process's first
        observation asks, so only lines naming them are parsed (the rest is a byte scan,
        about a millisecond for the 2 MiB read; parsing it all would cost a cold
        `status` far more)."""
        try:
            with self._journal.path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - RECENT_BYTES))
                data = handle.read()
        except OSError:
            return []
        found = []
        for line in data.splitlines():
            if b"host.disk_" in line:
                with contextlib.suppress(ValueError):
                    event = Event.model_validate_json(line)
                    if event.kind in (DISK_FULL, DISK_OK):
                        found.append(event)
        return found
