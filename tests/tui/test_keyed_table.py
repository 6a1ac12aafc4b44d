"""KeyedTable's own column measuring: widths grow and shrink with the widest cell."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult

from fleetdeck.tui.widgets.keyed_table import KeyedTable


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
