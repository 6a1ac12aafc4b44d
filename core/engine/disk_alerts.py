"""One event when a host's state dir fills up, one when it has room again.

Every fleetdeck process observes the hosts, one-shot commands included, so what was last
said is read from the journal (its recent end, once per process, at the first observation):
a second `status` on a full host says nothing new, and the first process to see it
freed says so.
"""

from __future__ import annotations

from collections.abc import Callable

from fleetdeck.core.state.journal import EventJournal

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
            try:
                events = self._journal.read_recent().events
            except OSError:
                events = ()
            for event in events:
                if event.kind in (DISK_FULL, DISK_OK):
                    self._full[event.subject] = event.kind == DISK_FULL
        return self._full
