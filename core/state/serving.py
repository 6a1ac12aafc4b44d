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
import tempfile
from pathlib import Path

SERVING = "serving.json"


class ServingRecord:
    def __init__(self, directory: Path) -> None:
        self.path = directory / SERVING

    def publish(self, endpoints: dict[str, str]) -> None:
        """This process serves `endpoints` (deployment -> URL); empty withdraws them."""
        if not endpoints:
            self.withdraw()
            return
        data = json.dumps({"pid": os.getpid(), "endpoints": endpoints}, indent=1)
        handle, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".serving-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as file:
                file.write(data)
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

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
