"""Messages that travel up the widget tree; named for what already happened."""

from __future__ import annotations

from textual.message import Message

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import FleetSnapshot


class SnapshotReceived(Message):
    """The engine published a new fleet snapshot."""

    def __init__(self, snapshot: FleetSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        # Flood control: if the screen falls behind, only the newest snapshot matters.
        return isinstance(message, SnapshotReceived)


class DeploymentSelected(Message):
    """The user picked a deployment (Enter or click on its row)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class EventReceived(Message):
    """The engine emitted an event (every one counts: none replaces another)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class ActionSucceeded(Message):
    """The engine carried out an action the user asked for ("scaled llama8b to 3")."""

    def __init__(self, deployment: str, summary: str) -> None:
        super().__init__()
        self.deployment = deployment
        self.summary = summary
