"""The one interface every way of reaching a host implements (SSH, or this machine)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str


class Transport(Protocol):
    """Commands are argv lists; a transport quotes them itself (shlex) where a shell is involved."""

    host_name: str

    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None: ...

    async def run(
        self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float | None = None
    ) -> CommandResult: ...

    def stream_lines(
        self, argv: Sequence[str], *, stdin: bytes | None = None
    ) -> AsyncIterator[str]:
        """Lines printed by a long-lived command, until it ends or the consumer stops."""
        ...

    async def close(self) -> None: ...
