"""The console, driven by keys in a real terminal: `fleetdeck demo` in tmux at 120x40.

Filter the deployments, open the hosts screen, open a deployment's logs and search them,
quit; then nothing of the demo may be left running. tmux is a test requirement
(scripts/test installs it); without it this test fails and says so, it installs nothing.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness.demo_processes import demo_dirs, kill_demo_leftovers, wait_no_demo_pids

pytestmark = pytest.mark.integration

FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")
DEPLOYMENTS = ("llama-8b", "qwen-7b", "mixtral", "phi-mini")


class Tmux:
    """One tmux server of our own (TMUX_TMPDIR in the test's directory), one session."""

    def __init__(self, tmp_path: Path) -> None:
        tmux = shutil.which("tmux")
        if tmux is None:
            pytest.fail(
                "tmux is not installed: this test drives `fleetdeck demo` in tmux."
                " Install it (apt-get install tmux; scripts/test does this) and run it again."
            )
        self.tmux = tmux
        socket_dir = tmp_path / "tmux"
        socket_dir.mkdir()
        self.env = {k: v for k, v in os.environ.items() if k != "TMUX"}
        self.env["TMUX_TMPDIR"] = str(socket_dir)
        self.session = f"fleetdeck-smoke-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.tmux, *args], env=self.env, capture_output=True, text=True, check=check
        )

    def start(self, command: str) -> None:
        self.run("new-session", "-d", "-s", self.session, "-x", "120", "-y", "40", command)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", self.session, "-l", text)

    def screen(self) -> str:
        result = self.run("capture-pane", "-p", "-t", self.session, check=False)
        return result.stdout

    def alive(self) -> bool:
        return self.run("has-session", "-t", self.session, check=False).returncode == 0

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.3)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; screen:\n{screen}")

    def close(self) -> None:
        self.run("kill-server", check=False)


def deployment_rows(screen: str) -> list[str]:
    """The rows inside the Deployments box (not the events panel, which names them too)."""
    lines = screen.splitlines()
    for top, line in enumerate(lines):
        if "─ Deployments ─" in line:
            rows = []
            for row in lines[top + 2 :]:  # after the column headers
                if row.startswith("╰"):
                    break
                rows.append(row)
            return rows
    return []


def shows_only(names: tuple[str, ...]) -> Callable[[str], bool]:
    def check(screen: str) -> bool:
        rows = deployment_rows(screen)
        shown = {name for name in DEPLOYMENTS if any(f" {name} " in row for row in rows)}
        return shown == set(names)

    return check


def test_console_keys_in_a_real_terminal(tmp_path: Path) -> None:
    tmux = Tmux(tmp_path)
    demo_tmp = tmp_path / "demo-tmp"
    demo_tmp.mkdir()
    exit_file = tmp_path / "exit-code"
    demo = shlex.join(
        [
            "env",
            f"TMPDIR={demo_tmp}",
            f"XDG_CONFIG_HOME={tmp_path / 'config'}",
            f"XDG_STATE_HOME={tmp_path / 'state'}",
            FLEETDECK,
            "demo",
        ]
    )
    tmux.start(f"{demo}; echo $? > {shlex.quote(str(exit_file))}")
    try:
        tmux.wait_for(shows_only(DEPLOYMENTS), "the four deployments", timeout=45)
        tmux.wait_for(lambda s: "4/4 deployments up" in s, "the demo serving", timeout=45)

        tmux.keys("/")
        time.sleep(0.5)
        tmux.type("qwen")
        tmux.wait_for(shows_only(("qwen-7b",)), "the table filtered to qwen-7b")
        tmux.keys("Escape")
        tmux.wait_for(shows_only(DEPLOYMENTS), "the filter cleared")

        tmux.keys("h")
        hosts = tmux.wait_for(lambda s: "Lease" in s and "3 hosts" in s, "the hosts screen")
        assert all(name in hosts for name in ("gpu-a", "gpu-b", "gpu-c"))
        tmux.keys("Escape")
        tmux.wait_for(shows_only(DEPLOYMENTS), "back on the fleet")

        tmux.keys("Down")
        time.sleep(0.3)
        tmux.keys("l")
        logs = tmux.wait_for(lambda s: "Logs · " in s, "the logs screen")
        title = re.search(r"Logs · (\S+)", logs)
        assert title is not None and title.group(1) in DEPLOYMENTS, logs
        tmux.keys("/")
        time.sleep(0.5)
        tmux.type("INFO")
        time.sleep(0.5)
        tmux.keys("Enter")  # to the newest match: "/INFO: 12 of 12"; as typed: "/INFO: 12 lines"
        tmux.wait_for(
            lambda s: re.search(r"/INFO: (\d+ of \d+|\d+ lines) ─", s) is not None,
            "the search's matches in the subtitle",
        )

        for _ in range(3):  # back to the fleet: close what is open, then leave the logs
            if shows_only(DEPLOYMENTS)(tmux.screen()):
                break
            tmux.keys("Escape")
            time.sleep(1)
        tmux.wait_for(shows_only(DEPLOYMENTS), "back on the fleet from the logs")
        tmux.keys("q")

        tmux.wait_for(lambda s: exit_file.exists(), "the demo to end", timeout=45)
        assert exit_file.read_text().strip() == "0"
        deadline = time.monotonic() + 10
        while tmux.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not tmux.alive(), "the tmux session outlived the demo"
        assert wait_no_demo_pids(demo_tmp, 10) == set()
        assert demo_dirs(demo_tmp) == []
    finally:
        tmux.close()  # a SIGHUP to the demo, which stops its fleet (or it has ended)
        wait_no_demo_pids(demo_tmp, 30)
        kill_demo_leftovers(demo_tmp)
