"""Every case in cases.py through `fleetdeck` (its main(), in this process): exit 2, the
exact first line of the refusal, no traceback, and nothing recorded or started."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fleetdeck import arg_types
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.errors import InventoryError, UsageError
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import MAX_REPLICAS, load_inventory, parse_inventory
from fleetdeck.core.state.overrides import Overrides
from fleetdeck.main import main
from tests.bad_inputs.cases import BASE, CLI_CASES, INVENTORY_CASES, Case

USAGE = 2
FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")
# A few cases through the installed command too: its entry point, a process of its own.
# The verbs that reach the host before refusing (they look for the replica or the journal).
LOOKS_AT_HOSTS = ("scale", "logs", "events")
THROUGH_THE_BINARY = (
    "dev-zero",
    "deep-nesting",
    "model-nul",
    "scale-huge",
    "demo-without-a-terminal",
)


def _inventory_path(case: Case, tmp_path: Path) -> Path:
    if case.path is not None:
        return Path(case.path.format(tmp=tmp_path))
    path = tmp_path / "fleet.toml"
    if case.raw is not None:
        path.write_bytes(case.raw)
        if case.size is not None:
            with path.open("r+b") as stream:
                stream.truncate(case.size)  # sparse: 50 MB on disk costs nothing
        return path
    text = BASE
    for old, new in case.edit:
        assert old in text, f"{case.id}: {old!r} is not in the base inventory"
        text = text.replace(old, new)
    text = text.replace("{state}", str(tmp_path / "state")) + "".join(
        f"{line}\n" for line in case.extra
    )
    path.write_text(text, encoding="utf-8")
    return path


def _first_error_line(stderr: str) -> str:
    """The first line that is not argparse's usage (which comes first, then indented)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return next(line for line in lines if not line.startswith(("usage:", " ")))


def _overrides(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "xdg-state").rglob("overrides.json"))


@pytest.mark.parametrize("case", INVENTORY_CASES + CLI_CASES, ids=lambda case: case.id)
def test_bad_input_is_refused_with_exit_2(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _inventory_path(case, tmp_path)
    argv = [arg.format(file=path) for arg in case.argv]

    code = main(argv)

    captured = capsys.readouterr()
    assert code == USAGE, captured.err
    assert _first_error_line(captured.err) == case.first.format(file=path)
    assert "Traceback" not in captured.err
    # Verbs may look at the host (its state dir then exists); none may start a replica.
    assert not list((tmp_path / "state").rglob("spec.json"))
    assert not (tmp_path / "state").exists() or case.argv[0] in LOOKS_AT_HOSTS
    if case.not_recorded:
        assert _overrides(tmp_path) == [] or "alpha" not in _overrides(tmp_path)[0].read_text()


@pytest.mark.parametrize(
    "case",
    [case for case in INVENTORY_CASES + CLI_CASES if case.id in THROUGH_THE_BINARY],
    ids=lambda case: case.id,
)
def test_bad_input_through_the_fleetdeck_command(case: Case, tmp_path: Path) -> None:
    path = _inventory_path(case, tmp_path)
    argv = [arg.format(file=path) for arg in case.argv]
    result = subprocess.run(
        [FLEETDECK, *argv], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == USAGE, result.stderr
    assert _first_error_line(result.stderr) == case.first.format(file=path)
    assert "Traceback" not in result.stderr


def test_cases_have_unique_ids() -> None:
    ids = [case.id for case in INVENTORY_CASES + CLI_CASES]
    assert len(ids) == len(set(ids))


def test_the_cli_and_the_inventory_agree_on_the_replica_bound() -> None:
    assert arg_types.MAX_REPLICAS == MAX_REPLICAS


async def test_scale_beyond_the_bound_is_refused_by_the_intent_too(tmp_path: Path) -> None:
    """The console's `:scale` reaches the intent without argparse in between."""
    text = BASE.replace("{state}", str(tmp_path / "state"))
    inventory = parse_inventory(text, tmp_path / "fleet.toml")
    intents = FleetIntents(Engine(inventory, state_dir=tmp_path / "user"))
    try:
        with pytest.raises(UsageError) as caught:
            await intents.scale("alpha", MAX_REPLICAS + 1)
    finally:
        await intents.close()
    assert str(caught.value).splitlines()[0] == (
        "cannot scale alpha to 1025: a replica count is 0 to 1024"
    )
    assert _overrides(tmp_path) == []


def test_control_characters_in_messages_are_escaped(tmp_path: Path) -> None:
    """A refused value is shown, never printed raw: the message stays one line."""
    path = _inventory_path(
        Case("x", "", edit=(('model = "m"', 'model = "a\\r\\nb\\u0007"'),)), tmp_path
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert len(str(caught.value).splitlines()) == 1
    assert str(caught.value).endswith('got "a\\r\\nb\\u0007"')


def test_an_override_kept_before_the_bound_is_not_in_force(tmp_path: Path) -> None:
    """`scale alpha 1000000000` was recorded before 1024 was the most: it is ignored."""
    text = BASE.replace("{state}", str(tmp_path / "state"))
    overrides = Overrides(tmp_path, parse_inventory(text, tmp_path / "fleet.toml"))
    overrides.set("alpha", 2)
    assert overrides.desired() == {"alpha": 2}
    data = json.loads(overrides.path.read_text())
    data["alpha"]["replicas"] = 1_000_000_000
    overrides.path.write_text(json.dumps(data))
    assert overrides.desired() == {}


def test_a_byte_order_mark_is_no_error(tmp_path: Path) -> None:
    """Some Windows editors start UTF-8 files with one; lines still count from the same place."""
    text = BASE.replace("{state}", str(tmp_path / "state"))
    path = tmp_path / "fleet.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace('model = "m"', "model = 5").encode())
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert str(caught.value) == f"{path}:10: deployments[0].model: expected a string, got 5"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_inventory(path).fleet.name == "t"
