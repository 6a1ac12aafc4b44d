"""What the console (the TUI) may ask of the engine: snapshots, events, logs and actions.

The TUI is handed an object with this shape (the Engine) and never reaches hosts itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import FleetSnapshot


class ConsoleBackend(Protocol):
    def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]:
        """A fresh snapshot at most every `interval_s` seconds, forever."""
        ...

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call `listener` with every event from now on (on the engine's loop)."""
        ...

    def follow_logs(self, replica_id: str, tail: int) -> AsyncIterator[str]:
        """The last `tail` lines of a replica's log, then new lines as they come."""
        ...

    async def scale(self, deployment: str, replicas: int) -> None: ...

    async def stop_deployment(self, deployment: str) -> None: ...

    async def start_deployment(self, deployment: str) -> None: ...

    async def restart_deployment(self, deployment: str) -> None: ...
