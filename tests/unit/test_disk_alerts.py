"""One `host.disk_full` event when a state dir fills, one `host.disk_ok` when it has room,
however many fleetdeck processes observe it (each reads what was said from the journal)."""

from __future__ import annotations

from pathlib import Path

from fleetdeck.core.engine.disk_alerts import DISK_FULL, DISK_OK, DiskAlerts
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.state.journal import EventJournal


def process(journal: EventJournal, said: list[tuple[str, str]]) -> DiskAlerts:
    def emit(kind: str, subject: str, message: str, level: str) -> None:
        said.append((kind, subject))
        journal.append(Event(time=1.0, kind=kind, subject=subject, message=message, level=level))

    return DiskAlerts(journal, emit)


def test_said_once_across_processes_then_ok_once(tmp_path: Path) -> None:
    journal = EventJournal(tmp_path)
    said: list[tuple[str, str]] = []
    first = process(journal, said)
    first.note("a", "state dir /s: 0 B free")
    first.note("a", "state dir /s: 0 B free")
    second = process(journal, said)  # a later `fleetdeck status`
    second.note("a", "state dir /s: 0 B free")
    second.note("b", None)
    assert said == [(DISK_FULL, "a")]
    third = process(journal, said)
    third.note("a", None)
    process(journal, said).note("a", None)
    assert said == [(DISK_FULL, "a"), (DISK_OK, "a")]
