"""Cap a replica's log: past a size, its bytes move to log.1 (log.1 to log.2, ...).

Run by the supervisor itself (`PROGRAM rotate REPLICA_DIR MAX_BYTES KEEP`), so the cap
holds while no console is connected.

Copy-truncate, not rename: vLLM writes to the supervisor's `>>log` descriptor (O_APPEND),
which nobody can reopen for it; after a rename vLLM would go on filling log.1. With
O_APPEND, a truncate is safe for the writer: its next write lands at the new end, with no
hole. The cost is a window: bytes written between the copy's last read (which found the
end of the file) and the truncate just after it are lost. That is two system calls
apart, microseconds, and only while vLLM runs; the rotation the supervisor does before
each (re)start has no writer and loses nothing.

Readers stay exact across rotations through logical offsets: `log.base` holds how many
bytes have been moved out of `log` so far, so byte B of `log` is logical offset base + B,
and log.1 ends exactly where log begins. Rotation and readers serialise on
flock(log.lock), so a reader never sees a truncated log with a stale base.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from typing import Iterator, List

from . import layout

LOCK = "log.lock"
BASE = "log.base"
COPY_CHUNK = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_KEEP = 2


def rotated(replica_dir: str, number: int) -> str:
    return os.path.join(replica_dir, "%s.%d" % (layout.LOG, number))


def read_base(replica_dir: str) -> int:
    return layout.read_int(os.path.join(replica_dir, BASE)) or 0


@contextlib.contextmanager
def log_lock(replica_dir: str, exclusive: bool) -> Iterator[None]:
    """Shared for readers, exclusive for a rotation. OSError when the replica is gone."""
    fd = os.open(os.path.join(replica_dir, LOCK), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def rotate(replica_dir: str, max_bytes: int, keep: int = DEFAULT_KEEP) -> bool:
    """Rotate when `log` is over max_bytes; True when it did."""
    log = os.path.join(replica_dir, layout.LOG)
    if _size(log) <= max_bytes:  # the common case: no lock, no open
        return False
    with log_lock(replica_dir, exclusive=True):
        try:
            fd = os.open(log, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            if os.fstat(fd).st_size <= max_bytes:  # someone rotated while we waited
                return False
            for number in range(keep, 1, -1):
                if os.path.exists(rotated(replica_dir, number - 1)):
                    os.replace(rotated(replica_dir, number - 1), rotated(replica_dir, number))
            copied = _copy_then_truncate(fd, rotated(replica_dir, 1) if keep > 0 else None)
            # Only now do readers see the new base; they were blocked by the lock meanwhile.
            base = read_base(replica_dir) + copied
            layout.write_atomic(os.path.join(replica_dir, BASE), "%d\n" % base)
        finally:
            os.close(fd)
    return True


def _copy_then_truncate(fd: int, target: str | None) -> int:
    """Copy fd's bytes to target (None: drop them) and truncate fd; bytes moved."""
    tmp = None if target is None else target + ".tmp"
    out = None if tmp is None else os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    copied = 0
    try:
        while True:
            data = os.pread(fd, COPY_CHUNK, copied)
            if not data:
                # The end, as of this read: truncate at once, the window is this gap.
                os.ftruncate(fd, 0)
                break
            if out is not None:
                _write_all(out, data)
            copied += len(data)
    finally:
        if out is not None:
            os.close(out)
    if tmp is not None and target is not None:
        os.replace(tmp, target)
    return copied


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def main(argv: List[str]) -> int:
    """`rotate REPLICA_DIR [MAX_BYTES [KEEP]]`, as the supervisor calls it."""
    replica_dir = argv[0]
    max_bytes = int(argv[1]) if len(argv) > 1 else DEFAULT_MAX_BYTES
    keep = int(argv[2]) if len(argv) > 2 else DEFAULT_KEEP
    try:
        rotate(replica_dir, max_bytes, max(0, keep))
    except OSError as exc:  # the replica was removed under us, or the disk is full
        sys.stderr.write("rotate %s: %s\n" % (replica_dir, exc))
        return 1
    return 0
