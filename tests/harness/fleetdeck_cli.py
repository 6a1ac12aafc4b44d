"""Driving the real `fleetdeck` CLI from tests: one-shot commands, and `fleetdeck run`
as a subprocess whose JSON-line events are collected as they arrive."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")


class EventStream:
    """A `fleetdeck run` subprocess whose JSON-line events are collected as they come."""

    def __init__(self, inventory: Path, *extra: str) -> None:
        self.process = subprocess.Popen(
            [FLEETDECK, "run", str(inventory), "--interval", "1", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # never left unread: a full pipe would block it
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self.events.append(json.loads(line))

    def wait_for(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events if e["kind"] == kind]
            if found:
                return found[0]
            time.sleep(0.1)
        raise AssertionError(
            f"no {kind} event in {timeout}s; saw {[e['kind'] for e in self.events]}"
        )

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(20)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def fleetdeck(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLEETDECK, *args], capture_output=True, text=True, timeout=timeout)


def status(inventory: Path) -> dict[str, Any]:
    return json.loads(fleetdeck("status", str(inventory), "--json").stdout)


def ready_counts(inventory: Path) -> dict[str, int]:
    return {d["name"]: d["ready"] for d in status(inventory)["deployments"]}


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextlib.contextmanager
def controller_running(inventory: Path, *extra: str) -> Iterator[EventStream]:
    """`fleetdeck run` on `inventory` (and `extra` arguments) for the block; afterwards
    it is stopped and `fleetdeck down` removes whatever the test left running."""
    controller = EventStream(inventory, *extra)
    try:
        yield controller
    finally:
        controller.stop()
        fleetdeck("down", str(inventory))
