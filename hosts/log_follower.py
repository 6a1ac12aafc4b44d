"""Follow a replica's log across dropped connections: no line lost, none repeated.

The host program sends each line with the logical offset just after it (see
hosts/remote/logs.py). The follower keeps the last offset it handed out; when the
stream breaks (the host went away, the channel closed, a JSON line was cut in half)
it waits with jittered exponential backoff (hosts/backoff.py) and asks again from that
offset. Offsets survive log rotation on the host, so a resume after the log was rotated
reads the rest of the rotated file first.

What is guaranteed: every byte still on the host (log, log.1, log.2) is delivered once,
in order. Bytes rotated away (more than the kept files) before they were read come as
one `[fleetdeck] N bytes ... rotated away unread` line instead; the copy-truncate window
of hosts/remote/rotate.py is the only other way a line can be missed. Until the first
line arrives the follower has no offset, so a resume then starts again from `tail`.

Memory: the follower keeps the last `keep_lines` lines for a screen (a deque; 0 keeps
none, as the CLI does) and each line is at most 8 KiB (longer ones arrive in pieces),
so it holds at most keep_lines x 8 KiB, whatever the log's size.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass

from fleetdeck.hosts.backoff import Backoff, BackoffTimer
from fleetdeck.hosts.errors import HostError, RemoteCommandFailed
from fleetdeck.hosts.host_program import HostProgram, LogLine

# From half a second up to 15 s between tries; +-20 % so many followers do not retry in step.
FOLLOW_BACKOFF = Backoff(first_s=0.5, max_s=15.0, factor=2.0, jitter=0.2)


@dataclass(frozen=True)
class StreamBroken:
    """Why the follower is reconnecting, and after how long; for a status line."""

    reason: str
    retry_in_s: float
    attempt: int


class LogFollower:
    """One replica's log, followed for as long as the caller iterates."""

    def __init__(
        self,
        program: HostProgram,
        deployment: str,
        replica: str,
        *,
        tail: int = 50,
        offset: int | None = None,
        keep_lines: int = 1000,
        backoff: Backoff = FOLLOW_BACKOFF,
        on_break: Callable[[StreamBroken], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.program = program
        self.deployment = deployment
        self.replica = replica
        self.tail = tail
        self.backoff = backoff
        self._offset = offset
        self._recent: deque[str] = deque(maxlen=keep_lines)
        self._on_break = on_break
        self._sleep = sleep
        self.breaks = 0  # how many times the stream broke and was resumed
        self.connected = False

    @property
    def offset(self) -> int | None:
        """Where a resume starts: just after the last line handed out."""
        return self._offset

    @property
    def recent(self) -> tuple[str, ...]:
        """The last keep_lines lines, oldest first (an immutable copy for a screen)."""
        return tuple(self._recent)

    async def follow(self) -> AsyncGenerator[LogLine, None]:
        """New lines forever, resuming after every break; ends only on a terminal error.

        RemoteCommandFailed (the replica has no log, or was removed) is terminal and
        propagates; everything that a reconnect can cure is retried.
        """
        timer = BackoffTimer(self.backoff)
        while True:
            try:
                async with contextlib.aclosing(self._stream()) as lines:
                    async for line in lines:
                        timer.reset()  # data flowed: the next break starts over
                        yield line
                reason = "the log stream ended"  # the channel closed under us
            except RemoteCommandFailed:
                raise
            except (HostError, OSError, asyncio.TimeoutError, ValueError) as exc:
                # ValueError: the last JSON line was cut in half when the connection dropped.
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.connected = False
            self.breaks += 1
            wait = timer.next_delay()
            if self._on_break is not None:
                self._on_break(StreamBroken(reason, wait, self.breaks))
            await self._sleep(wait)

    async def read(self) -> AsyncGenerator[LogLine, None]:
        """The log once, from `offset` or the last `tail` lines, without following."""
        async with contextlib.aclosing(self._stream(follow=False)) as lines:
            async for line in lines:
                yield line

    async def _stream(self, follow: bool = True) -> AsyncGenerator[LogLine, None]:
        stream = self.program.logs(
            self.deployment, self.replica, tail=self.tail, follow=follow, offset=self._offset
        )
        try:
            async for line in stream:
                self.connected = True
                self._offset = line.offset
                self._recent.append(line.text)
                yield line
        finally:
            # A consumer that stops early closes the channel now, not at garbage collection.
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
