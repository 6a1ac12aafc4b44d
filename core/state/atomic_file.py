"""Replace a small state file in one step: a reader sees the old text or the new, never
half of it, and a failed write leaves the old file and no temporary behind.

Written by hand rather than with a library: it is a temp file in the same directory and
an os.replace, and each caller decides whether the file must also survive a crash
(`durable`: fsync the file before the rename and the directory after it)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def replace_file(path: Path, text: str, *, durable: bool = False) -> None:
    """Write `text` to `path` through a temporary file; OSError when it cannot."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if durable:
        _fsync_directory(path.parent)  # the rename itself survives a crash


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
