"""Host history: the exits each replica's supervisor recorded, merged into the journal.

A replica's supervisor runs on its host with no fleetdeck process connected: it records
each exit of vLLM (code, time, restarted or stopped) in the replica's `exits` file and
restarts it. Whenever any fleetdeck process observes a host (a one-shot command, `run`,
the console), each exit the journal does not hold yet becomes a "replica.exited" event
dated at the exit's own time on the host, so `fleetdeck events` tells what happened
while nobody watched.

An exit is known by (replica id, its time): a controller that saw it live and a later
one-shot command make the same key, so each exit is journaled once. A process loads the
keys from the journal's recent end once, keeps them in a set, and re-reads the journal
under its lock before it writes, so two processes observing at once write an exit once.
Exits older than what was read (the journal's start, or the start of the part read when
it is long) are not merged: they may be in the part not read.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable

from filelock import Timeout

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.policy.failure_reason import classify_failure
from fleetdeck.core.state.journal import EventJournal, JournalTail
from fleetdeck.hosts.observations import ExitRecord, HostObservation, ReplicaObservation

EXITED = "replica.exited"

ExitKey = tuple[str, float]  # (replica id, the exit's time on its host)


def exit_message(
    host: str, record: ExitRecord, log_tail: Iterable[str] = (), *, stop_requested: bool = False
) -> tuple[str, str]:
    """(message, level) for one exit; `log_tail` only for the latest run's exit.
    `stop_requested`: read it as following a stop though the record does not say."""
    code = record.code
    if record.stopped or stop_requested:
        signal_number = -code if code < 0 else code - 128 if code > 128 else None
        how = f" (killed by signal {signal_number})" if signal_number else ""
        return (
            f"exited with code {code}{how} on {host} after a stop request; not restarted",
            "info",
        )
    why = classify_failure(code, tuple(log_tail))
    restarts = "the supervisor restarts it after its backoff"
    return f"exited with code {code} on {host} ({why}); {restarts}", "warning"


def replica_exits(host: str, replica: ReplicaObservation) -> list[Event]:
    """Every exit its supervisor recorded, as events dated when it happened."""
    events = []
    last = len(replica.exits) - 1
    for index, record in enumerate(replica.exits):
        message, level = exit_message(
            host,
            record,
            replica.log_tail if index == last else (),
            # An older fleetdeck's supervisor does not say; its last exit, with the stop
            # file there and vLLM gone, followed the stop (or came just before it).
            stop_requested=record.stopped is None
            and index == last
            and replica.stop_requested
            and not replica.alive,
        )
        events.append(
            Event(
                time=record.at,
                kind=EXITED,
                subject=replica.replica_id,
                message=message,
                level=level,
            )
        )
    return events


def host_exits(host: str, observation: HostObservation) -> list[Event]:
    """Every exit recorded on a host, oldest first."""
    events = [e for replica in observation.replicas for e in replica_exits(host, replica)]
    return sorted(events, key=lambda event: event.time)


def exit_key(event: Event) -> ExitKey:
    return (event.subject, event.time)


class KnownExits:
    """The exits a journal holds: a multiset of keys (two exits of one replica within
    the same second are two), and the time before which the journal may not tell."""

    def __init__(self, keys: Iterable[ExitKey] = (), horizon: float | None = None) -> None:
        self._counts: Counter[ExitKey] = Counter(keys)
        self.horizon = horizon  # None: the journal holds everything since it began

    @classmethod
    def from_journal(cls, tail: JournalTail) -> KnownExits:
        keys = [exit_key(e) for e in tail.events if e.kind == EXITED]
        if tail.complete:
            return cls(keys)
        # Events older than the part read were written before it. Any event but a merged
        # exit was written at its own time: the first one read bounds what was not read.
        # (Merged exits carry older times, so they cannot bound it.)
        written = [e.time for e in tail.events if e.kind != EXITED]
        if written:
            return cls(keys, written[0])
        return cls(keys, max((e.time for e in tail.events), default=float("inf")))

    def absorb(self, other: KnownExits) -> None:
        """What a later read of the journal found (written by other processes since)."""
        for key, count in other._counts.items():
            self._counts[key] = max(self._counts[key], count)
        if other.horizon is not None:
            mine = self.horizon if self.horizon is not None else other.horizon
            self.horizon = max(mine, other.horizon)

    def add(self, event: Event) -> None:
        self._counts[exit_key(event)] += 1

    def unknown(self, exits: Iterable[Event]) -> list[Event]:
        """The exits (of one observation) the journal does not hold; none before the
        horizon."""
        seen: Counter[ExitKey] = Counter()
        fresh = []
        for event in exits:
            key = exit_key(event)
            seen[key] += 1
            if self.horizon is not None and event.time < self.horizon:
                continue
            if seen[key] > self._counts[key]:
                fresh.append(event)
        return fresh


class HostHistory:
    """One process's merging of its hosts' exit records into the journal."""

    def __init__(self, journal: EventJournal) -> None:
        self._journal = journal
        self._known: KnownExits | None = None  # loaded when first needed
        # host -> each replica's count and last time of exits, as last merged: a watch
        # observes every second, and most observations bring no new exit.
        self._merged: dict[str, tuple[tuple[str, int, float], ...]] = {}

    def merge(self, host: str, observation: HostObservation) -> list[Event]:
        """The exits on `host` the journal did not hold, now appended to it, oldest
        first: the caller tells its listeners. Empty when the journal's lock is busy
        (the next observation tries again)."""
        merged = tuple(
            (r.replica_id, len(r.exits), r.exits[-1].at) for r in observation.replicas if r.exits
        )
        if self._merged.get(host) == merged:
            return []
        fresh = self._merge(host_exits(host, observation))
        if fresh is not None:
            self._merged[host] = merged
        return fresh or []

    def _merge(self, exits: list[Event]) -> list[Event] | None:
        if not exits:
            return []
        if self._known is None:
            try:
                self._known = KnownExits.from_journal(self._journal.read_recent())
            except OSError:  # unreadable: it holds nothing this process can know
                self._known = KnownExits()
        if not self._known.unknown(exits):
            return []
        try:
            with self._journal.locked():
                self._known.absorb(KnownExits.from_journal(self._journal.read_recent()))
                return self._write(self._known.unknown(exits))
        except Timeout:
            return None
        except OSError:  # no lock file (a read-only state dir): tell, but keep no history
            fresh = self._known.unknown(exits)
            for event in fresh:
                self._known.add(event)
            return fresh

    def _write(self, fresh: list[Event]) -> list[Event]:
        assert self._known is not None
        for event in fresh:
            self._known.add(event)
            with contextlib.suppress(OSError):  # told to the listeners all the same
                self._journal.append(event)
        return fresh
