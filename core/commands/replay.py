"""`fleetdeck replay REC --headless [--at S] [--json]`: one moment of a recording, as
`fleetdeck status` prints it (the same formatter) or as its JSON snapshot."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from fleetdeck.core.commands import render
from fleetdeck.core.commands.exit_codes import DONE
from fleetdeck.core.recording.player import clock_text
from fleetdeck.core.recording.reader import Recording, RecordingError


def open_recording(path: Path) -> Recording:
    """The recording, after saying on stderr where a torn tail was cut off."""
    recording = Recording.open(path)
    if recording.torn_at is not None:
        print(f"note: {path} ends with an incomplete frame (the recorder was stopped "
              f"mid-write); read up to byte {recording.torn_at}", file=sys.stderr)  # fmt: skip
    return recording


def replay_headless(path: Path, at: float | None, *, as_json: bool) -> int:
    recording = open_recording(path)
    if at is None:
        at = recording.duration
    if at > recording.duration:
        raise RecordingError(
            f"{path}: nothing recorded {at:g} s in",
            f"the recording lasts {recording.duration:.1f} s ({clock_text(recording.duration)})",
            f"ask for --at 0 to --at {int(recording.duration)}",
        )
    snapshot = recording.snapshot_at(recording.start + at)
    if as_json:
        print(json.dumps(snapshot.model_dump(mode="json"), indent=2))
    else:
        taken = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snapshot.taken_at))
        print(f"{clock_text(at)} into {path} (taken {taken})")
        print(render.status_table(snapshot))
    return DONE
