"""What the console's form saves, over real sshd: `apply_inventory` writes the edited
file, takes it and applies it with the CLI's `apply`, so the new deployment's replica
starts; the plan shown beforehand (`plan_for`) is the one that then runs. A file that
changed on disk since the form read it is refused and left alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.errors import UsageError
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import load_inventory
from fleetdeck.core.inventory.editing import check_edit
from fleetdeck.core.policy.plan import Start
from tests.harness.fleetdeck_cli import fleetdeck, status
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

EXISTING = """
# the one we had
[[deployments]]
name = "llm"
model = "sim/llm"
replicas = 0   # parked
"""
NEW = {
    "name": "llm2",
    "model": "sim/llm2",
    "start_timeout": "60s",
    "vllm": {"extra_args": ["--sim-load-seconds", "0.2"]},
}


@pytest.fixture
def inventory(
    sshd_fleet_factory: Callable[[int], SshdFleet], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    path = write_inventory(sshd_fleet_factory(1), tmp_path / "fleet.toml",
                           deployments_toml=EXISTING)  # fmt: skip
    yield path
    fleetdeck("down", str(path))


async def test_a_saved_form_is_written_planned_and_applied(inventory: Path) -> None:
    before = inventory.read_text()
    intents = FleetIntents(Engine(load_inventory(inventory)), who="the console")
    try:
        await intents.refresh()
        check = check_edit(before, inventory, NEW, None)
        assert check.ok and check.inventory is not None, check.errors
        plan = intents.plan_for(check.inventory)
        assert [(a.deployment, a.host) for a in plan.actions if isinstance(a, Start)] == [
            ("llm2", "host-1")
        ]
        with pytest.raises(UsageError):  # someone edited the file meanwhile
            await intents.apply_inventory(check.text, based_on=before + "# changed\n")
        assert inventory.read_text() == before
        outcome = await intents.apply_inventory(check.text, based_on=before)
        assert outcome.ok and not outcome.handed_over
        assert [a.deployment for a in outcome.applied.done] == ["llm2"]
        assert inventory.read_text() == check.text and "replicas = 0   # parked" in check.text
        assert intents.inventory.deployment("llm2") is not None
        settled = await intents.settle(outcome, timeout_s=60, wait_ready=True)
        assert settled.ok, settled.reason
    finally:
        await intents.close()
    seen = {d["name"]: d for d in status(inventory)["deployments"]}
    assert seen["llm2"]["ready"] == 1 and seen["llm"]["replicas"] == []
