"""Every broken inventory in broken_inventories/ fails with exactly the problem its first
line announces: `# expect: LINE: KEY.PATH: SUBSTRING` (LINE is `-` when no line applies)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fleetdeck.core.errors import InventoryError
from fleetdeck.core.inventory import load_inventory

BROKEN = Path(__file__).parent / "broken_inventories"
_EXPECT = re.compile(r"^# expect: (?P<line>\d+|-): (?P<key>\S+): (?P<text>.+)$")


def _cases() -> list[Path]:
    return sorted(BROKEN.glob("*.toml"))


def test_there_are_enough_broken_inventories() -> None:
    assert len(_cases()) >= 12


@pytest.mark.parametrize("path", _cases(), ids=lambda path: path.stem)
def test_broken_inventory_reports_its_one_problem(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    expect = _EXPECT.match(first_line)
    assert expect is not None, f"{path.name}: first line must be '# expect: LINE: KEY: TEXT'"

    with pytest.raises(InventoryError) as caught:
        load_inventory(path)

    text = str(caught.value)
    assert len(caught.value.problems) == 1, text
    assert f"{path.name}:{expect['line']}: {expect['key']}:" in text
    assert expect["text"] in text
    assert "pydantic" not in text and "input_type" not in text
    assert "Traceback" not in text
