"""A recording played back as a ConsoleBackend: the console reads it as it reads the
engine, on a player clock with pause, step, speed and seek. Every verb that would
change the fleet is refused: a recording is the past."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fleetdeck.core.errors import UsageError
from fleetdeck.core.fleet.events import Event, of_deployment
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.intents.host_keys import HostKeyReport
from fleetdeck.core.intents.outcome import IntentOutcome
from fleetdeck.core.inventory import Inventory
from fleetdeck.core.policy.plan import Plan
from fleetdeck.core.recording.reader import Recording

SPEEDS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
FRAME_S = 0.1  # the shortest wait between two snapshots handed to the console
REFUSED = "this is a replay of a recording: nothing in the fleet can be changed from it"


def clock_text(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ReplaySource:
    def __init__(
        self,
        recording: Recording,
        *,
        paused: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recording = recording
        self._clock = clock
        self._position = 0.0  # seconds into the recording when `_since` was read
        self._since = clock()
        self._paused = paused
        self._speed = SPEEDS[0]
        self._listeners: list[Callable[[Event], None]] = []
        self._told_until = recording.start  # events up to here went to the listeners
        self._changed = asyncio.Event()
        self.on_change: Callable[[], None] | None = None
        """Called after every pause, step, speed change and seek (the console's title)."""

    # -- the player -----------------------------------------------------------------------
    @property
    def position(self) -> float:
        """Seconds into the recording, on the player's clock."""
        at = self._position
        if not self._paused:
            at += (self._clock() - self._since) * self._speed
        return min(at, self.recording.duration)

    @property
    def paused(self) -> bool:
        return self._paused or self.position >= self.recording.duration

    @property
    def speed(self) -> float:
        return self._speed

    def status(self) -> str:
        """ "0:12:30 / 1:00:00 · 4× · paused" """
        state = " · paused" if self.paused else ""
        speed = f"{self._speed:g}×"
        where = f"{clock_text(self.position)} / {clock_text(self.recording.duration)}"
        return f"{where} · {speed}{state}"

    def _set(self, position: float, *, paused: bool | None = None) -> None:
        self._position = min(max(position, 0.0), self.recording.duration)
        self._since = self._clock()
        if paused is not None:
            self._paused = paused
        self._changed.set()
        if self.on_change is not None:
            self.on_change()

    def toggle_pause(self) -> None:
        if not self.paused:
            self._set(self.position, paused=True)
            return
        # Playing again at the end starts over, as a media player does.
        at_end = self.position >= self.recording.duration
        self._set(0.0 if at_end else self.position, paused=False)

    def pause(self) -> None:
        self._set(self.position, paused=True)

    def play(self) -> None:
        self._set(self.position, paused=False)

    def step(self, frames: int = 1) -> None:
        """Pause, then move `frames` snapshots along (back when negative)."""
        recording = self.recording
        index = recording.index_at(recording.start + self.position) + frames
        index = min(max(index, 0), len(recording) - 1)
        self._set(recording.time_of(index) - recording.start, paused=True)

    def seek(self, seconds: float) -> None:
        self._set(seconds)

    def faster(self, steps: int = 1) -> None:
        index = SPEEDS.index(self._speed) if self._speed in SPEEDS else 0
        self.set_speed(SPEEDS[min(max(index + steps, 0), len(SPEEDS) - 1)])

    def set_speed(self, speed: float) -> None:
        at = self.position
        self._speed = min(max(speed, SPEEDS[0]), SPEEDS[-1])
        self._set(at)

    # -- ConsoleBackend -------------------------------------------------------------------
    async def snapshots(self, interval_s: float) -> AsyncGenerator[FleetSnapshot, None]:
        recording = self.recording
        shown = -1
        while True:
            self._changed.clear()
            now = recording.start + self.position
            index = recording.index_at(now)
            if now > self._told_until:
                for event in recording.events_between(self._told_until, now):
                    for listener in self._listeners:
                        listener(event)
            self._told_until = now  # back after a seek: only what follows is told again
            if index != shown:
                shown = index
                yield recording.snapshot(index)
            await self._wait(index, interval_s)

    async def _wait(self, index: int, interval_s: float) -> None:
        wait = interval_s
        if not self.paused and index + 1 < len(self.recording):
            due = self.recording.time_of(index + 1) - self.recording.start - self.position
            # At most FRAME_S apart: at 60x a frame a snapshot would be 60 a second,
            # more than the console draws at 80 replicas; it skips some instead.
            wait = min(max(due / self._speed, FRAME_S), interval_s)
        elif self.paused:
            wait = 3600.0  # until a key moves the player
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout=wait)

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    async def event_history(
        self, deployment: str | None = None, *, last: int = 0
    ) -> tuple[Event, ...]:
        now = self.recording.start + self.position
        accept = of_deployment(deployment) if deployment is not None else None
        events = [
            e for e in self.recording.events if e.time <= now and (accept is None or accept(e))
        ]
        return tuple(events[-last:] if last > 0 else events)

    async def follow_logs(self, replica_id: str, *, tail: int = 200) -> AsyncIterator[str]:
        yield f"{replica_id}: logs are not part of a recording (only snapshots and events)"
        await asyncio.Event().wait()  # a log stream ends when its screen closes

    def export(self, deployment: str) -> dict[str, Any]:
        found = self.recording.exports.get(deployment)
        if found is None:
            raise UsageError(
                f"{self.recording.path}: no inventory entry of {deployment!r}",
                "the recording began without it (it was added to the inventory later)",
                "nothing to show",
            )
        return dict(found)

    async def scale(self, deployment: str, replicas: int) -> IntentOutcome:
        raise UsageError(f"cannot scale {deployment}", REFUSED, "open the live console for that")

    async def stop(self, deployment: str) -> IntentOutcome:
        raise UsageError(f"cannot stop {deployment}", REFUSED, "open the live console for that")

    async def route(self, endpoint: str, deployment: str) -> IntentOutcome:
        raise UsageError(f"cannot route {endpoint}", REFUSED, "open the live console for that")

    async def start(self, deployment: str) -> IntentOutcome:
        raise UsageError(f"cannot start {deployment}", REFUSED, "open the live console for that")

    async def restart(self, deployment: str) -> IntentOutcome:
        raise UsageError(f"cannot restart {deployment}", REFUSED, "open the live console for that")

    # -- the form and the trust dialog: the past has no inventory to edit, no host to trust
    @property
    def inventory_path(self) -> Path:
        return self.recording.path

    def inventory_text(self) -> str:
        raise UsageError("cannot edit the inventory", REFUSED, "open the live console for that")

    def plan_for(self, inventory: Inventory) -> Plan:
        raise UsageError("cannot plan a change", REFUSED, "open the live console for that")

    async def apply_inventory(self, text: str, *, based_on: str) -> IntentOutcome:
        raise UsageError("cannot apply an inventory", REFUSED, "open the live console for that")

    def key_refusals(self) -> tuple[str, ...]:
        return ()  # a recording holds no live connection to refuse

    async def host_key(self, host: str) -> HostKeyReport:
        raise UsageError(f"cannot read {host}'s key", REFUSED, "open the live console for that")

    def trust(self, report: HostKeyReport, *, replace: bool = False) -> bool:
        raise UsageError("cannot trust a host key", REFUSED, "open the live console for that")
