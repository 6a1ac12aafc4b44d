"""The engine's live side: one watch channel per host, and a round each second that keeps
the deployments' endpoints in step with their ready replicas and scrapes /metrics.

Running only while someone reads (the TUI, a controller): `watching()` is reference
counted, and an inventory change adds or drops hosts' tasks (`sync()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from fleetdeck.core.engine.host_session import HostSession
from fleetdeck.core.fleet.snapshot import METRICS_INTERVAL_S, HostState
from fleetdeck.hosts.backoff import Backoff, BackoffTimer
from fleetdeck.hosts.errors import HostError

if TYPE_CHECKING:
    from fleetdeck.core.engine.engine import Engine

# Between observations each host looks this often for a replica turning ready or dying
# and then observes at once (hosts/remote/observe.wait_for_change): a /health that turns
# 200 shows in the console within about this, not up to a whole watch interval later.
DETECT_S = 0.1

# After a lost watch: 1 s, doubling to 15 s, +-20 % so many hosts are not retried in step.
WATCH_BACKOFF = Backoff(first_s=1.0, max_s=15.0, factor=2.0, jitter=0.2)


class HostWatchers:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._readers = 0
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._interval_s = 1.0
        self._round: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def watching(self, interval_s: float) -> AsyncIterator[None]:
        self._readers += 1
        if self._readers == 1:
            self._interval_s = interval_s
            self.sync()
            self._round = asyncio.create_task(self._endpoints_and_metrics())
        try:
            yield
        finally:
            self._readers -= 1
            if self._readers == 0:
                tasks, self._tasks = list(self._tasks.values()), {}
                if self._round is not None:
                    tasks.append(self._round)
                    self._round = None
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def first_observations(self) -> None:
        """Until every host has reported or been found unreachable, so that no reader
        sees a healthy fleet as stopped; bounded by the slowest connect timeout."""
        sessions = self.engine.sessions
        limit = max((s.host.connect_timeout for s in sessions.values()), default=0.0) + 5.0
        deadline = time.monotonic() + limit
        # Polled: the state changes in each host's own watch task, so no one event says
        # "all reported"; 50 ms is well under a watch interval.
        while time.monotonic() < deadline and any(  # noqa: ASYNC110
            s.state is HostState.CONNECTING for s in sessions.values()
        ):
            await asyncio.sleep(0.05)

    def sync(self) -> None:
        """One watch task per current session (after an inventory change too)."""
        if not self._readers:
            return
        sessions = self.engine.sessions
        for name, task in list(self._tasks.items()):
            if name not in sessions or task.get_name() != f"watch:{id(sessions[name])}":
                task.cancel()
                del self._tasks[name]
        for name, session in sessions.items():
            if name not in self._tasks:
                self._tasks[name] = asyncio.create_task(
                    self._watch_host(session), name=f"watch:{id(session)}"
                )

    def retry_now(self, name: str) -> None:
        """Watch `name` again at once, not after its backoff (its key was just trusted)."""
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()
        self.sync()

    async def _watch_host(self, session: HostSession) -> None:
        timer = BackoffTimer(WATCH_BACKOFF)
        while True:
            try:
                detect_s = DETECT_S if self.engine.detect_changes else 0.0
                async for observation in session.watch(self._interval_s, detect_s):
                    self.engine.track(session.name, observation)
                    timer.reset()  # the channel works: the next break starts over
                raise HostError(f"lost the watch channel to {session.name}", "it ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure must not end the watch
                if not isinstance(exc, HostError):
                    exc = HostError(
                        f"the watch of {session.name} failed",
                        f"{type(exc).__name__}: {exc}",
                        "fleetdeck retries; report this if it repeats",
                    )
                self.engine.lost(session, exc)
            await asyncio.sleep(timer.next_delay())

    async def _endpoints_and_metrics(self) -> None:
        """Endpoints follow the ready replicas each second; /metrics every 2 s."""
        engine = self.engine
        next_scrape = 0.0
        try:
            while True:
                scrape = time.monotonic() >= next_scrape
                if scrape:
                    next_scrape = time.monotonic() + METRICS_INTERVAL_S
                await engine.serve_round(scrape=scrape)
                await asyncio.sleep(1.0)
        finally:
            await engine.close_endpoints()
