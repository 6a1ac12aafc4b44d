"""Host history: the exits each replica's supervisor recorded are merged into the event
journal once, dated when they happened, whichever fleetdeck process observes them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.inventory import parse_inventory
from fleetdeck.core.state import journal as journal_module
from fleetdeck.core.state.host_history import HostHistory, KnownExits, host_exits
from fleetdeck.core.state.journal import EventJournal
from fleetdeck.hosts.observations import (
    ExitRecord,
    HostLoad,
    HostObservation,
    ReplicaObservation,
    read_message,
)
from fleetdeck.hosts.remote import layout, observe, protocol

INVENTORY = """
[fleet]
name = "t"
[[hosts]]
name = "a"
transport = "local"
[[deployments]]
name = "llm"
model = "m"
replicas = 1
"""


def replica(exits: list[list[Any]], **fields: Any) -> ReplicaObservation:
    """`exits` as the host sends them: [code, time] or [code, time, stopped]."""
    records = tuple(ExitRecord(int(e[0]), float(e[1]), e[2] if len(e) > 2 else None) for e in exits)
    base: dict[str, Any] = {
        "deployment": "llm",
        "replica": "a-0",
        "port": 8100,
        "bind_host": "127.0.0.1",
        "spec_hash": "",
        "gpu_uuids": (),
        "pid": None,
        "alive": True,
        "wrapper_alive": True,
        "healthy": True,
        "stop_requested": False,
        "exits": records,
        "started_at": None,
        "created_at": None,
        "log_size": 0,
        "log_tail": (),
    }
    base.update(fields)
    return ReplicaObservation(**base)


def observed(*replicas: ReplicaObservation) -> HostObservation:
    return HostObservation(0.0, replicas, (), "none", HostLoad(None, None, None, None))


def engine(state_dir: Path, now: float = 5000.0) -> Engine:
    inventory = parse_inventory(INVENTORY, state_dir / "fleet.toml")
    return Engine(inventory, state_dir=state_dir, clock=lambda: now)


def exited(events: list[Event]) -> list[Event]:
    return [e for e in events if e.kind == "replica.exited"]


# -- the events, in words ----------------------------------------------------------------


def test_a_crash_says_its_signal_and_that_the_supervisor_restarts_it() -> None:
    (event,) = host_exits("a", observed(replica([[137, 1000.0, False]])))
    assert (event.time, event.subject, event.level) == (1000.0, "llm/a-0", "warning")
    assert "exited with code 137 on a (killed by signal 9)" in event.message
    assert "the supervisor restarts it" in event.message


def test_an_exit_after_a_stop_request_is_not_a_crash() -> None:
    # A failed replica: two crashes, then stopped while vLLM was running.
    exits = [[1, 1000.0, False], [1, 1002.0, False], [143, 1010.0, True]]
    events = host_exits("a", observed(replica(exits, alive=False, stop_requested=True)))
    assert [e.level for e in events] == ["warning", "warning", "info"]
    assert "after a stop request; not restarted" in events[2].message
    assert "killed by signal 15" in events[2].message
    assert "crashed" not in events[2].message


def test_stopped_in_its_backoff_the_last_crash_stays_a_crash() -> None:
    exits = [[1, 1000.0, False]]  # the supervisor recorded a restart; the stop came after
    (event,) = host_exits("a", observed(replica(exits, alive=False, stop_requested=True)))
    assert event.level == "warning" and "crashed (exit 1)" in event.message


def test_an_older_supervisors_last_exit_after_a_stop_reads_as_the_stop() -> None:
    exits = [[1, 1000.0], [143, 1010.0]]  # no third field: it does not say
    events = host_exits("a", observed(replica(exits, alive=False, stop_requested=True)))
    assert [e.level for e in events] == ["warning", "info"]


def test_the_host_program_reads_both_exit_line_formats(tmp_path: Path) -> None:
    paths = layout.ReplicaPaths(str(tmp_path), "llm", "a-0")
    Path(paths.dir).mkdir(parents=True)
    Path(paths.file(layout.EXITS)).write_text(
        "137 1000\n1 1001 restart\n143 1002 stop\ncut\n", encoding="utf-8"
    )
    exits = observe._exits(paths)
    assert exits == (
        ExitRecord(137, 1000.0, None),
        ExitRecord(1, 1001.0, False),
        ExitRecord(143, 1002.0, True),
    )
    # Across the wire (the protocol's encoding, the console's validation) they keep it.
    wire = json.loads(protocol.encode(observed(replace(replica([]), exits=exits))))
    received = read_message(HostObservation, wire, host="a", command="observe")
    assert [r.stopped for r in received.replicas[0].exits] == [None, False, True]


# -- merged once -------------------------------------------------------------------------


async def test_exits_seen_live_then_by_a_one_shot_command_are_one_event_each(
    tmp_path: Path,
) -> None:
    # A controller watches: the replica runs, then crashes once while it watches.
    controller = engine(tmp_path)
    told: list[Event] = []
    controller.subscribe(told.append)
    controller.track("a", observed(replica([])))
    controller.track("a", observed(replica([[137, 1000.0, False]])))
    controller.track("a", observed(replica([[137, 1000.0, False]])))  # seen again: nothing
    (live,) = exited(told)
    assert live.time == 1000.0, "dated at the exit, not when it was seen"
    await controller.close()

    # It stops; the replica crashes again with nobody watching; a one-shot `status`, then
    # `events`, observe the host.
    history = [[137, 1000.0, False], [1, 1200.0, False]]
    for _ in range(2):
        one_shot = engine(tmp_path, now=6000.0)
        one_shot.track("a", observed(replica(history)))
        await one_shot.close()
    events = exited(list(engine(tmp_path).history()))
    assert [(e.subject, e.time) for e in events] == [("llm/a-0", 1000.0), ("llm/a-0", 1200.0)]


async def test_the_first_observation_merges_what_happened_before_any_process_ran(
    tmp_path: Path,
) -> None:
    one_shot = engine(tmp_path, now=6000.0)
    told: list[Event] = []
    one_shot.subscribe(told.append)
    one_shot.emit("apply.started", "llm", "something this process did first")
    one_shot.track("a", observed(replica([[1, 1000.0, False], [137, 1100.0, False]])))
    assert [e.time for e in exited(told)] == [1000.0, 1100.0]
    # This process's events and the journal read in time order, the old exits first.
    assert [e.time for e in one_shot.recent_events()] == [1000.0, 1100.0, 6000.0]
    assert [e.time for e in one_shot.history()] == [1000.0, 1100.0, 6000.0]
    await one_shot.close()


def test_two_exits_in_the_same_second_are_two(tmp_path: Path) -> None:
    journal = EventJournal(tmp_path)
    HostHistory(journal).merge("a", observed(replica([[1, 1000.0, False]])))
    twice = observed(replica([[1, 1000.0, False], [1, 1000.0, False]]))
    assert len(HostHistory(journal).merge("a", twice)) == 1
    assert HostHistory(journal).merge("a", twice) == []
    assert len(exited(list(journal.read()))) == 2


def test_two_processes_observing_at_once_write_an_exit_once(tmp_path: Path) -> None:
    journal = EventJournal(tmp_path)
    first, second = HostHistory(journal), HostHistory(journal)
    nothing_yet = observed(replica([[1, 900.0, False]]))
    first.merge("a", nothing_yet)
    second.merge("a", nothing_yet)  # both have read the journal now
    crashed = observed(replica([[1, 900.0, False], [137, 1000.0, False]]))
    assert [e.time for e in first.merge("a", crashed)] == [1000.0]
    assert second.merge("a", crashed) == [], "re-read under the lock before writing"
    assert [e.time for e in exited(list(journal.read()))] == [900.0, 1000.0]


def test_with_the_journal_locked_by_another_process_it_tries_again_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "LOCK_TIMEOUT_S", 0.1)
    journal = EventJournal(tmp_path)
    history = HostHistory(journal)
    crashed = observed(replica([[137, 1000.0, False]]))
    with FileLock(tmp_path / journal_module.LOCK):  # another process writing
        assert history.merge("a", crashed) == []
    assert [e.time for e in history.merge("a", crashed)] == [1000.0]
    assert history.merge("a", crashed) == []
    assert len(list(journal.read())) == 1


# -- the journal ---------------------------------------------------------------------------


def test_the_journal_reads_in_time_order_whatever_the_order_written(tmp_path: Path) -> None:
    journal = EventJournal(tmp_path)
    for at in (3.0, 1.0, 2.0, 1.0):
        journal.append(Event(time=at, kind="k", subject=str(at), message="m"))
    assert [e.time for e in journal.read()] == [1.0, 1.0, 2.0, 3.0]
    tail = journal.read_recent()
    assert [e.time for e in tail.events] == [3.0, 1.0, 2.0, 1.0] and tail.complete


def test_exits_older_than_the_journal_part_read_are_not_merged(tmp_path: Path) -> None:
    """They may be in the part not read: merging them again could duplicate them."""
    journal = EventJournal(tmp_path)
    for at in range(100):
        journal.append(Event(time=1000.0 + at, kind="tick", subject="x", message="m" * 50))
    tail = journal.read_recent(max_bytes=2000)
    assert not tail.complete and 0 < len(tail.events) < 100
    known = KnownExits.from_journal(tail)
    assert known.horizon == tail.events[0].time
    old = Event(time=1001.0, kind="replica.exited", subject="llm/a-0", message="m")
    new = Event(time=1099.0, kind="replica.exited", subject="llm/a-0", message="m")
    assert known.unknown([old, new]) == [new]
    # The whole journal read: nothing is too old.
    assert KnownExits.from_journal(journal.read_recent()).unknown([old, new]) == [old, new]


def test_a_merged_exit_at_the_start_of_the_part_read_does_not_set_the_horizon(
    tmp_path: Path,
) -> None:
    journal = EventJournal(tmp_path)
    journal.append(Event(time=100.0, kind="tick", subject="x", message="m" * 200))
    journal.append(Event(time=50.0, kind="replica.exited", subject="llm/a-0", message="m"))
    journal.append(Event(time=300.0, kind="tick", subject="x", message="m"))
    tail = journal.read_recent(max_bytes=200)
    assert [e.kind for e in tail.events] == ["replica.exited", "tick"]
    assert KnownExits.from_journal(tail).horizon == 300.0


def test_after_a_rotation_the_journal_is_never_complete(tmp_path: Path) -> None:
    journal = EventJournal(tmp_path)
    journal.append(Event(time=1.0, kind="tick", subject="x", message="old"))
    journal.path.replace(journal.previous_path)
    journal.append(Event(time=2.0, kind="tick", subject="x", message="new"))
    tail = journal.read_recent()
    assert [e.time for e in tail.events] == [1.0, 2.0]
    assert not tail.complete
    assert [e.time for e in journal.read()] == [1.0, 2.0]
