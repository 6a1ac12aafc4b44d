"""What the console (the TUI) may ask of the engine: snapshots, events, logs and actions.

The TUI is handed an object with this shape, `FleetIntents` (or a small scripted one in
its tests), and never reaches hosts itself. The verbs are the CLI's own, one
implementation each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.intents.host_keys import HostKeyReport
from fleetdeck.core.intents.outcome import IntentOutcome
from fleetdeck.core.inventory import Inventory
from fleetdeck.core.policy.plan import Plan


class ConsoleBackend(Protocol):
    def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]:
        """A fresh snapshot at most every `interval_s` seconds, forever."""
        ...

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call `listener` with every event from now on (on the engine's loop)."""
        ...

    async def event_history(
        self, deployment: str | None = None, *, last: int = 0
    ) -> tuple[Event, ...]:
        """The journal's events, oldest first: all, or `deployment`'s own and its
        replicas'; with `last`, the newest `last` (the detail screen's events panel starts
        from them). Read off the event loop; a missing journal has none."""
        ...

    def follow_logs(self, replica_id: str, *, tail: int = 200) -> AsyncIterator[str]:
        """The last `tail` lines of a replica's log, then new lines as they come, across
        reconnects and the replica's restarts."""
        ...

    def export(self, deployment: str) -> dict[str, Any]:
        """The deployment's inventory entry: what the user wrote, secrets as references
        (the detail screen's inventory panel)."""
        ...

    async def scale(self, deployment: str, replicas: int) -> IntentOutcome: ...

    async def stop(self, deployment: str) -> IntentOutcome: ...

    async def route(self, endpoint: str, deployment: str) -> IntentOutcome:
        """All of an [[endpoints]] entry's traffic to one of its backends (blue-green)."""
        ...

    async def start(self, deployment: str) -> IntentOutcome: ...

    async def restart(self, deployment: str) -> IntentOutcome: ...

    # -- the deployment form -----------------------------------------------------------
    @property
    def inventory_path(self) -> Path:
        """The inventory file the form edits."""
        ...

    def inventory_text(self) -> str:
        """That file's text as it is on disk now."""
        ...

    def plan_for(self, inventory: Inventory) -> Plan:
        """The plan a changed inventory would make now (shown before saving)."""
        ...

    async def apply_inventory(self, text: str, *, based_on: str) -> IntentOutcome:
        """Write `text` as the inventory (refused if the file is no longer `based_on`),
        take it and apply it: the CLI's `apply`."""
        ...

    # -- the trust dialog --------------------------------------------------------------
    def key_refusals(self) -> tuple[str, ...]:
        """The hosts refused because known_hosts does not vouch for their key."""
        ...

    async def host_key(self, host: str) -> HostKeyReport:
        """The key `host` presents and how its known_hosts stands towards it."""
        ...

    def trust(self, report: HostKeyReport, *, replace: bool = False) -> bool:
        """Write that key to known_hosts (`fleetdeck trust`'s own code)."""
        ...
