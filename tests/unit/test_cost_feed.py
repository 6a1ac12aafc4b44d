"""What the engine feeds the cost meter (core/engine/spending.py), how the figures travel
(the snapshot's JSON, a recording) and how `status` prints them."""

from __future__ import annotations

import json

from fleetdeck.core.commands.render import cost_text
from fleetdeck.core.engine.spending import cost_readings, gpu_holdings, host_prices
from fleetdeck.core.fleet.snapshot import (
    CostFigures,
    DeploymentCost,
    DeploymentSnapshot,
    DeploymentStatus,
    FleetSnapshot,
    MetricsSnapshot,
)
from fleetdeck.core.metrics.cost import Holding
from fleetdeck.core.metrics.vllm_page import PageValues
from tests.unit.test_plan_and_status import host_obs, inventory, replica


def test_what_holds_gpus_is_what_placement_counts() -> None:
    observed = {
        "a": host_obs(
            "a",
            replica("llm", "a-0", gpu_uuids=["G0", "G1"]),
            replica("llm", "a-1", healthy=False),  # loading: holds its GPU already
            replica("llm", "a-2", stop_requested=True, alive=True),  # stopping: still holds
            replica("llm", "a-3", stop_requested=True, alive=False),  # gone
        ),
        "b": None,  # unreachable now: what it ran when last seen
    }
    last_seen = {
        "b": host_obs("b", replica("llm", "b-0"), replica("llm", "b-1", stop_requested=True))
    }
    assert gpu_holdings(observed, last_seen) == {
        "llm": [
            Holding("llm/a-0", "a", 2, ready=True),
            Holding("llm/a-1", "a", 1, ready=False),
            Holding("llm/a-2", "a", 1, ready=True),
            Holding("llm/b-0", "b", 1, ready=False),  # not ready: its host does not answer
        ]
    }


def test_readings_take_counters_and_load_from_telemetry() -> None:
    inv = inventory()
    holdings = {"llm": [Holding("llm/a-0", "a", 1)], "old": [Holding("old/b-0", "b", 1)]}
    pages = {
        "llm/a-0": PageValues(prompt_tokens=10.0, generation_tokens=4.0),
        "old/b-0": PageValues(prompt_tokens=1.0, generation_tokens=1.0),
    }
    summary = MetricsSnapshot(sampled_at=0, window_s=60, running=2, waiting=1, requests_total=7)
    readings = {r.deployment: r for r in cost_readings(inv, holdings, pages, {"llm": summary})}
    llm = readings["llm"]
    assert (llm.requests_total, llm.in_flight, llm.ready_replicas) == (7, 3, 1)
    assert list(llm.counters) == ["llm/a-0"]
    assert llm.counters["llm/a-0"].output == 4.0
    assert readings["old"].holdings == (Holding("old/b-0", "b", 1),)  # left the inventory
    assert host_prices(inv) == {"a": None, "b": None}


def priced_fleet() -> FleetSnapshot:
    hour = CostFigures(
        window_s=1800.0,
        gpu_hours=1.0,
        idle_gpu_hours=0.25,
        prompt_tokens=3000.0,
        output_tokens=1000.0,
        total_tokens=4000.0,
        cost=2.10,
        idle_cost=0.525,
        cost_per_million_output_tokens=2100.0,
        cost_per_million_total_tokens=525.0,
    )
    cost = DeploymentCost("EUR", 2, 2, 4.20, since=0.0, last_hour=hour, since_start=hour)
    return FleetSnapshot(
        fleet="lab",
        taken_at=1800.0,
        deployments=(
            DeploymentSnapshot(
                name="llm", model="m", status=DeploymentStatus.ACTIVE, desired=2, cost=cost
            ),
        ),
    )


def test_the_cost_survives_json_as_status_and_recordings_write_it() -> None:
    snapshot = priced_fleet()
    document = json.loads(json.dumps(snapshot.model_dump(mode="json")))
    assert document["deployments"][0]["cost"]["currency"] == "EUR"
    assert document["deployments"][0]["cost"]["last_hour"]["cost_per_million_output_tokens"] == 2100
    assert FleetSnapshot.model_validate(document) == snapshot


def test_status_prints_a_cost_table_in_the_fleet_currency() -> None:
    text = cost_text(priced_fleet())
    lines = text.splitlines()
    assert lines[0].startswith("cost in EUR: GPUs and EUR/h now; the rest over the last 30m")
    assert lines[1].split() == [
        "DEPLOYMENT", "GPUS", "EUR/H", "GPU·H", "IDLE", "GPU·H", "OUT", "TOKENS", "EUR",
        "EUR/M", "OUT", "EUR/M", "TOTAL",
    ]  # fmt: skip
    assert lines[2].split() == [
        "llm",
        "2",
        "4.20",
        "1.00",
        "0.25",
        "1.0k",
        "2.10",
        "2,100.00",
        "525.00",
    ]


def test_status_prints_no_cost_table_for_a_fleet_that_holds_nothing() -> None:
    empty = DeploymentCost("USD")
    snapshot = priced_fleet()
    idle = snapshot.deployments[0].model_copy(update={"cost": empty})
    assert cost_text(snapshot.model_copy(update={"deployments": (idle,)})) == ""
