"""Events: what the engine did or saw, with the reason, for the CLI, the TUI and the journal."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    time: float
    kind: str  # "replica.starting", "replica.stopped", "apply.failed", ...
    subject: str  # a replica id, deployment or host name
    message: str
    level: str = "info"  # "info" | "warning" | "error"


def of_deployment(name: str) -> Callable[[Event], bool]:
    """Events about deployment `name` itself or one of its replicas ("name/r0"), not
    another deployment whose name starts alike ("name-big")."""
    prefix = f"{name}/"
    return lambda event: event.subject == name or event.subject.startswith(prefix)
