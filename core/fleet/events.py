"""Events: what the engine did or saw, with the reason, for the CLI, the TUI and the journal."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    time: float
    kind: str  # "replica.starting", "replica.stopped", "apply.failed", ...
    subject: str  # a replica id, deployment or host name
    message: str
    level: str = "info"  # "info" | "warning" | "error"
