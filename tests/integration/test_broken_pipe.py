"""`fleetdeck ... | head`: when the reader goes away fleetdeck ends quietly and soon, with
status 141 (128 + SIGPIPE, what a shell reports for a tool killed by the pipe), and no
traceback or "Exception ignored ... BrokenPipeError" on stderr.

Run through a real bash pipeline, with Python's stdout buffered as a user's is
(PYTHONUNBUFFERED unset) and, where it matters, unbuffered too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.inventory import load_inventory
from fleetdeck.core.state.journal import EventJournal
from fleetdeck.core.state.user_state import user_state_dir

pytestmark = pytest.mark.integration

FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")
BROKEN_PIPE = 141

INVENTORY = """
[fleet]
name = "pipes"
[[hosts]]
name = "a"
transport = "local"
state_dir = "{state_dir}"
[[deployments]]
name = "llm"
model = "m"
replicas = 1
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inv.toml"
    path.write_text(INVENTORY.format(state_dir=tmp_path / "host-state"))
    return path


def write_journal(inventory: Path, events: int) -> None:
    journal = EventJournal(user_state_dir(load_inventory(inventory)))
    for n in range(events):
        journal.append(Event(time=1.7e9 + n, kind="replica.ready", subject=f"llm/r{n}",
                             message=f"replica {n} answers on port {20000 + n}"))  # fmt: skip


def piped(
    fleetdeck_args: str, reader: str, tmp_path: Path, *, unbuffered: bool = False
) -> tuple[int, str, str, float]:
    """fleetdeck's exit status, what the reader printed, fleetdeck's stderr, seconds."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    script = (
        f'"$FLEETDECK" {fleetdeck_args} 2>err.txt | {reader}; echo "${{PIPESTATUS[0]}}" >rc.txt'
    )
    started = time.monotonic()
    subprocess.run(
        ["bash", "-c", script],
        env={**env, "FLEETDECK": FLEETDECK},
        cwd=tmp_path,
        stdout=(tmp_path / "out.txt").open("w"),
        timeout=60,
        check=True,
    )
    took = time.monotonic() - started
    rc = int((tmp_path / "rc.txt").read_text())
    return rc, (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text(), took


def assert_quiet(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "BrokenPipeError" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr
    assert "error" not in stderr.lower(), stderr


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_status_watch_json_into_head_1(inventory: Path, tmp_path: Path, unbuffered: bool) -> None:
    rc, out, err, took = piped(
        f"status {inventory} --watch --json --interval 0.2", "head -1", tmp_path,
        unbuffered=unbuffered,
    )  # fmt: skip
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith('{"fleet": "pipes"'), out
    assert rc == BROKEN_PIPE, err
    assert_quiet(err)
    assert took < 15, f"fleetdeck kept watching for {took:.1f}s after head had gone"


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize(
    ("events", "reader"),
    # 3 events stay in stdout's buffer until fleetdeck ends; head -0 has long gone by
    # then. 2000 are more than a pipe holds: fleetdeck is still writing when head goes.
    [(3, "head -0"), (2000, "head -0"), (2000, "head -1")],
    ids=["buffer-head-0", "past-pipe-head-0", "past-pipe-head-1"],
)
def test_events_into_head(
    inventory: Path, tmp_path: Path, events: int, reader: str, unbuffered: bool
) -> None:
    write_journal(inventory, events)
    rc, out, err, _ = piped(f"events {inventory}", reader, tmp_path, unbuffered=unbuffered)
    assert len(out.splitlines()) == int(reader[-1]), out
    assert rc == BROKEN_PIPE, err
    assert_quiet(err)


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_schema_into_head_1(tmp_path: Path, unbuffered: bool) -> None:
    rc, out, err, _ = piped("schema", "head -1", tmp_path, unbuffered=unbuffered)
    assert out == "{\n"
    # The schema (~25 KB) fits in a pipe: when fleetdeck has written it all before head
    # exits, nothing failed and 0 is right (as for `cat`); 141 when head left first.
    # Python's own "exception ignored" exit, 120, is neither.
    assert rc in (0, BROKEN_PIPE), err
    assert_quiet(err)


def test_help_into_head_1(tmp_path: Path) -> None:
    rc, out, err, _ = piped("--help", "head -1", tmp_path)
    assert out.startswith("usage: fleetdeck")
    assert rc in (0, BROKEN_PIPE), err
    assert_quiet(err)
