"""`fleetdeck demo --headless` tells its story within two minutes, and always cleans up.

The demo's inventory and traffic (core/demo/) are shaped so that within two minutes
llama-8b scales up under a burst and back down after it, qwen-7b's simulator crashes and
its supervisor brings it back, and phi-mini goes idle and is stopped. These tests run the
real command as a subprocess and read what it prints. Timings in the demo leave about a
minute of slack on each step, so a loaded machine still passes; what is asserted is what
must happen, not when.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.harness.demo_processes import (
    demo_dirs,
    demo_pids,
    kill_demo_leftovers,
    wait_no_demo_pids,
)
from tests.harness.fleetdeck_cli import wait_until

pytestmark = pytest.mark.integration

FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")
INTERRUPTED = 130


class HeadlessDemo:
    """`fleetdeck demo --headless` in the background, its output collected line by line."""

    def __init__(self, demo_tmp: Path, seconds: int) -> None:
        demo_tmp.mkdir(exist_ok=True)
        self.demo_tmp = demo_tmp
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [FLEETDECK, "demo", "--headless", "--seconds", str(seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "TMPDIR": str(demo_tmp)},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            # Stop it the clean way first, so that a slow run still removes its replicas.
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)
            raise
        self._reader.join(10)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        kill_demo_leftovers(self.demo_tmp)


def _index(lines: list[str], pattern: str) -> int:
    """The first line matching `pattern`; fails with the whole output if there is none."""
    for number, line in enumerate(lines):
        if re.search(pattern, line):
            return number
    raise AssertionError(f"no line matches {pattern!r} in:\n" + "\n".join(lines))


def test_the_first_two_minutes_show_scaling_a_crash_and_idle(tmp_path: Path) -> None:
    demo = HeadlessDemo(tmp_path / "demo-tmp", seconds=120)
    try:
        code = demo.wait(timeout=200)
        lines = demo.lines
        assert code == 0, demo.output

        # The autoscaler grows llama-8b under the burst, then shrinks it after.
        up = _index(lines, r"llama-8b: scale up 1 -> [23]: ")
        down = _index(lines, r"llama-8b: scale down [23] -> [12]: ")
        assert up < down
        assert _index(lines, r"llama-8b/\S+: started on .*\(scale to [23]\)") > up
        assert _index(lines, r"llama-8b/\S+: stopped on .*\(scale to [12]\)") > down

        # qwen-7b crashes; its supervisor restarts it and it serves again.
        crash = _index(lines, r"! qwen-7b/\S+: exited with code \d+ .*the supervisor restarts it")
        gone = crash + _index(lines[crash:], r"status: .*qwen-7b \w+ 0/1")
        _index(lines[gone:], r"status: .*qwen-7b (active|idle) 1/1")

        # phi-mini gets no requests: idle, then stopped by its idle_timeout.
        assert _index(lines, r"status: .*phi-mini idle 1/1") < _index(
            lines, r"phi-mini: no requests for \S+: scale 1 -> 0"
        )
        _index(lines, r"phi-mini/\S+: stopped on .*\(scale to 0\)")

        # The end: every replica stopped, nothing left on the machine.
        _index(lines, r"stopping the demo fleet\.\.\.")
        assert wait_no_demo_pids(demo.demo_tmp, 10) == set()
        assert demo_dirs(demo.demo_tmp) == []
    finally:
        demo.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_a_stop_signal_stops_the_demo_like_a_quit(tmp_path: Path, signum: int) -> None:
    demo = HeadlessDemo(tmp_path / "demo-tmp", seconds=600)
    try:
        # Replicas running, supervised: what a killed terminal used to leave behind.
        wait_until(lambda: "status: llama-8b active" in demo.output, 90, "llama-8b active")
        assert demo_pids(demo.demo_tmp)
        assert demo_dirs(demo.demo_tmp)
        demo.process.send_signal(signum)
        started = time.monotonic()
        assert demo.wait(timeout=60) == INTERRUPTED, demo.output
        assert time.monotonic() - started < 60
        name = signal.Signals(signum).name
        _index(demo.lines, rf"{name}: stopping the demo fleet\.\.\.")
        _index(demo.lines, r"llama-8b/\S+: stopped on .*\(down\)")
        assert wait_no_demo_pids(demo.demo_tmp, 10) == set()
        assert demo_dirs(demo.demo_tmp) == []
    finally:
        demo.close()
