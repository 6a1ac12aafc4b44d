"""A DataTable whose rows are keyed by name and synced in place from a snapshot.

Rows are never cleared and re-added: a changed cell is updated where it is, a row is
added only for a new key and removed only when its key disappears. That keeps the
cursor, the scroll position and the row objects stable while the fleet changes. When
the order changes (a sort), the rows are reordered in place and the cursor follows the
row it was on, not the position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey

Cells = Sequence[Text]


def _width(value: object) -> int:
    return value.cell_len if isinstance(value, Text) else len(str(value))


def same_cell(old: object, new: Text) -> bool:
    # Rich's Text equality ignores the base style, and a theme change alters only that.
    return (
        isinstance(old, Text)
        and old.plain == new.plain
        and old.style == new.style
        and old.spans == new.spans
    )


class KeyedTable(DataTable[Text]):
    """Subclasses declare COLUMNS and call `sync_rows` with every row's cells."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        # vi-style moves beside the arrows: the console is driven from the home row.
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g,home", "scroll_top", "First row", show=False),
        Binding("G,end", "scroll_bottom", "Last row", show=False),
    ]

    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = ()
    """(column key, header label), in display order."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", show_cursor=False)
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)

    # The cursor paints over the status colours of its row, so only the table the user
    # is working in shows one.
    def on_focus(self) -> None:
        self.show_cursor = True

    def on_blur(self) -> None:
        self.show_cursor = False

    def on_mount(self) -> None:
        # Status colours are resolved from theme variables into the cells themselves,
        # so they have to be rebuilt when the theme changes.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh_rows())

    def refresh_rows(self) -> None:
        """Rebuild every row from the widget's current data (subclasses implement)."""

    def cursor_key(self) -> str | None:
        """The key of the row under the cursor (None when the table is empty)."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def sync_rows(self, rows: Mapping[str, Cells]) -> None:
        """Show exactly `rows`, in the mapping's order; each row's cells are new objects."""
        under_cursor = self.cursor_key()
        for row_key in [key for key in self.rows if key.value not in rows]:
            self.remove_row(row_key)
        for key, cells in rows.items():
            if key not in self.rows:
                self.add_row(*cells, key=key)
                continue
            for (column_key, _label), cell in zip(self.COLUMNS, cells, strict=True):
                if not same_cell(self.get_cell(key, column_key), cell):
                    self.update_cell(key, column_key, cell, update_width=True)
        self._order_rows(list(rows))
        if under_cursor is not None and under_cursor in rows and self.cursor_key() != under_cursor:
            self.move_cursor(row=self.get_row_index(under_cursor), scroll=False)

    def _order_rows(self, order: list[str]) -> None:
        if [row.key.value for row in self.ordered_rows] == order:
            return
        # DataTable.sort keeps the row objects and only moves them, but its key function
        # sees only cell values. No column's text need be the row's key (a replica shows
        # "r0", a GPU its index), so a row is known by its cells themselves: the objects
        # this table stored, each row its own.
        columns = list(self.columns)
        position = {
            tuple(id(self.get_cell(key, column)) for column in columns): index
            for index, key in enumerate(order)
        }

        def place(cells: Any) -> int:  # a tuple of cells, or one cell for one column
            row = cells if len(columns) > 1 else (cells,)
            return position[tuple(id(cell) for cell in row)]

        self.sort(*columns, key=place)

    def _update_column_widths(self, updated_cells: set[CellKey]) -> None:
        """Measure each changed column once per idle, not once per changed cell.

        Textual's version re-measures a whole column for every updated cell that got
        narrower; with every metrics cell changing each snapshot that is rows x rows
        measurements per column (about 360 ms a snapshot at 200 deployments, see
        benchmarks/console_frame.py). Our cells are one-line Text, so a width is its
        cell length. Overrides a private hook of DataTable (textual 8.x, pinned <9);
        tests/tui/test_keyed_table.py checks the widths it leaves.
        """
        for column_key in {cell.column_key for cell in updated_cells}:
            column = self.columns.get(column_key)
            if column is None:
                continue
            widths = [_width(value) for value in self.get_column(column_key)]
            column.content_width = max([*widths, _width(column.label)])

    def relabel(self, column_key: str, label: str) -> None:
        """Change a column's header text (DataTable has no public way to)."""
        column = self.columns[ColumnKey(column_key)]
        if column.label.plain == label:
            return
        column.label = Text(label)
        # Re-measuring a cell of the column makes DataTable re-measure the header too.
        if self.row_count:
            first = self.ordered_rows[0].key
            self.update_cell(first, column_key, self.get_cell(first, column_key), update_width=True)
        else:
            self.refresh()
