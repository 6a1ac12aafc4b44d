"""The fleet's state that every operator shares: desired-count overrides and the journal
of who changed them, kept on the fleet's home host (hosts/remote/fleet_state.py).

The home is the first reachable host by name: the host whose lease is taken first
(core/engine/leases.py), so the process that holds the leases writes there before any
other can, and two writers are serialised by that host's lock. Every observation of a
host brings its copy of the overrides (read when newer than this machine's) and the
lines of its journal this machine has not mirrored yet: no exec of its own, so a cold
`status` stays one exec per host.

A change is written by `share()`: this machine's edits not yet on the home host (kept
in the local copy until then) and the events that say who made them, in one exec. When
no host can take them, they stay in the local copy, the snapshot's `fleet_state.note`
says so, and the next `share()` (the next verb, or a controller's tick) sends them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path

from fleetdeck.core.engine.desired_counts import DesiredCounts
from fleetdeck.core.engine.host_session import HostSession
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import FleetStateView, HostState
from fleetdeck.core.state.fleet_mirror import FleetMirror
from fleetdeck.core.state.journal import EventJournal
from fleetdeck.hosts.errors import HostError
from fleetdeck.hosts.observations import HostObservation

# Mirrored events older than this process (by more than this) are history, not news:
# they go to the journal but not to this process's listeners.
NEWS_SLACK_S = 5.0

EventKey = tuple[float, str, str, str]


def _key(event: Event) -> EventKey:
    return (event.time, event.kind, event.subject, event.message)


class SharedState:
    def __init__(
        self,
        fleet: str,
        sessions: Mapping[str, HostSession],
        desired: Callable[[], DesiredCounts],
        journal: EventJournal,
        directory: Path,
        warn: Callable[[str, str], None],
        started_at: float,
    ) -> None:
        self._fleet = fleet
        self._sessions = sessions
        self._desired = desired
        self._mirror = FleetMirror(journal, directory)
        self._warn = warn  # (kind, message): an event of this process
        self._started_at = started_at
        self._queued: list[Event] = []  # events for the home host's journal, not sent yet
        self._sent: set[EventKey] = set()  # ours: not news when they come back
        self._failure: str | None = None  # why the last share() could not reach home
        self._warned: str | None = None
        self._lock = asyncio.Lock()

    def attach(self, session: HostSession) -> None:
        """A host's observations bring the fleet's state, from where this machine's
        mirror of its journal stopped."""
        session.program.fleet = self._fleet
        session.program.events_cursor = self._mirror.cursor(session.name)

    def observed(self, host: str, observation: HostObservation) -> list[Event]:
        """Take a host's copy of the overrides (when newer) and mirror its journal's new
        lines; the events that are news to this process's listeners."""
        if observation.fleet_overrides is not None:
            self._desired().absorb(observation.fleet_overrides)
        if not observation.fleet_events_id:
            return []
        events = self._mirror.absorb(
            host,
            observation.fleet_events_id,
            observation.fleet_events_end,
            observation.fleet_events,
        )
        return [
            e
            for e in events
            if _key(e) not in self._sent and e.time >= self._started_at - NEWS_SLACK_S
        ]

    def queue(self, event: Event) -> None:
        """For the home host's journal, with the next share()."""
        self._queued.append(event)

    def home(self) -> str | None:
        """The first reachable host by name (its lease is the first taken)."""
        reachable = sorted(n for n, s in self._sessions.items() if s.observation is not None)
        return reachable[0] if reachable else None

    async def share(self) -> bool:
        """Write this machine's unsent edits and queued events to the home host, in one
        exec; False (the note set, a warning event once) when no host took them."""
        async with self._lock:
            desired = self._desired()
            ops = desired.unshared()
            events = list(self._queued)
            if not ops and not events:
                return True
            home = self.home()
            if home is None:
                return self._failed("no host of the fleet is reachable")
            session = self._sessions[home]
            held = session.observation.fleet_overrides if session.observation else None
            local = desired.shared_document()
            newer = local is not None and (held is None or local.order > held.order)
            base = local if newer else None
            lines = [json.dumps(e.model_dump(mode="json")) for e in events]
            try:
                reply = await session.program.write_fleet_state(
                    operator=desired.operator, ops=ops, events=lines, base=base
                )
            except (HostError, asyncio.TimeoutError) as error:
                return self._failed(f"cannot write to {home}: {error}")
            del self._queued[: len(events)]
            self._sent.update(_key(e) for e in events)
            if reply.overrides is not None:
                desired.shared(ops, reply.overrides)
            self._failure = None
            first = min(self._sessions)
            if home != first:
                self._warn_once(
                    "fleet.state-elsewhere",
                    f"{first}, the fleet's home host, is unreachable: the change is written"
                    f" to {home} (the next reachable by name) and this machine's copy; {first}"
                    " gets it with the first change after it is back",
                )
            return True

    def _failed(self, why: str) -> bool:
        self._failure = why
        self._warn_once(
            "fleet.state-local",
            f"{why}: the change is kept in this machine's copy of the fleet's state "
            "only, and sent to the home host with the next change or controller tick",
        )
        return False

    def _warn_once(self, kind: str, message: str) -> None:
        """One event per situation, not one per controller tick."""
        if self._warned != message:
            self._warned = message
            self._warn(kind, message)

    def view(self) -> FleetStateView:
        """For the snapshot: where the overrides come from, and why not the home host."""
        home = self.home()
        first = min(self._sessions, default=None)
        note = None
        if self._failure is not None:
            note = self._failure + ": using this machine's copy"
        elif home is None and self._sessions:
            note = "no host is reachable: using this machine's copy"
        elif (
            home is not None
            and first is not None
            and home != first
            and self._sessions[first].state is HostState.UNREACHABLE
        ):
            note = f"{first} is unreachable: {home} keeps the fleet's state meanwhile"
        return FleetStateView(home=home, revision=self._desired().revision, note=note)
