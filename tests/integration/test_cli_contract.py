"""The command line as scripts and shells see it, through the real `fleetdeck` in the venv:
--version, every command's --help, usage errors, completion scripts, and argcomplete
offering deployment names from the inventory at TAB time."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fleetdeck import __version__
from fleetdeck.registry import COMMANDS

pytestmark = pytest.mark.integration

FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")
EXIT_CODE_LINES = ("0    done", "2    usage or inventory error", "130  interrupted", "141  stdout")

TWO_DEPLOYMENTS = """
[fleet]
name = "contract"
[[hosts]]
name = "a"
transport = "local"
state_dir = "{state_dir}"
[[deployments]]
name = "llama8b"
model = "m"
replicas = 1
[[deployments]]
name = "qwen"
model = "m"
replicas = 1
"""


def run(
    *argv: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=cwd, env=env)


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inv.toml"
    path.write_text(TWO_DEPLOYMENTS.format(state_dir=tmp_path / "host-state"))
    return path


@pytest.mark.parametrize(
    "argv", [[FLEETDECK, "--version"], [sys.executable, "-m", "fleetdeck", "--version"]]
)
def test_version(argv: list[str]) -> None:
    result = run(*argv)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"fleetdeck {__version__}\n"
    assert __version__ != "0+unknown", "fleetdeck is not installed in this venv"


def test_top_level_help_lists_every_command_and_the_exit_codes() -> None:
    result = run(FLEETDECK, "--help")
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command.name in result.stdout
    for line in EXIT_CODE_LINES:
        assert line in result.stdout


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_every_command_help_has_an_example_and_the_exit_codes(command: str) -> None:
    result = run(FLEETDECK, command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: fleetdeck {command}")
    example = re.search(r"^example:\n  (.+)$", result.stdout, re.MULTILINE)
    assert example and "fleetdeck " in example.group(1), result.stdout
    for line in EXIT_CODE_LINES:
        assert line in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    "argv",
    [["--no-such-option"], ["status", "--no-such-option", "inv.toml"], ["completion", "tcsh"]],
    ids=["top-level", "status", "bad-choice"],
)
def test_usage_errors_exit_2_with_usage_on_stderr(argv: list[str]) -> None:
    result = run(FLEETDECK, *argv)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: fleetdeck")
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script(shell: str, tmp_path: Path) -> None:
    result = run(FLEETDECK, "completion", shell)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "fleetdeck" in result.stdout
    checker = {"bash": "bash", "zsh": "zsh", "fish": "fish"}[shell]
    if shutil.which(checker) is None:
        return  # the script's syntax is checked where that shell is installed
    script = tmp_path / f"fleetdeck.{shell}"
    script.write_text(result.stdout)
    check = run(checker, "-n", str(script))
    assert check.returncode == 0, check.stderr


def complete(line: str, cwd: Path) -> list[str]:
    """What argcomplete offers for `line` (cursor at its end), as bash's hook asks for it.

    argcomplete (finders.py) answers when _ARGCOMPLETE is set: it parses COMP_LINE up to
    COMP_POINT, writes the candidates joined by _ARGCOMPLETE_IFS to the file named by
    _ARGCOMPLETE_STDOUT_FILENAME (else fd 8) and exits 0.
    """
    out = cwd / "completions.txt"
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_SHELL": "bash",
        "_ARGCOMPLETE_IFS": "\n",
        "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "COMP_TYPE": "9",
    }
    result = run(FLEETDECK, cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    return [word.strip() for word in out.read_text().split("\n") if word.strip()]


def test_completion_offers_deployment_names_from_the_inventory(inventory: Path) -> None:
    cwd = inventory.parent
    assert complete("fleetdeck scale inv.toml ll", cwd) == ["llama8b"]
    assert complete("fleetdeck scale inv.toml q", cwd) == ["qwen"]
    offered = complete("fleetdeck stop inv.toml ", cwd)
    assert {"llama8b", "qwen"} <= set(offered)
    assert complete("fleetdeck logs inv.toml qw", cwd) == ["qwen"]
    assert complete("fleetdeck trust inv.toml a", cwd) == ["a"]


def test_completion_with_an_unreadable_inventory_offers_no_names(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("[[deployments]\nname = 'llama8b'")
    assert complete("fleetdeck scale broken.toml ll", tmp_path) == []
    assert complete("fleetdeck scale missing.toml ll", tmp_path) == []


def test_status_help_says_json_lines_come_with_json() -> None:
    result = run(FLEETDECK, "status", "--help")
    assert result.returncode == 0, result.stderr
    assert "JSON lines with --json" in " ".join(result.stdout.split())


def test_status_watch_without_json_prints_tables(inventory: Path) -> None:
    process = subprocess.Popen(
        [FLEETDECK, "status", str(inventory), "--watch", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while sum(line.startswith("fleet contract") for line in lines) < 2:
            line = process.stdout.readline()
            assert line, f"fleetdeck ended: {process.wait(10)}, {process.communicate()}"
            lines.append(line)
    finally:
        process.send_signal(signal.SIGINT)  # as Ctrl-C: it closes its host sessions
        try:
            process.wait(20)
        finally:
            if process.poll() is None:
                process.kill()
    text = "".join(lines)
    assert not any(line.lstrip().startswith(("{", "[")) for line in lines), text
    assert re.search(r"^HOST\s+STATE", text, re.MULTILINE), text
    assert re.search(r"^DEPLOYMENT\s+STATUS\s+READY", text, re.MULTILINE), text
    assert re.search(r"^llama8b\s+\S+\s+0/1", text, re.MULTILINE), text
