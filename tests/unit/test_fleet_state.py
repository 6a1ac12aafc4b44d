"""The fleet's shared state: the host program's overrides document and journal
(hosts/remote/fleet_state.py), and this machine's copy of them (core/state)."""

from __future__ import annotations

import json
from pathlib import Path

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.inventory import parse_inventory
from fleetdeck.core.state.fleet_mirror import FleetMirror
from fleetdeck.core.state.journal import EventJournal
from fleetdeck.core.state.overrides import Overrides
from fleetdeck.hosts.remote import fleet_state
from fleetdeck.hosts.remote.protocol import FleetOverrides

INVENTORY = """
[fleet]
name = "t"
[[hosts]]
name = "a"
transport = "local"
[[deployments]]
name = "one"
model = "m"
replicas = 2
[[deployments]]
name = "two"
model = "m"
"""


def entry(replicas: int, who: str, inventory_says: int = 2) -> dict[str, object]:
    return {"replicas": replicas, "inventory_replicas": inventory_says, "operator": who}


def test_each_write_applies_its_edits_to_the_newest_document_and_bumps_the_revision(
    tmp_path: Path,
) -> None:
    state = str(tmp_path)
    first = fleet_state.write(
        {"state_dir": state, "fleet": "t", "operator": "a", "ops": [["set", "one", entry(3, "a")]]}
    )
    assert first.ok and first.overrides is not None and first.overrides.revision == 1
    second = fleet_state.write(
        {"state_dir": state, "fleet": "t", "operator": "b", "ops": [["set", "two", entry(0, "b")]]}
    )
    assert second.overrides is not None and second.overrides.revision == 2
    document = fleet_state.read_overrides(state, "t")
    assert document is not None and set(document.entries) == {"one", "two"}
    assert document.written_by == "b"
    # A document written elsewhere while this host was away is newer: edits apply to it.
    base = {"revision": 7, "entries": {"one": entry(5, "c")}}
    third = fleet_state.write(
        {"state_dir": state, "fleet": "t", "operator": "a", "ops": [["drop", "two"]], "base": base}
    )
    assert third.overrides is not None and third.overrides.revision == 8
    assert third.overrides.entries == {"one": entry(5, "c")}
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_fleet_name_never_becomes_a_path(tmp_path: Path) -> None:
    refused = fleet_state.write({"state_dir": str(tmp_path), "fleet": "../x", "ops": []})
    assert not refused.ok
    assert fleet_state.read_overrides(str(tmp_path), "t") is None


def test_the_journal_is_read_from_a_cursor_and_from_the_start_of_another_file(
    tmp_path: Path,
) -> None:
    state = str(tmp_path)
    fleet_state.write({"state_dir": state, "fleet": "t", "events": ['{"n": 1}', '{"n": 2}']})
    journal_id, end, lines = fleet_state.read_events(state, "t", None)
    assert lines == ('{"n": 1}', '{"n": 2}') and journal_id
    fleet_state.write({"state_dir": state, "fleet": "t", "events": ['{"n": 3}']})
    same_id, later, new = fleet_state.read_events(state, "t", {"id": journal_id, "offset": end})
    assert (same_id, new) == (journal_id, ('{"n": 3}',)) and later > end
    _, _, again = fleet_state.read_events(state, "t", {"id": "another", "offset": later})
    assert len(again) == 3


def test_the_local_copy_keeps_unsent_edits_on_top_of_the_home_hosts_document(
    tmp_path: Path,
) -> None:
    overrides = Overrides(tmp_path, parse_inventory(INVENTORY, tmp_path / "fleet.toml"))
    overrides.set("one", 4, operator="me")
    unsent = overrides.unshared()
    assert len(unsent) == 1
    two = entry(0, "x", inventory_says=1)
    home = FleetOverrides(revision=3, entries={"one": entry(1, "x"), "two": two})
    assert overrides.take_shared(home)
    assert overrides.desired() == {"one": 4, "two": 0}  # mine is not sent yet: it wins here
    assert not overrides.take_shared(home)  # not newer
    sent = FleetOverrides(revision=4, entries={"one": entry(4, "me"), "two": two})
    assert overrides.take_shared(sent, sent=unsent)
    assert overrides.unshared() == [] and overrides.shared_revision() == 4
    assert json.loads((tmp_path / "overrides.json").read_text())["_shared"]["revision"] == 4


def test_a_mirrored_event_is_read_once(tmp_path: Path) -> None:
    journal = EventJournal(tmp_path)
    mine = Event(time=1.0, kind="deployment.scaled", subject="one", message="by me")
    other = Event(time=2.0, kind="deployment.scaled", subject="one", message="by you")
    journal.append(mine)
    lines = tuple(json.dumps(e.model_dump(mode="json")) for e in (mine, other))
    mirror = FleetMirror(journal, tmp_path)
    assert mirror.absorb("a", "id", 10, lines) == [mine, other]
    assert FleetMirror(journal, tmp_path).cursor("a") == ("id", 10)
    assert mirror.absorb("a", "id", 10, ()) == []
    journal.mirror(lines)  # another process mirrored them too
    assert list(journal.read()) == [mine, other]
