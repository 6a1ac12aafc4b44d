"""A DataTable whose rows are keyed by name and synced in place from a snapshot.

Rows are never cleared and re-added: a changed cell is updated where it is, a row is
added only for a new key and removed only when its key disappears. That keeps the
cursor, the scroll position and the row objects stable while the fleet changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.widgets import DataTable

Cells = Sequence[Text]


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

    def sync_rows(self, rows: Mapping[str, Cells]) -> None:
        for row_key in [key for key in self.rows if key.value not in rows]:
            self.remove_row(row_key)
        for key, cells in rows.items():
            if key not in self.rows:
                self.add_row(*cells, key=key)
                continue
            for (column_key, _label), cell in zip(self.COLUMNS, cells, strict=True):
                if not same_cell(self.get_cell(key, column_key), cell):
                    self.update_cell(key, column_key, cell, update_width=True)
