"""The fleet's shared state on a host: desired-count overrides and the events journal.

<state_dir>/.fleet/<fleet>/overrides.json  {"revision": N, "entries": {...}, ...}
<state_dir>/.fleet/<fleet>/events.jsonl    one event per line, appended, never edited

fleetdeck keeps them on the fleet's home host (the first reachable host by name, the
one whose lease is taken first), so every operator's CLI, console and controller reads
the same desired counts and the same record of who changed them. Writes are serialised
by flock on <state_dir>/lock, the lock leases are taken under; each write applies a list
of edits to the newest document it knows and bumps the revision, so the later of two
writers wins and neither's edit is lost halfway.

Runs on the hosts' python3: stdlib only, Python 3.8.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from typing import Any, List, Optional, Tuple

from . import layout, records
from .layout import JsonDict
from .lease import read_lease
from .protocol import FleetOverrides, FleetWriteReply

FLEET_DIR = ".fleet"  # a dot: never taken for a deployment (layout.iter_replicas)
OVERRIDES = "overrides.json"
EVENTS = "events.jsonl"
# An observation carries at most this much of the journal; the rest comes with the next.
EVENTS_PER_REPLY = 256 * 1024
# Past this size the journal starts again (a new file: readers see a new id).
EVENTS_MAX_BYTES = 8 * 1024 * 1024


def fleet_dir(state_dir: str, fleet: str) -> str:
    return os.path.join(state_dir, FLEET_DIR, fleet)


def valid_fleet(fleet: object) -> bool:
    """The inventory allows A-Z a-z 0-9 . _ - ; never a path of its own."""
    if not isinstance(fleet, str) or not fleet or fleet in (".", ".."):
        return False
    return all(c.isalnum() and c.isascii() or c in "._-" for c in fleet)


def read_overrides(state_dir: str, fleet: str) -> Optional[FleetOverrides]:
    """The overrides document, or None when this host has none (or not a readable one)."""
    path = os.path.join(fleet_dir(state_dir, fleet), OVERRIDES)
    try:
        data = json.loads(layout.read_text(path, "null"))
        return _document(data)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _document(data: Any) -> Optional[FleetOverrides]:
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        return None
    return FleetOverrides(
        revision=int(data["revision"]),
        entries=data["entries"],
        written_at=float(data.get("written_at", 0.0)),
        written_by=str(data.get("written_by", "")),
    )


def read_events(state_dir: str, fleet: str, after: Any) -> Tuple[str, int, Tuple[str, ...]]:
    """(the journal's id, the offset after the lines returned, the whole lines after
    `after` = {"id", "offset"}); from the start when `after` names another file."""
    path = os.path.join(fleet_dir(state_dir, fleet), EVENTS)
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            journal_id = "%d-%d" % (stat.st_dev, stat.st_ino)
            offset = 0
            if isinstance(after, dict) and after.get("id") == journal_id:
                offset = max(0, min(int(after.get("offset") or 0), stat.st_size))
            handle.seek(offset)
            data = handle.read(EVENTS_PER_REPLY)
    except (OSError, ValueError, TypeError):
        return "", 0, ()
    whole = data[: data.rfind(b"\n") + 1]  # a line being appended comes next time
    lines = tuple(line for line in whole.decode("utf-8", "replace").split("\n") if line)
    return journal_id, offset + len(whole), lines


def write(request: JsonDict) -> FleetWriteReply:
    """Apply `ops` to the newest overrides document (this host's or `base`), append
    `events` (JSON lines) to the journal, under the host's lock; the document written."""
    state_dir = layout.expand_state_dir(request["state_dir"])
    fleet = request.get("fleet")
    if not valid_fleet(fleet):
        return FleetWriteReply(ok=False, error="not a fleet name: %r" % (fleet,))
    directory = fleet_dir(state_dir, str(fleet))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    with open(os.path.join(state_dir, "lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_overrides(state_dir, str(fleet))
        try:
            base = _document(request.get("base"))
        except (ValueError, TypeError, KeyError):
            base = None
        if base is not None and (current is None or base.order > current.order):
            current = base  # written elsewhere while this host was away
        entries = dict(current.entries) if current is not None else {}
        apply_ops(entries, request.get("ops") or [])
        revision = (current.revision if current is not None else 0) + 1
        document = FleetOverrides(
            revision=revision,
            entries=entries,
            written_at=time.time(),
            written_by=str(request.get("operator", "")),
        )
        try:
            if request.get("ops"):
                path = os.path.join(directory, OVERRIDES)
                layout.write_atomic(path, json.dumps(_as_json(document), indent=1), 0o600)
            else:
                document = current or document
            lines: List[str] = [str(line) for line in request.get("events") or []]
            _append_events(os.path.join(directory, EVENTS), lines)
        except OSError as error:
            return FleetWriteReply(ok=False, error=str(error))
        lease = read_lease(state_dir)
        holder = lease.holder if lease is not None and lease.expires_at > time.time() else None
        return FleetWriteReply(ok=True, overrides=document, lease_holder=holder)


def apply_ops(entries: JsonDict, ops: List[Any]) -> None:
    """["set", key, value], ["drop", key] or ["clear"], in order."""
    for op in ops:
        if not isinstance(op, list) or not op:
            continue
        if op[0] == "set" and len(op) == 3:
            entries[str(op[1])] = op[2]
        elif op[0] == "drop" and len(op) == 2:
            entries.pop(str(op[1]), None)
        elif op[0] == "clear":
            entries.clear()


def _append_events(path: str, lines: List[str]) -> None:
    if not lines:
        return
    try:
        if os.path.getsize(path) > EVENTS_MAX_BYTES:
            os.replace(path, path + ".1")
    except OSError:
        pass
    if not records.append_lines(path, lines):
        raise OSError(28, "cannot append to the fleet's events journal", path)


def _as_json(document: FleetOverrides) -> JsonDict:
    return {
        "revision": document.revision,
        "entries": document.entries,
        "written_at": document.written_at,
        "written_by": document.written_by,
    }
