"""Bad inventories through the real `fleetdeck` CLI: exit 2, file and line, no traceback,
and nothing started: the state dirs the broken files name stay empty."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")
BROKEN = sorted((Path(__file__).parent.parent / "unit" / "broken_inventories").glob("*.toml"))


def expectation(path: Path) -> tuple[str, str, str]:
    first = path.read_text().splitlines()[0]
    line, key, message = (part.strip() for part in first.removeprefix("# expect:").split(":", 2))
    return line, key, message


def test_there_are_enough_broken_inventories() -> None:
    assert len(BROKEN) >= 10


@pytest.mark.parametrize("broken", BROKEN, ids=[p.stem for p in BROKEN])
@pytest.mark.parametrize("command", ["apply", "plan"])
def test_broken_inventory_exits_2_with_file_and_line(
    broken: Path, command: str, tmp_path: Path
) -> None:
    copy = tmp_path / broken.name
    # state_dir values in the files are relative: run from tmp_path so a launch would land there.
    copy.write_text(broken.read_text())
    result = subprocess.run(
        [FLEETDECK, command, str(copy)], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    line, key, _ = expectation(broken)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    location = f"{broken.name}:{line}: " if line != "-" else f"{broken.name}"
    assert location in result.stderr
    assert key in result.stderr
    assert "nothing was started or stopped" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [broken.name]


def test_usage_error_exits_2() -> None:
    result = subprocess.run([FLEETDECK, "apply"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "FILE" in result.stderr


def test_missing_file_exits_2_and_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    result = subprocess.run([FLEETDECK, "status", str(missing)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "nope.toml" in result.stderr and "Traceback" not in result.stderr
