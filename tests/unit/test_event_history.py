"""`event_history`: the journal's events, all or one deployment's, the newest `last` of
them; the one read behind `fleetdeck events --deployment` and the detail screen's
events panel. A quiet deployment's old events are found under a busy fleet's new ones."""

from __future__ import annotations

from pathlib import Path

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import parse_inventory
from fleetdeck.core.state.journal import EventJournal

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
[[deployments]]
name = "busy"
model = "m"
replicas = 1
"""


def intents_for(state_dir: Path) -> FleetIntents:
    inventory = parse_inventory(INVENTORY, state_dir / "fleet.toml")
    return FleetIntents(Engine(inventory, state_dir=state_dir))


def event(time: float, subject: str, message: str = "") -> Event:
    return Event(time=time, kind="replica.ready", subject=subject, message=message or subject)


async def test_a_deployments_old_events_under_many_newer_ones(tmp_path: Path) -> None:
    journal = EventJournal(tmp_path)
    # Its replica's exit, merged late from the host's history: written after, dated before.
    for item in (
        event(10.0, "llm", "scaled to 1"),
        event(12.0, "llm-big/r0", "a deployment whose name starts alike"),
        event(30.0, "llm/a-0", "ready on port 8100"),
        event(11.0, "llm/a-0", "exited with code 137"),
    ):
        journal.append(item)
    for n in range(500):  # the whole fleet's newest 500 are someone else's
        journal.append(event(100.0 + n, f"busy/r{n}"))
    intents = intents_for(tmp_path)
    try:
        mine = await intents.event_history("llm")
        assert [(e.time, e.subject, e.message) for e in mine] == [
            (10.0, "llm", "scaled to 1"),
            (11.0, "llm/a-0", "exited with code 137"),
            (30.0, "llm/a-0", "ready on port 8100"),
        ]
        assert [e.time for e in await intents.event_history("llm", last=2)] == [11.0, 30.0]
        everything = await intents.event_history()
        assert len(everything) == 504 and everything[0].time == 10.0
        assert [e.subject for e in await intents.event_history(last=1)] == ["busy/r499"]
        assert len(await intents.event_history("busy", last=200)) == 200
        assert await intents.event_history("gone") == ()  # no longer in the inventory: none
    finally:
        await intents.close()


async def test_the_rotated_journal_is_read_too(tmp_path: Path) -> None:
    journal = EventJournal(tmp_path)
    journal.append(event(5.0, "llm", "before the rotation"))
    journal.path.replace(journal.previous_path)
    journal.append(event(6.0, "llm/a-0", "after it"))
    intents = intents_for(tmp_path)
    try:
        assert [e.message for e in await intents.event_history("llm")] == [
            "before the rotation",
            "after it",
        ]
    finally:
        await intents.close()


async def test_a_missing_or_empty_journal_has_no_events(tmp_path: Path) -> None:
    intents = intents_for(tmp_path)
    try:
        assert await intents.event_history("llm", last=200) == ()
        EventJournal(tmp_path).path.write_text("")
        assert await intents.event_history("llm") == ()
        assert await intents.event_history() == ()
    finally:
        await intents.close()


async def test_a_line_cut_short_is_skipped(tmp_path: Path) -> None:
    journal = EventJournal(tmp_path)
    journal.append(event(1.0, "llm"))
    with journal.path.open("a") as handle:
        handle.write('{"time": 2.0, "kind": "replica.ready", "subject": "llm/a-0", "mes')
    intents = intents_for(tmp_path)
    try:
        assert [e.time for e in await intents.event_history("llm")] == [1.0]
    finally:
        await intents.close()
