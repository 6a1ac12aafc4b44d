"""Which endpoints a controller on this machine serves, for one-shot commands to report.

`fleetdeck run` (or an open console) serves each deployment's endpoint on 127.0.0.1;
a `fleetdeck status` in another process learns the URLs from this small file in the
fleet's user state directory. The record names the serving process, and a record whose
process is gone is ignored, so a controller killed with -9 never advertises a dead URL.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from fleetdeck.core.state.atomic_file import replace_file

SERVING = "serving.json"


class ServingRecord:
    def __init__(self, directory: Path) -> None:
        self.path = directory / SERVING

    def publish(
        self, endpoints: dict[str, str], routers: list[dict[str, Any]] | None = None
    ) -> None:
        """This process serves `endpoints` (deployment -> URL) and `routers` (each
        endpoint's route and what it measured, as status --json shows them); empty
        withdraws them."""
        if not endpoints and not routers:
            self.withdraw()
            return
        record = {"pid": os.getpid(), "endpoints": endpoints, "routers": routers or []}
        with contextlib.suppress(OSError):  # a record not written: status just lacks it
            replace_file(self.path, json.dumps(record, indent=1))

    def withdraw(self) -> None:
        """Remove the record, if it is this process's."""
        if self._read_pid() == os.getpid():
            with contextlib.suppress(OSError):
                self.path.unlink()

    def endpoints(self) -> dict[str, str]:
        """The URLs a live controller on this machine serves (none if it is gone)."""
        try:
            data = json.loads(self.path.read_text())
            pid, endpoints = int(data["pid"]), data["endpoints"]
        except (OSError, ValueError, KeyError, TypeError):
            return {}
        if not isinstance(endpoints, dict) or not _alive(pid):
            return {}
        return {str(name): str(url) for name, url in endpoints.items()}

    def routers(self) -> list[dict[str, Any]]:
        """Each endpoint a live controller on this machine serves, with its numbers."""
        try:
            data = json.loads(self.path.read_text())
            pid, routers = int(data["pid"]), data.get("routers", [])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return []
        if not isinstance(routers, list) or not _alive(pid):
            return []
        return [router for router in routers if isinstance(router, dict)]

    def _read_pid(self) -> int | None:
        try:
            return int(json.loads(self.path.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive, though not ours
    return True
