"""A DataTable whose rows are keyed by name and synced in place from a snapshot.

Rows are never cleared and re-added: a changed cell is updated where it is, a row is
added only for a new key and removed only when its key disappears. That keeps the
cursor, the scroll position and the row objects stable while the fleet changes. When
the order changes (a sort), the rows are reordered in place and the cursor follows the
row it was on, not the position.

A table never scrolls sideways if it can help it: when its columns are wider than the
table, those named in DROP_ORDER give way, the first first, until the rest fit (a column
with a narrower stand-in in STAND_INS is replaced by it instead); they come back when
there is room again (a wider terminal). The table keeps every row's cells, shown or not,
so a column that comes back is filled at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey

Cells = Sequence[Text]

RETURN_SLACK = 2
"""Cells to spare before a column that gave way comes back while the size is the same."""


def _width(value: object) -> int:
    return value.cell_len if isinstance(value, Text) else len(str(value))


class _Same:
    """A cache key part that is equal only to the very same object (and keeps it alive,
    so its id cannot be reused by another cell while the key is cached)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


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

    DROP_ORDER: ClassVar[Sequence[str]] = ()
    """Columns that may be left out when the table is too narrow for all, the first first.

    A column not named here is always shown."""

    STAND_INS: ClassVar[Mapping[str, str]] = {}
    """A column of DROP_ORDER -> a narrower one of COLUMNS shown in its place when it gives
    way (and never otherwise). The stand-in may itself be in DROP_ORDER, after it."""

    # Rendered cells by what decides their look (see _render_cell). Bounded: a stale
    # entry is never hit again and ages out; a few screens of cells fit.
    CELL_CACHE_SIZE: ClassVar[int] = 2048
    HEADER_CACHE_SIZE: ClassVar[int] = 256

    def __init__(self, *, id: str | None = None) -> None:
        # Before DataTable's __init__, which already clears its caches (and so ours).
        self._cells_drawn: LRUCache[tuple[object, ...], list[list[Segment]]] = LRUCache(
            self.CELL_CACHE_SIZE
        )
        super().__init__(id=id, cursor_type="row", show_cursor=False)
        # DataTable's own cell cache now only serves headers and row labels (body cells
        # are cached above); at its default 10,000 entries, filled with cells no frame
        # shows again, it held most of the console's memory growth in its first minutes.
        self._cell_render_cache = LRUCache(self.HEADER_CACHE_SIZE)
        self._labels = {key: Text(label) for key, label in self.COLUMNS}
        self._row_cells: dict[str, tuple[Text, ...]] = {}
        """Every row's cells, in COLUMNS order, those of a column left out too."""
        self._stands_for = {stand_in: key for key, stand_in in self.STAND_INS.items()}
        for key, label in self.COLUMNS:
            if key not in self._stands_for:
                self.add_column(label, key=key)

    # The cursor paints over the status colours of its row, so only the table the user
    # is working in shows one.
    def on_focus(self) -> None:
        self.show_cursor = True

    def on_blur(self) -> None:
        self.show_cursor = False

    def on_resize(self) -> None:
        self.fit_columns(steady=False)

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
            self._row_cells.pop(str(row_key.value), None)
        shown = self.shown_columns()
        at = {key: index for index, (key, _label) in enumerate(self.COLUMNS)}
        for key, cells in rows.items():
            assert len(cells) == len(self.COLUMNS), f"{key}: one cell per column"
            self._row_cells[key] = tuple(cells)
            if key not in self.rows:
                self.add_row(*(cells[at[column]] for column in shown), key=key)
                continue
            for column in shown:
                cell = cells[at[column]]
                if not same_cell(self.get_cell(key, column), cell):
                    self.update_cell(key, column, cell, update_width=True)
        self._order_rows(list(rows))
        if under_cursor is not None and under_cursor in rows and self.cursor_key() != under_cursor:
            self.move_cursor(row=self.get_row_index(under_cursor), scroll=False)
        self.fit_columns()

    def shown_columns(self) -> list[str]:
        """The keys of the columns on screen, in display order."""
        return [str(column.key.value) for column in self.ordered_columns]

    def fit_columns(self, *, steady: bool = True) -> None:
        """Leave out columns of DROP_ORDER, the first first, until the rest fit the width.

        `steady` (the data changed, not the size): a column left out comes back only with
        RETURN_SLACK cells to spare, so that a figure growing and shrinking by a digit
        does not make a column blink in and out with each snapshot.
        """
        room = self._room() if self.is_mounted else 0
        if room <= 0:  # not laid out yet: a resize will come
            return
        widths = self._column_widths()
        shown = set(self.shown_columns())
        kept = [key for key, _label in self.COLUMNS if key not in self._stands_for]
        total = sum(widths[key] for key in kept)
        for key in self.DROP_ORDER:
            # A stand-in taking its column's place is no column coming back.
            returning = steady and any(
                k not in shown and self._stands_for.get(k, k) not in shown for k in kept
            )
            if total <= room - (RETURN_SLACK if returning else 0):
                break
            at = kept.index(key)
            total -= widths[key]
            if key in self.STAND_INS:
                kept[at] = self.STAND_INS[key]
                total += widths[kept[at]]
            else:
                del kept[at]
        self._show_only(kept)

    def _room(self) -> int:
        """The width the columns may take: inside the border, less a vertical scrollbar."""
        width, height = self.content_size
        rows_height = self.row_count + (self.header_height if self.show_header else 0)
        if self.show_vertical_scrollbar or rows_height > height:
            width -= self.styles.scrollbar_size_vertical
        return width

    def _column_widths(self) -> dict[str, int]:
        """Each column's width on screen (padding included), whether shown or not."""
        padding = 2 * self.cell_padding
        widths = {key: self._labels[key].cell_len for key, _label in self.COLUMNS}
        for cells in self._row_cells.values():
            for (key, _label), cell in zip(self.COLUMNS, cells, strict=True):
                widths[key] = max(widths[key], _width(cell))
        return {key: width + padding for key, width in widths.items()}

    def _show_only(self, kept: list[str]) -> None:
        shown = self.shown_columns()
        if shown == kept:
            return
        # DataTable only appends columns: keep what already sits in order, and redo the rest.
        same = 0
        while same < min(len(shown), len(kept)) and shown[same] == kept[same]:
            same += 1
        for key in shown[same:]:
            self.remove_column(key)
        at = {key: index for index, (key, _label) in enumerate(self.COLUMNS)}
        for key in kept[same:]:
            self.add_column(self._labels[key], key=key)
            for row_key, cells in self._row_cells.items():
                self.update_cell(row_key, key, cells[at[key]], update_width=True)

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
        if self._labels[column_key].plain == label:
            return
        self._labels[column_key] = Text(label)
        # A header changes on the user's word (a sort), not with the data: no slack.
        if column_key not in self.shown_columns():
            self.fit_columns(steady=False)
            return
        column = self.columns[ColumnKey(column_key)]
        column.label = Text(label)
        # Re-measuring a cell of the column makes DataTable re-measure the header too.
        if self.row_count:
            first = self.ordered_rows[0].key
            self.update_cell(first, column_key, self.get_cell(first, column_key), update_width=True)
        else:
            self.refresh()
        self.fit_columns(steady=False)

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """Draw a cell again only when its value, place, width or look changed.

        DataTable keys its cell cache on a counter bumped by every update of any cell,
        so one new snapshot re-draws every visible cell of the table, changed or not:
        most of the console's CPU while it watches a fleet (benchmarks/console_soak.py).
        Here the key is the cell's value object itself (a sync replaces exactly the
        objects of the cells that changed), its position and width, and every input of
        the cell's style. Headers and row labels keep DataTable's own cache. Overrides a
        private hook of DataTable (textual 8.x, pinned <9); tests/tui/test_keyed_table.py
        checks that a changed cell, a moved row and a theme change are drawn anew.
        """
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        value = self.get_cell_at(Coordinate(row_index, column_index))
        key = (
            _Same(value),
            row_index,
            column_index,
            width,
            base_style,
            cursor,
            hover,
            self.show_cursor,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        lines = self._cells_drawn.get(key)
        if lines is None:
            lines = self._draw_one_line(
                value, row_index, column_index, base_style, width, cursor, hover
            )
            if lines is None:
                lines = super()._render_cell(
                    row_index, column_index, base_style, width, cursor, hover
                )
            self._cells_drawn[key] = lines
        return lines

    def _draw_one_line(
        self,
        value: object,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> list[list[Segment]] | None:
        """A one-line Text cell drawn as DataTable draws it, about 4x faster; None for any
        other cell (DataTable draws those).

        DataTable draws a cell through Rich's general machinery (Styled, Padding,
        render_lines: about 56 us a cell here) because a cell may be any renderable of
        any height. Ours are one-line Text in rows of height 1, so this wraps the Text to
        its width once (Text.wrap, no wrapping: justify, truncate) and pads and styles
        the line the way Padding and Styled would (about 12 us). Opening the hosts screen
        at 40 hosts draws ~500 cells at once. tests/tui/test_keyed_table.py checks the
        result against DataTable's own for every cell of every table on the console's
        screens, with and without the cursor.
        """
        if not isinstance(value, Text) or "\n" in value.plain or "\t" in value.plain:
            return None
        if self.fixed_rows or self.fixed_columns or value.justify in ("center", "full"):
            return None
        console = self.app.console
        pad = self.cell_padding
        inner = max(0, width - 2 * pad)
        lines = value.wrap(
            console,
            inner,
            justify=value.justify or "default",
            overflow=value.overflow or "fold",
            no_wrap=True,
        )
        if len(lines) != 1:
            return None
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index})
        plain = Style.null()
        # Joined as Text.__rich_console__ does: that turns the line's own style into a
        # span, which Text.render (spans only) then draws.
        body = Segment.adjust_line_length(
            list(Text("\n").join(lines).render(console, end="")), inner, style=plain, pad=True
        )
        edge = [Segment(" " * pad, plain)] if pad else []
        line = Segment.apply_style(
            [*edge, *body, *edge], style=pre_style + component_style, post_style=post_style
        )
        return [list(line)]

    def notify_style_update(self) -> None:
        # A theme or CSS change alters how every cell looks: draw them all anew.
        self._cells_drawn.clear()
        super().notify_style_update()

    def _clear_caches(self) -> None:
        self._cells_drawn.clear()
        super()._clear_caches()
