"""observe.replica_marker reads FLEETDECK_REPLICA from a real process's environment,
wherever it stands in it, and not a variable whose name only ends the same."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from fleetdeck.hosts.remote import observe
from fleetdeck.hosts.remote.layout import MARKER_VAR


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({MARKER_VAR: "/s/d/r1"}, "/s/d/r1"),  # first (and only)
        ({"A": "1", MARKER_VAR: "/s/d/r2", "B": "2"}, "/s/d/r2"),
        ({"A": "1", MARKER_VAR: "/s/d/r3"}, "/s/d/r3"),  # last: no NUL after it in the search
        ({"X" + MARKER_VAR: "/not/ours", "A": "1"}, None),
        ({"A": f"{MARKER_VAR}=/inside/a/value"}, None),
        ({"A": "1"}, None),
    ],
)
def test_the_marker_is_found_where_it_stands(env: dict[str, str], expected: str | None) -> None:
    process = subprocess.Popen(["sleep", "30"], env=env)
    try:
        # Until the child has exec'd, /proc shows the parent's environment (forked, not yet
        # replaced): wait for sleep's own command line before reading.
        cmdline = Path(f"/proc/{process.pid}/cmdline")
        deadline = time.monotonic() + 10
        while not cmdline.read_bytes().startswith(b"sleep") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert observe.replica_marker(process.pid) == expected
    finally:
        process.kill()
        process.wait()
