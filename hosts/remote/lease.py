"""A lease per host: which controller may act on it, so two never fight.

<state_dir>/lease.json holds {holder, expires_at}. Taking or renewing it is serialised by
flock on <state_dir>/lock, like launches; an expired lease may be taken by anyone.
"""

from __future__ import annotations

import fcntl
import json
import os
import time

from . import layout
from .layout import JsonDict

LEASE = "lease.json"


def read_lease(state_dir: str) -> JsonDict | None:
    try:
        data = json.loads(layout.read_text(os.path.join(state_dir, LEASE), "null"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def take(request: JsonDict) -> JsonDict:
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
            and current.get("holder") not in (holder, stale_holder)
            and current.get("expires_at", 0) > now
        ):
            return {"ok": True, "acquired": False, "lease": current}
        if ttl <= 0:
            if current and current.get("holder") == holder:
                os.remove(os.path.join(state_dir, LEASE))
            return {"ok": True, "acquired": False, "lease": None}
        lease = {"holder": holder, "expires_at": now + ttl, "renewed_at": now}
        layout.write_atomic(os.path.join(state_dir, LEASE), json.dumps(lease))
        return {"ok": True, "acquired": True, "lease": lease}
