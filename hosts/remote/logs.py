"""Read a replica's log: the last N lines, then (with follow) new lines as they come.

Each line goes out as a protocol.LogLineMessage {"offset": END_OFFSET, "line": TEXT}; a
reader that lost its channel asks again from the last offset it saw and gets no gap and
no repeat. When there is no log to read, the last line is a protocol.LogErrorMessage.

Offsets are logical: they count every byte the log ever held, across rotations (see
rotate.py), so an offset stays valid after `log` was rotated into log.1: the rest of
log.1 is read first, then `log` from its start. An offset older than the oldest file
kept gets one notice line saying how many bytes were rotated away unread, then the
oldest byte still there. Lines longer than MAX_LINE go out in pieces, so memory stays
bounded on both ends whatever the log holds.
"""

from __future__ import annotations

import os
import sys
import time
from typing import List, NamedTuple, Optional, Sequence, Tuple

from . import layout, rotate
from .layout import JsonDict
from .protocol import LogErrorMessage, LogLineMessage, Message, encode

CHUNK = 64 * 1024
READ_LIMIT = 1024 * 1024  # per poll; more waits for the next round, without a sleep
MAX_LINE = 8 * 1024  # worst case 6x as JSON escapes: under asyncio's 64 KiB line limit
POLL_S = 0.25


# A line read (the logical offset just after it, its text). Plain tuples, not messages:
# a poll may return 60,000 of them and a frozen dataclass costs ~1 us more per line; each
# becomes a protocol.LogLineMessage only as it is sent.
Line = Tuple[int, str]


class Segment(NamedTuple):
    path: str
    start: int  # logical offset of its first byte
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size


def segments(replica_dir: str, keep: int = 9) -> List[Segment]:
    """log.N .. log.1, log: oldest first, with logical offsets. Call under the log lock."""
    base = rotate.read_base(replica_dir)
    found = [Segment(os.path.join(replica_dir, layout.LOG), base, _size(replica_dir, layout.LOG))]
    start = base
    for number in range(1, keep + 1):
        path = rotate.rotated(replica_dir, number)
        try:
            size = os.path.getsize(path)
        except OSError:
            break
        start -= size
        found.insert(0, Segment(path, start, size))
    if found[0].start < 0:  # a base file lost or rotated files edited: trust `log` only
        return found[-1:]
    return found


def read_range(segs: List[Segment], offset: int, limit: int) -> bytes:
    """Up to `limit` logical bytes from `offset`, across segment boundaries."""
    parts = []
    for seg in segs:
        if offset >= seg.end or limit <= 0:
            continue
        begin = max(offset, seg.start)
        count = min(seg.end - begin, limit)
        try:
            with open(seg.path, "rb") as handle:
                handle.seek(begin - seg.start)
                data = handle.read(count)
        except OSError:
            data = b""
        parts.append(data)
        offset, limit = begin + len(data), limit - len(data)
        if len(data) < count:
            break
    return b"".join(parts)


def tail_start(segs: List[Segment], tail: int) -> int:
    """The logical offset where the last `tail` lines begin."""
    end = segs[-1].end
    if tail <= 0:
        return end
    position = end
    newlines = 0
    while position > segs[0].start:
        step = min(CHUNK, position - segs[0].start)
        position -= step
        data = read_range(segs, position, step)
        # A trailing newline ends the last line; it does not start a new one.
        index = len(data) - 1 if position + step == end and data.endswith(b"\n") else len(data)
        while True:
            index = data.rfind(b"\n", 0, index)
            if index < 0:
                break
            newlines += 1
            if newlines == tail:
                return position + index + 1
    return segs[0].start


def split_lines(pending: bytes, start: int) -> Tuple[List[Tuple[int, bytes]], bytes]:
    """Complete lines (with the logical offset after each) and the unfinished rest.

    `start` is the logical offset of pending's first byte.
    """
    lines: List[Tuple[int, bytes]] = []
    begin = 0  # indexes, not slices: a 1 MiB read of short lines must stay linear
    while True:
        index = pending.find(b"\n", begin, begin + MAX_LINE + 1)
        if index < 0:
            if len(pending) - begin <= MAX_LINE:
                return lines, pending[begin:]
            # Too long for one piece: cut it (the rest follows as the next piece).
            lines.append((start + begin + MAX_LINE, pending[begin : begin + MAX_LINE]))
            begin += MAX_LINE
            continue
        lines.append((start + index + 1, pending[begin:index]))
        begin = index + 1


class LogReader:
    """Reads new lines from a logical offset, one poll at a time."""

    def __init__(self, replica_dir: str, offset: Optional[int], tail: int) -> None:
        self.dir = replica_dir
        self.pending = b""
        with rotate.log_lock(replica_dir, exclusive=False):
            segs = segments(replica_dir)
        self.offset = tail_start(segs, tail) if offset is None else int(offset)

    def poll(self) -> Tuple[List[Line], bool]:
        """Lines to send, and whether more is already waiting. OSError: replica gone."""
        notes = []
        with rotate.log_lock(self.dir, exclusive=False):
            segs = segments(self.dir)
            read_from = self.offset + len(self.pending)
            if read_from < segs[0].start:
                lost = segs[0].start - read_from
                self.offset, self.pending = segs[0].start, b""
                notes.append(
                    _note(self.offset, "%d bytes of this log were rotated away unread" % lost)
                )
                read_from = self.offset
            elif read_from > segs[-1].end:
                # Truncated by something other than rotate.py: we cannot tell what went.
                self.offset, self.pending = segs[-1].start, b""
                notes.append(_note(self.offset, "the log was truncated; reading it from its start"))
                read_from = self.offset
            data = read_range(segs, read_from, READ_LIMIT)
        lines, self.pending = split_lines(self.pending + data, self.offset)
        records = notes + [(end, text.decode("utf-8", "replace")) for end, text in lines]
        if lines:
            self.offset = lines[-1][0]
        return records, len(data) == READ_LIMIT


def _note(offset: int, text: str) -> Line:
    return offset, "[fleetdeck] %s" % text


def stream(request: JsonDict) -> int:
    state_dir = layout.expand_state_dir(request["state_dir"])
    paths = layout.ReplicaPaths(state_dir, request["deployment"], request["replica"])
    if not os.path.isdir(paths.dir):
        _send([LogErrorMessage("no replica %s" % paths.replica_id)])
        return 1
    follow = bool(request.get("follow"))
    try:
        reader: Optional[LogReader] = None
        while True:
            try:
                if reader is None:
                    reader = LogReader(
                        paths.dir, request.get("offset"), int(request.get("tail", 50))
                    )
                records, more = reader.poll()
            except OSError:
                _send([LogErrorMessage("replica %s was removed" % paths.replica_id)])
                return 1
            _send([LogLineMessage(offset, text) for offset, text in records])
            if more:
                continue
            if not follow:
                return 0
            time.sleep(POLL_S)
    except (BrokenPipeError, KeyboardInterrupt):
        return 0


def _send(records: Sequence[Message]) -> None:
    if records:
        sys.stdout.write("".join(encode(record) + "\n" for record in records))
        sys.stdout.flush()


def _size(directory: str, name: str) -> int:
    try:
        return os.path.getsize(os.path.join(directory, name))
    except OSError:
        return 0
