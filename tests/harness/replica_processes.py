"""Which processes on this machine are fleetdeck replicas under given state dirs."""

from __future__ import annotations

import os
from pathlib import Path


def replica_pids(*state_dirs: Path | str) -> set[int]:
    """Live (not zombie) processes whose environment marks them as a replica under one of
    `state_dirs`: vLLM's leader and everything it forked (EngineCore, workers)."""
    markers = [f"FLEETDECK_REPLICA={d}".encode() for d in state_dirs]
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and any(item.startswith(m) for item in environ for m in markers):
            found.add(int(entry))
    return found
