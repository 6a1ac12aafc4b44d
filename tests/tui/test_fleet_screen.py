"""The fleet screen at k9s depth: filter, sort, vi moves, rollout phases, sparkline scales.

The filter and the sort are pure functions, tested here as data first; then the keys,
driven with the pilot; then SVG snapshots of a filtered and a sorted screen at two
sizes in both of our themes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from fleetdeck.core.fleet.snapshot import (
    DeploymentSnapshot,
    DeploymentStatus,
    LatencyPercentiles,
    MetricsSnapshot,
    ReplicaSnapshot,
    ReplicaStatus,
)
from fleetdeck.themes import FLEETDECK_DARK, FLEETDECK_LIGHT
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.deployment_rows import filter_deployments, matches, sort_deployments
from fleetdeck.tui.widgets.deployments_table import DeploymentsTable
from fleetdeck.tui.widgets.filter_input import FilterInput
from fleetdeck.tui.widgets.hosts_table import HostsTable
from fleetdeck.tui.widgets.metrics_text import (
    format_seconds,
    format_span,
    latency_variable,
    range_bars,
    spark_scale,
)
from fleetdeck.tui.widgets.status_light import light_style
from tests.tui.fleet_data import SIZE, busy_metrics, deployment, fleet, shown, until
from tests.tui.scripted_backend import ScriptedBackend
from tests.tui.test_snapshots import the_fleet


def names(deployments: tuple[DeploymentSnapshot, ...]) -> list[str]:
    return [d.name for d in deployments]


def with_rate(
    d: DeploymentSnapshot, rate: float | None, p95: float | None = None
) -> DeploymentSnapshot:
    metrics = MetricsSnapshot(
        sampled_at=1.0, window_s=60.0, request_rate=rate, e2e_latency_s=LatencyPercentiles(p95=p95)
    )
    return d.model_copy(update={"metrics": metrics})


# -- the filter, as data -------------------------------------------------------------------
class TestFilter:
    fleet = the_fleet().deployments  # llama8b, qwen, mistral, phi, gpt2

    def test_matches_name_model_host_and_status(self) -> None:
        assert names(filter_deployments(self.fleet, "qwen")) == ["qwen"]
        assert names(filter_deployments(self.fleet, "Meta-Llama")) == ["llama8b"]
        assert names(filter_deployments(self.fleet, "gpu-c")) == ["mistral"]
        assert names(filter_deployments(self.fleet, "degraded")) == ["llama8b", "mistral"]

    def test_every_word_must_match_somewhere(self) -> None:
        assert names(filter_deployments(self.fleet, "degraded gpu-c")) == ["mistral"]
        assert filter_deployments(self.fleet, "degraded nowhere") == ()

    def test_empty_filter_keeps_everything_in_order(self) -> None:
        assert filter_deployments(self.fleet, "  ") == self.fleet

    def test_matches_the_rollout_phase(self) -> None:
        rolling = rolling_deployment()
        assert matches(rolling, "rolling")
        assert not matches(deployment("phi", DeploymentStatus.IDLE), "rolling")


# -- the sort, as data ---------------------------------------------------------------------
class TestSort:
    def test_by_name_both_ways(self) -> None:
        rows = the_fleet().deployments
        assert names(sort_deployments(rows, "name")) == [
            "gpt2",
            "llama8b",
            "mistral",
            "phi",
            "qwen",
        ]
        assert names(sort_deployments(rows, "name", descending=True)) == [
            "qwen", "phi", "mistral", "llama8b", "gpt2",
        ]  # fmt: skip

    def test_status_sorts_worst_first(self) -> None:
        rows = the_fleet().deployments
        assert names(sort_deployments(rows, "status")) == [
            "llama8b", "mistral", "qwen", "phi", "gpt2",
        ]  # fmt: skip

    def test_rows_without_a_value_go_last_in_either_direction(self) -> None:
        a = with_rate(deployment("a", DeploymentStatus.ACTIVE), 1.0)
        b = with_rate(deployment("b", DeploymentStatus.ACTIVE), 5.0)
        c = deployment("c", DeploymentStatus.ACTIVE)  # no metrics yet
        assert names(sort_deployments((c, b, a), "rate")) == ["a", "b", "c"]
        assert names(sort_deployments((c, b, a), "rate", descending=True)) == ["b", "a", "c"]

    def test_ties_keep_name_order_both_ways(self) -> None:
        rows = tuple(with_rate(deployment(n, DeploymentStatus.ACTIVE), 2.0) for n in "cab")
        assert names(sort_deployments(rows, "rate")) == ["a", "b", "c"]
        assert names(sort_deployments(rows, "rate", descending=True)) == ["a", "b", "c"]

    @pytest.mark.parametrize(
        "column", ["status", "name", "ready", "rate", "p95", "hosts", "model", "endpoint"]
    )
    def test_every_column_sorts(self, column: str) -> None:
        rows = the_fleet().deployments
        assert sorted(names(sort_deployments(rows, column))) == sorted(names(rows))


# -- sparkline wording, as data ------------------------------------------------------------
class TestSparkScale:
    def test_bars_span_lowest_to_highest_and_say_so(self) -> None:
        points = [0.7, 0.8, 1.4]
        assert range_bars(points) == "▁▂█"
        assert spark_scale(points, format_seconds) == "700ms–1.40s"

    def test_flat_series_sits_mid_height_with_one_figure(self) -> None:
        assert range_bars([0.7, 0.7]) == "▄▄"
        assert spark_scale([0.7, 0.7], format_seconds) == "700ms"

    def test_nothing_measured_has_no_scale(self) -> None:
        assert range_bars([0.0, 0.0]) == "▁▁"
        assert spark_scale([0.0, 0.0], format_seconds) == ""
        assert spark_scale([], format_seconds) == ""

    def test_latency_thresholds_pick_the_theme_variable(self) -> None:
        assert latency_variable(0.5) == "spark-latency"
        assert latency_variable(3.0) == "spark-latency-warning"
        assert latency_variable(12.0) == "spark-latency-critical"

    def test_span_wording(self) -> None:
        assert format_span(16.0) == "16s"
        assert format_span(120.0) == "2m"
        assert format_span(7200.0) == "2h"


# -- the keys, with the pilot --------------------------------------------------------------
def app_for(*snapshots: object) -> tuple[FleetdeckApp, ScriptedBackend]:
    backend = ScriptedBackend(*snapshots)  # type: ignore[arg-type]
    return FleetdeckApp(backend, title="fleetdeck · lab", refresh_s=0.01), backend


def table_names(app: FleetdeckApp) -> list[str]:
    table = app.query_one(DeploymentsTable)
    return [str(row.key.value) for row in table.ordered_rows]


def header(app: FleetdeckApp, column: str) -> str:
    table = app.query_one(DeploymentsTable)
    return next(c.label.plain for c in table.columns.values() if c.key.value == column)


async def test_slash_filters_live_enter_keeps_it_escape_clears_it() -> None:
    snapshot = the_fleet()
    app, _ = app_for(snapshot)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        table = app.query_one(DeploymentsTable)
        await pilot.press("slash")
        assert isinstance(app.focused, FilterInput)
        await pilot.press(*"degr")
        assert table_names(app) == ["llama8b", "mistral"], "the table follows each keystroke"

        await pilot.press("enter")
        assert app.focused is table
        assert not app.query_one(FilterInput).display
        assert table.border_subtitle == "filter: degr"

        await pilot.press("slash")
        assert app.query_one(FilterInput).value == "degr", "reopened with the kept filter"
        await pilot.press("escape")
        assert app.focused is table
        assert table.filter_text == ""
        assert table.border_subtitle == ""
        assert table_names(app) == ["llama8b", "qwen", "mistral", "phi", "gpt2"]


async def test_typing_in_the_filter_is_not_taken_for_action_keys() -> None:
    snapshot = the_fleet()
    app, backend = app_for(snapshot)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await pilot.press("slash", *"sxr+q")
        await pilot.pause()
        assert app.query_one(FilterInput).value == "sxr+q"
        assert backend.calls == []
        assert app.is_running


async def test_filter_holds_across_snapshots() -> None:
    first = the_fleet()
    second = first.model_copy(update={"taken_at": 2.0})
    app, backend = app_for(first)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, first)
        await pilot.press("slash", *"gpu-c", "enter")
        backend.push(second)
        await shown(pilot, second)
        assert table_names(app) == ["mistral"]


async def test_o_cycles_the_sort_column_and_O_flips_it() -> None:
    snapshot = the_fleet()
    app, _ = app_for(snapshot)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        table = app.query_one(DeploymentsTable)
        rows_before = {key: table.rows[key] for key in table.rows}
        await pilot.press("o")
        assert header(app, "status") == "Status ▲"
        assert table_names(app) == ["llama8b", "mistral", "qwen", "phi", "gpt2"]
        await pilot.press("o")
        assert header(app, "status") == "Status"
        assert header(app, "name") == "Name ▲"
        assert table_names(app) == ["gpt2", "llama8b", "mistral", "phi", "qwen"]
        await pilot.press("O")
        assert header(app, "name") == "Name ▼"
        assert table_names(app) == ["qwen", "phi", "mistral", "llama8b", "gpt2"]
        assert all(table.rows[key] is row for key, row in rows_before.items()), (
            "a sort re-added rows instead of moving them"
        )
        assert table.sortable_columns()[:2] == ["status", "name"]
        for _ in range(len(table.sortable_columns()) - 1):
            await pilot.press("o")
        assert "▲" not in "".join(header(app, key) for key in table.shown_columns())
        assert table_names(app) == ["llama8b", "qwen", "mistral", "phi", "gpt2"], (
            "past the last column the inventory's order comes back"
        )


async def test_clicking_a_header_sorts_by_it_and_again_flips_it() -> None:
    snapshot = the_fleet()
    app, _ = app_for(snapshot)
    async with app.run_test(size=(140, 30)) as pilot:
        await shown(pilot, snapshot)
        table = app.query_one(DeploymentsTable)
        # The header row's first cell: the Status column's label.
        await pilot.click(DeploymentsTable, offset=(3, 1))
        await until(pilot, lambda: table.sort_column == "status")
        assert header(app, "status") == "Status ▲"
        await pilot.click(DeploymentsTable, offset=(3, 1))
        await until(pilot, lambda: table.sort_descending)
        assert header(app, "status") == "Status ▼"


async def test_cursor_stays_on_its_deployment_across_sorts_and_snapshots() -> None:
    a = with_rate(deployment("alpha", DeploymentStatus.ACTIVE), 1.0)
    b = with_rate(deployment("beta", DeploymentStatus.ACTIVE), 2.0)
    c = with_rate(deployment("gamma", DeploymentStatus.ACTIVE), 3.0)
    first = fleet(a, b, c)
    # Next snapshot: the rates swap, so a sort by rate reorders every row.
    second = fleet(with_rate(a, 9.0), with_rate(b, 2.0), with_rate(c, 0.5), taken_at=2.0)
    app, backend = app_for(first)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, first)
        table = app.query_one(DeploymentsTable)
        await pilot.press("down")
        assert table.cursor_key() == "beta"
        table.sort_column = "rate"
        await pilot.pause()
        assert table_names(app) == ["alpha", "beta", "gamma"]
        await pilot.press("j")  # onto gamma
        assert table.cursor_key() == "gamma"
        await pilot.press("O")  # gamma goes to the top; the cursor goes with it
        assert table_names(app) == ["gamma", "beta", "alpha"]
        assert table.cursor_key() == "gamma"
        assert table.cursor_row == 0
        backend.push(second)
        await shown(pilot, second)
        assert table_names(app) == ["alpha", "beta", "gamma"]
        assert table.cursor_key() == "gamma"
        assert app.selected_deployment() == "gamma"


@pytest.mark.parametrize("table_type", [DeploymentsTable, HostsTable])
async def test_vi_keys_and_home_end_move_the_cursor(table_type: type) -> None:
    snapshot = the_fleet()
    app, _ = app_for(snapshot)
    async with app.run_test(size=(100, 40)) as pilot:
        await shown(pilot, snapshot)
        table = app.query_one(table_type)
        table.focus()
        await pilot.pause()
        last = table.row_count - 1
        moves = [("j", 1), ("j", 2), ("k", 1), ("G", last), ("g", 0), ("end", last), ("home", 0)]
        for key, row in moves:
            await pilot.press(key)
            assert table.cursor_row == row, f"after {key!r}"


def rolling_deployment() -> DeploymentSnapshot:
    def replica(index: int, spec: str, started_at: float) -> ReplicaSnapshot:
        return ReplicaSnapshot(
            id=f"llama8b/r{index}", deployment="llama8b", host="gpu-a", port=8100 + index,
            status=ReplicaStatus.ACTIVE, spec_hash=spec, started_at=started_at,
        )  # fmt: skip

    return DeploymentSnapshot(
        name="llama8b",
        model="m",
        status=DeploymentStatus.ACTIVE,
        desired=2,
        ready=3,
        replicas=(replica(0, "old", 1.0), replica(1, "old", 1.0), replica(2, "new", 5.0)),
    )


async def test_a_rollout_row_says_what_is_happening() -> None:
    draining = deployment("phi", DeploymentStatus.DEGRADED, desired=0).model_copy(
        update={"replicas": (
            ReplicaSnapshot(id="phi/r0", deployment="phi", host="gpu-a", port=8100,
                            status=ReplicaStatus.STOPPING),
        )}
    )  # fmt: skip
    snapshot = fleet(rolling_deployment(), draining)
    app, _ = app_for(snapshot)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        table = app.query_one(DeploymentsTable)
        assert table.get_cell("llama8b", "ready").plain == "rolling 1/2 updated"
        assert table.get_cell("phi", "ready").plain == "scaling 1→0"


async def test_p95_sparkline_has_its_scale_and_threshold_colours() -> None:
    metrics = busy_metrics().model_copy(
        update={"e2e_p95_history": (0.5, 0.5, 0.6, 0.7, 2.5, 11.0, 0.8, 0.9)}
    )
    busy = deployment("llama8b", DeploymentStatus.ACTIVE).model_copy(update={"metrics": metrics})
    snapshot = fleet(busy)
    app, _ = app_for(snapshot)
    async with app.run_test(size=(160, 30)) as pilot:
        await shown(pilot, snapshot)
        table = app.query_one(DeploymentsTable)
        cell = table.get_cell("llama8b", "p95")
        assert table.get_cell("llama8b", "p95_range").plain == "500ms–11.00s"
        assert header(app, "p95") == "p95 · 16s"
        variables = app.theme_variables
        # Each bar's colour, from the span that covers it (bars of one colour share one).
        bars = {
            cell.plain[at]: span.style
            for span in cell.spans
            for at in range(span.start, span.end)
            if cell.plain[at] in "▁▂▃▄▅▆▇█"
        }
        assert bars["█"] == light_style("spark-latency-critical", variables)
        warning_bar = cell.plain[cell.plain.index("█") - 1]
        assert bars[warning_bar] == light_style("spark-latency-warning", variables)
        assert bars["▁"] == light_style("spark-latency", variables)


# -- how it looks --------------------------------------------------------------------------
async def _filtered(pilot: Pilot[None]) -> None:
    await pilot.press("slash", *"degraded", "enter")


async def _sorted(pilot: Pilot[None]) -> None:
    # status, name, ready, rate, p95: then reversed, the slowest first.
    await pilot.press(*"ooooo", "O")


@pytest.mark.parametrize("theme", [FLEETDECK_DARK.name, FLEETDECK_LIGHT.name])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("scene", [_filtered, _sorted], ids=["filtered", "sorted"])
def test_fleet_screen_snapshot(
    snap_compare: Callable[..., bool],
    scene: Callable[[Pilot[None]], object],
    size: tuple[int, int],
    theme: str,
) -> None:
    snapshot = the_fleet()
    app = FleetdeckApp(ScriptedBackend(snapshot), title="fleetdeck · lab", refresh_s=0.01)

    async def run_before(pilot: Pilot[None]) -> None:
        app.theme = theme
        await shown(pilot, snapshot)
        await scene(pilot)  # type: ignore[misc]
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_a_key_value_word_matches_a_label_of_a_replicas_host() -> None:
    eu = deployment("eu-model", DeploymentStatus.ACTIVE, hosts=("gpu-a",))
    us = deployment("us-model", DeploymentStatus.ACTIVE, hosts=("gpu-c",))
    labels = {"gpu-a": {"zone": "eu"}, "gpu-c": {"zone": "US"}}
    assert filter_deployments((eu, us), "zone=eu", labels) == (eu,)
    assert filter_deployments((eu, us), "zone=us model", labels) == (us,)
    assert filter_deployments((eu, us), "zone=asia", labels) == ()
    assert filter_deployments((eu, us), "zone=eu", None) == (), "no labels, no label match"
