"""Read a replica's log: the last N lines, then (with follow) new lines as they come.

Each line goes out as JSON {"offset": END_OFFSET, "line": TEXT}; a reader that lost its
channel asks again from the last offset it saw and gets no gap and no repeat.
"""

from __future__ import annotations

import json
import os
import sys
import time

from . import layout
from .layout import JsonDict

CHUNK = 64 * 1024


def start_offset(path: str, tail: int) -> int:
    """The byte offset where the last `tail` lines begin."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 0
    if tail <= 0:
        return size
    with open(path, "rb") as handle:
        position = size
        newlines = 0
        while position > 0:
            step = min(CHUNK, position)
            position -= step
            handle.seek(position)
            data = handle.read(step)
            # A trailing newline ends the last line; it does not start a new one.
            end = len(data) - 1 if position + step == size and data.endswith(b"\n") else len(data)
            index = end
            while True:
                index = data.rfind(b"\n", 0, index)
                if index < 0:
                    break
                newlines += 1
                if newlines == tail:
                    return position + index + 1
    return 0


def stream(request: JsonDict) -> int:
    state_dir = layout.expand_state_dir(request["state_dir"])
    paths = layout.ReplicaPaths(state_dir, request["deployment"], request["replica"])
    path = paths.file(layout.LOG)
    if not os.path.isdir(paths.dir):
        sys.stdout.write(json.dumps({"error": "no replica %s" % paths.replica_id}) + "\n")
        return 1
    offset = request.get("offset")
    if offset is None:
        offset = start_offset(path, int(request.get("tail", 50)))
    follow = bool(request.get("follow"))
    pending = b""
    try:
        while True:
            try:
                size = os.path.getsize(path)
            except OSError:
                size = 0
            if size < offset:  # truncated or rotated: start again from the top
                offset, pending = 0, b""
            if size > offset:
                with open(path, "rb") as handle:
                    handle.seek(offset)
                    data = handle.read(size - offset)
                offset += len(data)
                pending += data
                *complete, pending = pending.split(b"\n")
                end = offset - len(pending)
                out = []
                position = end - sum(len(line) + 1 for line in complete)
                for line in complete:
                    position += len(line) + 1
                    out.append(
                        json.dumps({"offset": position, "line": line.decode("utf-8", "replace")})
                    )
                if out:
                    sys.stdout.write("\n".join(out) + "\n")
                    sys.stdout.flush()
            if not follow:
                return 0
            time.sleep(0.25)
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
