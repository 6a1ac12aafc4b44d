"""Asking a running `watch` for an observation now: one line up the open channel, one
observation back, instead of a new exec (and a new Python on the host) per refresh.

The host answers an ask by writing `@TOKEN` on the line before the observation that it
started after reading the ask (hosts/remote/main.py:watch). `HostProgram.watch` resolves
the ask once that observation has been taken by its reader, so whoever awaits `ask()`
finds it recorded.
"""

from __future__ import annotations

import asyncio
import itertools

from fleetdeck.hosts.errors import HostError


class WatchAsks:
    """The asks of one watch channel: what goes up it, and who waits for an answer."""

    def __init__(self) -> None:
        self.outgoing: asyncio.Queue[str] = asyncio.Queue()  # lines for the host's stdin
        self._tokens = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[None]] = {}

    def ask(self) -> asyncio.Future[None]:
        """Done once an observation the host started after this ask has been taken."""
        token = str(next(self._tokens))
        answer = asyncio.get_running_loop().create_future()
        self._waiting[token] = answer
        self.outgoing.put_nowait(token + "\n")
        return answer

    def answered(self, token: str) -> None:
        answer = self._waiting.pop(token, None)
        if answer is not None and not answer.done():
            answer.set_result(None)

    def abandon(self, why: HostError) -> None:
        """The channel ended: every waiting ask fails, and its caller observes otherwise."""
        waiting, self._waiting = self._waiting, {}
        for answer in waiting.values():
            if not answer.done():
                answer.set_exception(why)
                answer.exception()  # retrieved: an ask nobody awaits any more is not logged
