"""Driving the real `fleetdeck` CLI from tests: one-shot commands, and `fleetdeck run`
as a subprocess whose JSON-line events are collected as they arrive."""

from __future__ import annotations

import contextlib
import json
import os
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

    def __init__(self, inventory: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [FLEETDECK, "run", str(inventory), "--interval", "1", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # never left unread: a full pipe would block it
            text=True,
            env=with_env(env),
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


def with_env(env: dict[str, str] | None) -> dict[str, str] | None:
    """This process's environment with `env` on top (another operator: XDG_STATE_HOME,
    FLEETDECK_OPERATOR); None: inherited as is."""
    return None if env is None else {**os.environ, **env}


def fleetdeck(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLEETDECK, *args], capture_output=True, text=True, timeout=timeout, env=with_env(env)
    )


def status(inventory: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    return json.loads(fleetdeck("status", str(inventory), "--json", env=env).stdout)


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
def controller_running(
    inventory: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[EventStream]:
    """`fleetdeck run` on `inventory` (and `extra` arguments) for the block; afterwards
    it is stopped and `fleetdeck down` removes whatever the test left running."""
    controller = EventStream(inventory, *extra, env=env)
    try:
        yield controller
    finally:
        controller.stop()
        fleetdeck("down", str(inventory), env=env)
