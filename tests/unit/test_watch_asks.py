"""`watch` answers an ask on its stdin at once, with `@TOKEN` on the line before the
observation that answers it (hosts/remote/main.py:watch): the shipped program, run as a
real process; its interval is an hour, so only an ask can bring a second observation."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

from fleetdeck.hosts.host_program import program_zip

NO_ANSWER_S = 60.0  # far beyond an observation's time: only a hang gets here


class Lines:
    """The program's stdout lines, read by a thread: a hang fails the test at `next()`
    instead of stalling it (a select on the pipe would miss lines already buffered)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout
        threading.Thread(target=lambda: [self._lines.put(x) for x in stdout], daemon=True).start()

    def next(self) -> str:
        try:
            return self._lines.get(timeout=NO_ANSWER_S).rstrip("\n")
        except queue.Empty:
            raise AssertionError("watch sent nothing") from None


def test_an_ask_is_answered_by_the_next_observation_and_only_then(tmp_path: Path) -> None:
    name, data = program_zip()
    zipapp = tmp_path / name
    zipapp.write_bytes(data)
    request = {"state_dir": str(tmp_path / "state"), "simulate": {"gpus": 1}, "host_id": "h"}
    request |= {"interval_s": 3600, "detect_s": 0.1}
    process = subprocess.Popen(
        [sys.executable, "-S", str(zipapp), "watch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    lines = Lines(process)
    try:
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        first = lines.next()
        assert first.startswith("{"), first  # unasked: no mark
        process.stdin.write("7\n8\n")  # two asks at once: one observation answers both
        process.stdin.flush()
        answer = [lines.next() for _ in range(3)]
        assert answer[:2] == ["@7", "@8"], answer
        assert json.loads(answer[2])["time"] >= json.loads(first)["time"]
        process.stdin.write("9\n")
        process.stdin.flush()
        assert lines.next() == "@9"
        assert lines.next().startswith("{")
    finally:
        process.kill()
        process.wait()
