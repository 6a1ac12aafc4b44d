"""A lease per host: which controller may act on it, so two never fight.

<state_dir>/lease.json holds a protocol.Lease {holder, expires_at, renewed_at}. Taking or
renewing it is serialised by flock on <state_dir>/lock, like launches; an expired lease
may be taken by anyone.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from typing import Optional

from . import layout
from .layout import JsonDict
from .protocol import Lease, LeaseReply, encode

LEASE = "lease.json"


def read_lease(state_dir: str) -> Optional[Lease]:
    """The lease as written, or None when there is none or the file does not read as one."""
    try:
        data = json.loads(layout.read_text(os.path.join(state_dir, LEASE), "null"))
        return Lease(
            holder=str(data["holder"]),
            expires_at=float(data["expires_at"]),
            renewed_at=None if data.get("renewed_at") is None else float(data["renewed_at"]),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def take(request: JsonDict) -> LeaseReply:
    """Take or renew the lease for `holder` for `ttl_s` seconds; release with ttl_s = 0."""
    state_dir = layout.expand_state_dir(request["state_dir"])
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    holder = str(request["holder"])
    ttl = float(request.get("ttl_s", 30.0))
    # The console knows when a holder is a dead process on its own machine; only it
    # may say so, and only for that exact holder.
    stale_holder = request.get("stale_holder")
    now = time.time()
    with open(os.path.join(state_dir, "lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_lease(state_dir)
        if (
            current is not None
            and current.holder not in (holder, stale_holder)
            and current.expires_at > now
        ):
            return LeaseReply(ok=True, acquired=False, lease=current)
        if ttl <= 0:
            if current is not None and current.holder == holder:
                os.remove(os.path.join(state_dir, LEASE))
            return LeaseReply(ok=True, acquired=False, lease=None)
        lease = Lease(holder=holder, expires_at=now + ttl, renewed_at=now)
        layout.write_atomic(os.path.join(state_dir, LEASE), encode(lease))
        return LeaseReply(ok=True, acquired=True, lease=lease)
