"""Writes that are whole or absent, for a state dir whose filesystem may be full.

A full disk makes a write stop part-way: a record would be cut, and the next line
appended after it would be glued to the cut one. Here a record either lands whole or
leaves nothing behind: a temp file is removed when its write fails, and an append that
wrote only part of its bytes is taken back (the file truncated to its size before).

Runs on the hosts' python3: stdlib only, Python 3.8.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import List

# Free space below this on the state dir's filesystem reports the host as "disk full"
# before writes fail: min(64 MiB, 1% of the filesystem). 64 MiB holds more than a log's
# rotation step (the log's cap is 50 MiB) on a big disk; 1% keeps a small filesystem
# (a test's tmpfs, a tiny root) from being "full" while mostly empty.
LOW_SPACE_BYTES = 64 * 1024 * 1024
LOW_SPACE_FRACTION = 0.01


def write_atomic(path: str, text: str, mode: int = 0o644) -> None:
    """Write via a temp file and rename, so a reader never sees half a file.

    On any failure (ENOSPC above all) the temp file is removed and the error raised:
    the old file, if any, stays as it was.
    """
    tmp = "%s.%d.tmp" % (path, os.getpid())  # two writers never share a temp file
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            data = text.encode()
            if os.write(fd, data) != len(data):
                raise OSError(28, "No space left on device (short write)", tmp)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def append_whole(fd: int, data: bytes) -> bool:
    """Append `data` to an O_APPEND file whole, or not at all; True when it landed.

    A short write (the disk filled up part-way) is taken back by truncating the file to
    where those bytes began, so what follows is never glued to a cut record.
    """
    try:
        written = os.write(fd, data)
    except OSError:
        return False  # nothing landed
    if written == len(data):
        return True
    try:
        # O_APPEND leaves the offset just past our bytes. Another writer (the supervisor's
        # notes, a copy-truncate rotation) may have moved the end since: then leave it, a
        # cut tail in the middle beats truncating away someone else's whole record.
        end = os.lseek(fd, 0, os.SEEK_CUR)
        if written > 0 and os.fstat(fd).st_size == end:
            os.ftruncate(fd, end - written)
    except OSError:
        pass
    return False


def append_lines(path: str, lines: List[str]) -> bool:
    """Append lines to a file in one write, whole or not at all."""
    data = "".join(line.rstrip("\n") + "\n" for line in lines if line).encode()
    if not data:
        return True
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError:
        return False
    try:
        return append_whole(fd, data)
    finally:
        os.close(fd)


def low_space(path: str) -> str | None:
    """Why the filesystem holding `path` counts as full, or None while it has room."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    total = stat.f_blocks * stat.f_frsize
    free = stat.f_bavail * stat.f_frsize
    limit = min(LOW_SPACE_BYTES, int(total * LOW_SPACE_FRACTION))
    if total and free <= limit:
        return "state dir %s: %s free of %s (below %s)" % (
            path,
            _size(free),
            _size(total),
            _size(limit),
        )
    if stat.f_files and stat.f_favail == 0:
        return "state dir %s: no free inodes" % path
    return None


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return ("%d %s" if unit == "B" else "%.1f %s") % (value, unit)
        value /= 1024
    return "%d B" % count


class LogPump:
    """Copy a child's output to the log a whole line at a time (see `pump`)."""

    MAX_LINE = 1024 * 1024  # a "line" longer than this is written in pieces

    def __init__(self, log_fd: int) -> None:
        self.log_fd = log_fd
        self.dropped = 0  # lines lost to a full disk since the last one that landed

    # At EOF with lines dropped, the note saying so is tried this long (each second)
    # while the replica's dir stays and no stop is asked: the run was killed while the
    # disk was full, and room may come back soon.
    NOTE_WAIT_S = 30.0

    def _note(self) -> bytes:
        return (
            "[fleetdeck] %s %d log lines dropped: no space left in the state dir\n"
            % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), self.dropped)
        ).encode()

    def deliver(self, data: bytes) -> None:
        lines = data.count(b"\n")
        if self.dropped:
            if append_whole(self.log_fd, self._note() + data):
                self.dropped = 0
            else:
                self.dropped += lines
            return
        if not append_whole(self.log_fd, data):
            self.dropped += lines

    def note_dropped(self, replica_dir: str) -> None:
        """After EOF: say how many lines were dropped, once there is room (bounded)."""
        deadline = time.monotonic() + self.NOTE_WAIT_S
        while self.dropped and time.monotonic() < deadline:
            if not os.path.isdir(replica_dir) or os.path.exists(os.path.join(replica_dir, "stop")):
                return
            if append_whole(self.log_fd, self._note()):
                self.dropped = 0
                return
            time.sleep(1.0)

    def pump(self, source_fd: int) -> None:
        """Read until EOF; write each read's complete lines in one whole-or-absent append."""
        pending = b""
        while True:
            try:
                chunk = os.read(source_fd, 65536)
            except InterruptedError:
                continue
            except OSError:
                break
            if not chunk:
                break
            data = pending + chunk
            cut = data.rfind(b"\n") + 1
            whole, pending = data[:cut], data[cut:]
            if len(pending) > self.MAX_LINE:
                whole, pending = whole + pending + b"\n", b""
            if whole:
                self.deliver(whole)
        if pending:
            self.deliver(pending + b"\n")
