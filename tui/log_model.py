"""The logs screen's lines as plain data: a bounded buffer, the merge of replicas, and the
pure decisions the screen draws from it (which lines show, where a search matches, what
the border says, what a save writes). No Textual here, so all of it is unit-tested as is.

Replicas are merged in arrival order: a log line carries no clock we could trust across
hosts, and the order the lines reached us is the order a person tailing them would see.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

MAX_LINES = 10_000
"""Lines one logs screen keeps; the oldest are dropped first."""

REPLICA_COLOURS = 6
"""How many `$log-replica-N` theme variables there are (themes/palette.py)."""

# uvicorn's access line for a successful GET/HEAD of /health or /metrics: what fleetdeck's
# own probes and scrapes leave behind every second. A failing probe (503) is news, so
# only 2xx answers are hidden.
_PROBE_ACCESS = re.compile(
    r'"(?:GET|HEAD) /(?:health|metrics)(?:[/?][^ "]*)? HTTP/[0-9.]+" 2\d\d\b'
)


def is_probe_access(text: str) -> bool:
    """Whether `text` is an access-log line of a successful /health or /metrics request."""
    return _PROBE_ACCESS.search(text) is not None


@dataclass(frozen=True, slots=True)
class LogLine:
    seq: int
    """Arrival order across every replica of the screen; never reused."""
    replica: str
    text: str
    notice: bool = False
    """A line fleetdeck wrote itself (a stream ended, resuming), not the replica."""


@dataclass(frozen=True, slots=True)
class ViewOptions:
    """Which of the buffer's lines are shown."""

    replica: str | None = None
    """One replica's lines only; None merges every replica."""
    hide_probes: bool = True
    filter: str = ""
    """Keep only lines containing this (case-insensitive); empty keeps all."""


def contains(text: str, query: str) -> bool:
    return query.casefold() in text.casefold()


def shown(line: LogLine, options: ViewOptions) -> bool:
    """Whether `line` is in the view that `options` describe."""
    if options.replica is not None and line.replica != options.replica:
        return False
    if line.notice:
        return True  # a stream ending is shown whatever the filter: it explains a gap
    if options.hide_probes and is_probe_access(line.text):
        return False
    return not options.filter or contains(line.text, options.filter)


def match_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Where `query` occurs in `text`, case-insensitively, as (start, end) offsets."""
    if not query:
        return []
    # casefold can change lengths (ß -> ss); lower keeps offsets aligned with `text`.
    haystack, needle = text.lower(), query.lower()
    spans: list[tuple[int, int]] = []
    start = haystack.find(needle)
    while start >= 0:
        spans.append((start, start + len(needle)))
        start = haystack.find(needle, start + len(needle))
    return spans


def find_match(lines: Sequence[LogLine], query: str, start: int, *, forward: bool) -> int | None:
    """The index of the next line (after `start`, or before it going back) that contains
    `query`, wrapping around the ends; None if no line does. `start` may be -1 or
    len(lines) to search from an end."""
    count = len(lines)
    if not query or not count:
        return None
    step = 1 if forward else -1
    for offset in range(1, count + 1):
        index = (start + step * offset) % count
        if match_spans(lines[index].text, query):
            return index
    return None


class LogBuffer:
    """Every replica's lines, merged in arrival order, at most `max_lines` of them."""

    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self._lines: deque[LogLine] = deque(maxlen=max_lines)
        self._next_seq = 0
        self._slots: dict[str, int] = {}

    @property
    def max_lines(self) -> int:
        maxlen = self._lines.maxlen
        assert maxlen is not None
        return maxlen

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[LogLine]:
        return iter(self._lines)

    def register(self, replica: str) -> int:
        """Give `replica` its colour slot: the order replicas were first registered, so a
        replica keeps its colour while others come and go."""
        return self._slots.setdefault(replica, len(self._slots))

    def slot(self, replica: str) -> int:
        """The colour slot of `replica`, 0..REPLICA_COLOURS-1."""
        return self.register(replica) % REPLICA_COLOURS

    def append(self, replica: str, text: str, *, notice: bool = False) -> LogLine:
        self.register(replica)
        line = LogLine(self._next_seq, replica, text, notice)
        self._next_seq += 1
        self._lines.append(line)
        return line

    def view(self, options: ViewOptions) -> list[LogLine]:
        return [line for line in self._lines if shown(line, options)]


def short_name(replica: str, deployment: str) -> str:
    """`llama8b/r0` -> `r0`: the deployment is in the title already."""
    prefix = f"{deployment}/"
    return replica[len(prefix) :] if replica.startswith(prefix) else replica


def stream_notice(why: str) -> str:
    """The line shown where a replica's stream ended; its prefix names the replica."""
    return f"── {why} · resuming ──"


def follow_label(paused: bool, new: int) -> str:
    return f"paused ({new} new)" if paused else "following"


def status_line(
    *,
    paused: bool,
    new: int,
    options: ViewOptions,
    wrap: bool,
    search: str,
    match: tuple[int, int] | None,
) -> str:
    """The border subtitle: the follow state first, then whatever changes what is shown.
    `match` is (position, count) of the current search match, 1-based; position 0
    while no match was jumped to yet."""
    parts = [follow_label(paused, new)]
    if search:
        if match is None:
            parts.append(f"/{search}: no match")
        elif match[0]:
            parts.append(f"/{search}: {match[0]} of {match[1]}")
        else:
            parts.append(f"/{search}: {match[1]} lines")
    if options.filter:
        parts.append(f"only '{options.filter}'")
    if not options.hide_probes:
        parts.append("probes shown")
    if wrap:
        parts.append("wrap")
    return " · ".join(parts)


def save_path(directory: Path, deployment: str, replica: str | None, now: datetime) -> Path:
    """A new file name per save: `fleetdeck-logs-<deployment>[-rN]-<local time>.log`."""
    who = deployment if replica is None else f"{deployment}-{short_name(replica, deployment)}"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", who)
    return directory / f"fleetdeck-logs-{safe}-{now:%Y%m%d-%H%M%S}.log"


def saved_text(lines: Iterable[LogLine], deployment: str, *, prefixed: bool) -> str:
    """The lines as a file: the view as shown, prefixes as plain text."""
    width = 0
    rows = list(lines)
    if prefixed:
        width = max((len(short_name(line.replica, deployment)) for line in rows), default=0)
    out = []
    for line in rows:
        prefix = f"{short_name(line.replica, deployment):<{width}} │ " if prefixed else ""
        out.append(prefix + line.text)
    return "".join(f"{row}\n" for row in out)
