"""KeyedTable's own column measuring and cell cache: widths follow the widest cell, and
a cell is drawn anew exactly when its value, place or look changed."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from fleetdeck.core.fleet.snapshot import DeploymentStatus
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.screens.host_detail import HostDetailScreen
from fleetdeck.tui.screens.hosts import HostsScreen
from fleetdeck.tui.widgets.keyed_table import KeyedTable
from fleetdeck.tui.widgets.replicas_table import ReplicasTable
from tests.tui.fleet_data import deployment, llama, llama_replicas, open_detail, shown, until
from tests.tui.host_data import host_fleet
from tests.tui.scripted_backend import ScriptedBackend


class Two(KeyedTable):
    COLUMNS: ClassVar = (("name", "Name"), ("value", "V"))


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield Two(id="t")


def rows(values: dict[str, str]) -> dict[str, list[Text]]:
    return {name: [Text(name), Text(value)] for name, value in values.items()}


async def test_widths_follow_the_widest_cell_both_ways() -> None:
    app = Host()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(Two)
        table.sync_rows(rows({"a": "1", "b": "22"}))
        await pilot.pause()
        value = table.columns[next(k for k in table.columns if k.value == "value")]
        assert value.content_width == 2
        table.sync_rows(rows({"a": "1234567", "b": "22"}))
        await pilot.pause()
        assert value.content_width == 7, "grows with a wider cell"
        table.sync_rows(rows({"a": "1", "b": "22"}))
        await pilot.pause()
        assert value.content_width == 2, "shrinks back to the widest remaining cell"
        table.sync_rows(rows({"a": "", "b": ""}))
        await pilot.pause()
        assert value.content_width == 1, "never narrower than its header"


async def test_a_new_row_that_sorts_first_moves_up_where_no_column_is_the_key() -> None:
    """A replica row shows "r0", not its key "llama8b/r0": the rows still reorder."""

    class Screen(App[None]):
        def compose(self) -> ComposeResult:
            yield ReplicasTable(id="replicas")

    app = Screen()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(ReplicasTable)
        r0, r1, r2 = llama_replicas()
        table.replicas = (r0, r2)
        await pilot.pause()
        kept = table.rows[RowKey("llama8b/r2")]
        table.replicas = (r0, r1, r2)  # a scale up: the new replica sorts in between
        await pilot.pause()
        assert [row.key.value for row in table.ordered_rows] == [r.id for r in (r0, r1, r2)]
        assert table.rows[RowKey("llama8b/r2")] is kept, "moved, not re-added"


def screen_text(app: App[None]) -> list[str]:
    table = app.query_one(Two)
    return [strip.text for strip in table.render_lines(table.region.reset_offset)]


def cells_in_cache(table: KeyedTable) -> set[tuple[object, ...]]:
    return set(table._cells_drawn.keys())


async def test_a_new_snapshot_redraws_only_the_cells_that_changed() -> None:
    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(Two)
        table.sync_rows(rows({"a": "1", "b": "2", "c": "3"}))
        await pilot.pause()
        first = cells_in_cache(table)
        assert len(first) == 6, "every body cell drawn once"
        table.sync_rows(rows({"a": "1", "b": "9", "c": "3"}))
        await pilot.pause()
        assert [line.split() for line in screen_text(app)[1:4]] == [
            ["a", "1"],
            ["b", "9"],
            ["c", "3"],
        ]
        new = cells_in_cache(table) - first
        assert len(new) == 1, "only the changed cell was drawn again"
        (drawn,) = new
        assert drawn[0].value.plain == "9" and drawn[1:3] == (1, 1)  # type: ignore[attr-defined]


async def test_moved_rows_and_a_theme_change_are_drawn_anew() -> None:
    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(Two)
        table.sync_rows(rows({"a": "1", "b": "2"}))
        await pilot.pause()
        table.sync_rows({"b": rows({"b": "2"})["b"], "a": rows({"a": "1"})["a"]})
        await pilot.pause()
        assert [line.split() for line in screen_text(app)[1:3]] == [["b", "2"], ["a", "1"]]
        before = cells_in_cache(table)
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        assert table._cells_drawn, "the cells were drawn again"
        assert not cells_in_cache(table) & before, "nothing drawn for the old theme is reused"


def as_drawn(lines: list[list[Segment]]) -> list[list[Segment]]:
    """Segments as a terminal shows them: empty ones dropped, equal neighbours merged
    (Rich leaves an empty segment where an empty Text was, which draws nothing)."""
    return [[s for s in Segment.simplify(line) if s.text] for line in lines]


def cells_drawn_both_ways(table: KeyedTable) -> int:
    """Draw every cell of `table` with KeyedTable's one-line path and with DataTable's
    own, with and without the cursor, over two row styles; assert they are the same
    segments. Returns how many cells took the one-line path."""
    fast = 0
    columns = table.ordered_columns
    styles = [table.rich_style, table.rich_style + Style(bgcolor="#203040", bold=True)]
    for row_index in range(table.row_count):
        for column_index, column in enumerate(columns):
            value = table.get_cell_at(Coordinate(row_index, column_index))
            width = column.get_render_width(table)
            for base_style in styles:
                for cursor in (False, True):
                    ours = table._draw_one_line(
                        value, row_index, column_index, base_style, width, cursor, False
                    )
                    theirs = DataTable._render_cell(
                        table, row_index, column_index, base_style, width, cursor, False
                    )
                    if ours is None:
                        continue
                    fast += 1
                    assert as_drawn(ours) == as_drawn(theirs), (
                        type(table).__name__,
                        row_index,
                        column.key,
                        value,
                    )
    return fast


async def test_one_line_cells_are_drawn_exactly_as_datatable_draws_them() -> None:
    """Every table of the console's screens, filled from the test fleets: the fleet
    screen, the hosts screen, a host's GPUs and processes, a deployment's replicas."""
    snapshot = host_fleet().model_copy(
        update={"deployments": (llama(), deployment("beta", DeploymentStatus.LOADING))}
    )
    app = FleetdeckApp(ScriptedBackend(snapshot), title="lab", refresh_s=0.01)
    checked: dict[str, int] = {}

    def check_screen() -> None:
        for table in app.screen.query(KeyedTable):
            checked[type(table).__name__] = cells_drawn_both_ways(table)

    async with app.run_test(size=(200, 50)) as pilot:
        await shown(pilot, snapshot)
        check_screen()
        await open_detail(pilot)
        await pilot.pause()
        check_screen()
        await pilot.press("escape", "h")
        await until(pilot, lambda: isinstance(app.screen, HostsScreen))
        await pilot.pause()
        check_screen()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HostDetailScreen))
        await pilot.pause()
        check_screen()
    expected = {
        "DeploymentsTable",
        "HostsTable",
        "ReplicasTable",
        "HostListTable",
        "GpuTable",
        "GpuProcessesTable",
    }
    assert expected <= set(checked), checked
    assert all(checked[name] > 0 for name in expected), checked
