"""The console's actions (scale, restart...) never act while another controller holds
the leases: they record the intent and say who is in charge."""

from __future__ import annotations

from pathlib import Path

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import parse_inventory

INVENTORY = """
[fleet]
name = "t"
[[hosts]]
name = "a"
transport = "local"
[[deployments]]
name = "llm"
model = "m"
replicas = 1
"""


async def test_scale_while_another_controller_is_in_charge_only_records_intent(
    tmp_path: Path,
) -> None:
    engine = Engine(parse_inventory(INVENTORY, tmp_path / "fleet.toml"), state_dir=tmp_path)
    events: list[Event] = []
    engine.subscribe(events.append)
    engine.set_controller_in_charge(False)  # as this process's Controller says when it waits
    applied: list[object] = []

    async def refuse_to_be_called(plan: object) -> object:  # the engine must not apply
        applied.append(plan)
        raise AssertionError("applied while another controller holds the leases")

    engine.apply = refuse_to_be_called  # type: ignore[method-assign,assignment]
    outcome = await FleetIntents(engine).scale("llm", 3)
    assert applied == []
    assert outcome.handed_over
    assert engine.desired.in_force() == {"llm": 3}, "the intent is kept for the controller"
    assert [e.kind for e in events][-1] == "controller.handed-over"
    await engine.close()
