"""The event journal: every engine event as one JSON line, for `fleetdeck events`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from fleetdeck.core.fleet.events import Event

JOURNAL = "events.jsonl"
# Past this size the journal starts again, keeping one previous file.
MAX_BYTES = 20 * 1024 * 1024


class EventJournal:
    def __init__(self, directory: Path) -> None:
        self.path = directory / JOURNAL

    def append(self, event: Event) -> None:
        if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
            self.path.replace(self.path.with_suffix(".jsonl.1"))
        with self.path.open("a") as handle:
            handle.write(json.dumps(event.model_dump(mode="json")) + "\n")

    def read(self) -> Iterator[Event]:
        for path in (self.path.with_suffix(".jsonl.1"), self.path):
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                try:
                    yield Event.model_validate_json(line)
                except ValueError:
                    continue  # a line cut short by a crash
