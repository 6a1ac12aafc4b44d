"""`fleetdeck events --deployment NAME`: one deployment's events from the journal (its
replicas' too, not a deployment whose name starts alike), through the same
`event_history` as the console's detail screen; --tail counts after the filter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.inventory import load_inventory
from fleetdeck.core.state.journal import EventJournal
from fleetdeck.core.state.user_state import user_state_dir
from fleetdeck.main import main

pytestmark = pytest.mark.integration

INVENTORY = """
[fleet]
name = "journal"
[[hosts]]
name = "a"
transport = "local"
state_dir = "{state_dir}"
[[deployments]]
name = "llm"
model = "m"
replicas = 1
[[deployments]]
name = "llm-big"
model = "m"
replicas = 1
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inv.toml"
    path.write_text(INVENTORY.format(state_dir=tmp_path / "host-state"))
    journal = EventJournal(user_state_dir(load_inventory(path)))
    for time, subject in ((1.0, "llm"), (2.0, "llm/a-0"), (3.0, "llm-big/a-0"), (4.0, "llm/a-1")):
        journal.append(Event(time=time, kind="replica.ready", subject=subject, message="ready"))
    for n in range(300):  # newer than all of llm's
        journal.append(Event(time=10.0 + n, kind="replica.ready", subject="llm-big/a-0",
                             message=f"ready {n}"))  # fmt: skip
    return path


def shown(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]]]:
    code = main(["events", *argv, "--json"])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_deployment_filter_and_tail(inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, events = shown(capsys, str(inventory), "--deployment", "llm")
    assert code == 0
    assert [(e["time"], e["subject"]) for e in events] == [
        (1.0, "llm"),
        (2.0, "llm/a-0"),
        (4.0, "llm/a-1"),
    ]
    code, events = shown(capsys, str(inventory), "--deployment", "llm", "--tail", "2")
    assert [e["subject"] for e in events] == ["llm/a-0", "llm/a-1"]
    code, events = shown(capsys, str(inventory))
    assert len(events) == 304, "no filter: every event"


def test_an_unknown_deployment_with_no_events_is_a_usage_error(
    inventory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", str(inventory), "--deployment", "lama"]) == 2
    err = capsys.readouterr().err
    assert "no deployment named 'lama'" in err and "known: llm, llm-big" in err


def test_a_known_deployment_with_no_events_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.toml"
    path.write_text(INVENTORY.format(state_dir=tmp_path / "host-state"))
    assert main(["events", str(path), "--deployment", "llm"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no events of llm yet" in captured.err
