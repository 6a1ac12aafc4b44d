"""KeyedTable's own column measuring and cell cache: widths follow the widest cell, and
a cell is drawn anew exactly when its value, place or look changed."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets.data_table import RowKey

from fleetdeck.tui.widgets.keyed_table import KeyedTable
from fleetdeck.tui.widgets.replicas_table import ReplicasTable
from tests.tui.fleet_data import llama_replicas


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
