"""Where fleetdeck keeps the console user's own state for one inventory file.

$XDG_STATE_HOME/fleetdeck/<fleet>-<hash of the inventory's path>/ (default
~/.local/state/...): the event journal, and this machine's copies of the fleet's
overrides (scale, stop) and journal, whose home is the fleet's first host
(core/engine/shared_state.py).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from fleetdeck.core.inventory import Inventory


def user_state_dir(inventory: Inventory) -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    digest = hashlib.sha256(str(inventory.source.resolve()).encode()).hexdigest()[:10]
    path = base / "fleetdeck" / f"{inventory.fleet.name}-{digest}"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
