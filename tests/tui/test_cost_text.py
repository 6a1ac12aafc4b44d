"""The console's cost text, as data: the detail header's two lines, the fleet table's
Cost/h cell and its sort."""

from __future__ import annotations

from fleetdeck.core.fleet.snapshot import DeploymentCost, DeploymentStatus
from fleetdeck.tui.deployment_rows import cost_per_hour, sort_deployments
from fleetdeck.tui.widgets.deployment_header import header_lines
from tests.tui.fleet_data import deployment, llama
from tests.tui.test_snapshots import llama_cost


def test_the_detail_header_has_cost_lines_once_there_is_a_cost() -> None:
    assert [label for label, _ in header_lines(llama(), None)] == ["endpoint", "api key", "test"]
    lines = dict(header_lines(llama(cost=llama_cost()), None))
    assert lines["cost"] == (
        "4.20 USD/h now (2 GPUs) · last 40m: 2.52 USD · 6.00 per M out · 1.20 GPU·h"
        " (0.30 idle) · 420.0k out / 1.9M tokens · 1.31 per M total"
    )
    assert lines["watched"].startswith("40m: 2.52 USD · 6.00 per M out")


def test_the_cost_cell_and_its_sort() -> None:
    cheap = deployment("cheap", DeploymentStatus.ACTIVE).model_copy(
        update={"cost": DeploymentCost("EUR", 1, 1, 1.5)}
    )
    dear = deployment("dear", DeploymentStatus.ACTIVE).model_copy(
        update={"cost": DeploymentCost("EUR", 2, 2, 6.0)}
    )
    unpriced = deployment("unpriced", DeploymentStatus.ACTIVE).model_copy(
        update={"cost": DeploymentCost("EUR", 1, 1, None)}
    )
    assert cost_per_hour(dear) == "6.00 EUR"
    assert cost_per_hour(unpriced) is None and cost_per_hour(llama()) is None
    ordered = sort_deployments((unpriced, dear, cheap), "cost", descending=True)
    assert [d.name for d in ordered] == ["dear", "cheap", "unpriced"]  # unknown last
