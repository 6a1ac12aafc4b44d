"""The logs screen's scrolling view: the shown lines, drawn lazily, with follow and search.

A line-API widget: only the rows on screen are rendered, each line once per theme or
search (an LRU of strips), so ten thousand lines cost their text and a list of row
offsets, and toggling a filter or the wrap is a recount, not a re-render. Wrapping cuts
rows by cells, as `less` does, so a line's row count is arithmetic.

Following is explicit state, shown in the border subtitle: any scroll up by the user
pauses it (keys, wheel, scrollbar), End or `f` resumes it. While paused, new lines are
added below the reader, counted, and the view does not move.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from fleetdeck.tui.log_model import (
    LogBuffer,
    LogLine,
    ViewOptions,
    find_match,
    match_spans,
    short_name,
    status_line,
)
from fleetdeck.tui.widgets.status_light import light_style

_SEPARATOR = " │ "


class LogView(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("k", "scroll_up", "Up", show=False),
        Binding("j", "scroll_down", "Down", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]

    def __init__(self, buffer: LogBuffer, deployment: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._buffer = buffer
        self._deployment = deployment
        self._lines: list[LogLine] = []
        self._cells: list[int] = []
        """Each shown line's width in cells, without the prefix."""
        self._starts: list[int] = []
        """The first row of each shown line; with wrap a line takes several rows."""
        self._rows = 0
        self._widest = 0
        self._matches: list[int] = []
        """Indexes in `_lines` of the lines that contain the search."""
        self._strips: LRUCache[int, Strip] = LRUCache(2048)
        self._adjusting = False
        self.options = ViewOptions()
        self.wrap = False
        self.search = ""
        self.current: int | None = None
        """Index in `_lines` of the match the last n/N went to."""
        self.paused = False
        self.new_lines = 0
        """Lines added since following was paused."""
        self.prefix_width = 0
        """Width of the replica names; 0 draws no prefix (one replica shown)."""

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())
        self._update_subtitle()

    # -- what is shown ---------------------------------------------------------------
    @property
    def lines(self) -> Sequence[LogLine]:
        return self._lines

    def show(self, lines: list[LogLine], options: ViewOptions, prefix_width: int) -> None:
        """Replace the shown lines (a toggle changed the view); a paused reader stays on
        the line that was at the top, or the next one still shown."""
        top = self._line_at(round(self.scroll_y)) if self._lines else None
        self._lines = lines
        self.options = options
        self.prefix_width = prefix_width
        self._cells = [cell_len(line.text) for line in lines]
        self._widest = max(self._cells, default=0)
        self._matches = [i for i, line in enumerate(lines) if self._is_match(line)]
        self.current = None
        self._strips.clear()
        self._recount()
        if self.paused and top is not None:
            seqs = [line.seq for line in lines]
            index = min(bisect_right(seqs, top.seq - 1), len(lines) - 1)
            self._scroll_quietly(self._starts[index] if lines else 0)
        self._settle()

    def append(self, lines: Sequence[LogLine]) -> None:
        """Add new lines (already filtered by the screen) at the end; keep the bound."""
        if not lines:
            return
        first = len(self._lines)
        self._lines.extend(lines)
        for offset, line in enumerate(lines, start=first):
            cells = cell_len(line.text)
            self._cells.append(cells)
            self._widest = max(self._widest, cells)
            self._starts.append(self._rows)
            self._rows += self._row_count(cells)
            if self._is_match(line):
                self._matches.append(offset)
        if self.paused:
            self.new_lines += len(lines)
        self._trim()
        self._settle()

    def _trim(self) -> None:
        # Dropped in chunks of a tenth, so that a full view costs one list copy per
        # thousand lines rather than one per line.
        limit = self._buffer.max_lines
        if len(self._lines) <= limit + limit // 10:
            return
        dropped = len(self._lines) - limit
        rows_dropped = self._starts[dropped]
        for index in range(dropped):
            self._strips.discard(self._lines[index].seq)
        del self._lines[:dropped], self._cells[:dropped]
        self._matches = [i - dropped for i in self._matches if i >= dropped]
        if self.current is not None:
            self.current = self.current - dropped if self.current >= dropped else None
        self._recount()
        if self.paused:  # what the reader looks at moves up by what went above it
            self._scroll_quietly(max(0, self.scroll_y - rows_dropped))

    # -- follow ----------------------------------------------------------------------
    def pause(self) -> None:
        if not self.paused:
            self.paused = True
            self.new_lines = 0
            self._update_subtitle()

    def resume(self) -> None:
        self.paused = False
        self.new_lines = 0
        self._settle()

    def _settle(self) -> None:
        """After any change: size, position (the end while following), subtitle."""
        width = self.scrollable_content_region.width if self.wrap else self._full_width()
        self.virtual_size = Size(width, self._rows)
        if not self.paused:
            self._scroll_quietly(self.max_scroll_y)
        self._update_subtitle()
        self.refresh()

    def _scroll_quietly(self, y: float) -> None:
        self._adjusting = True
        try:
            # Forced: right after the virtual size grows, the scrollbar is not laid out
            # yet and an unforced scroll would be refused.
            self.scroll_to(y=y, animate=False, immediate=True, force=True)
        finally:
            self._adjusting = False

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Any way the reader moves up (the scrollbar too) pauses; a resize that shortens
        # the view clamps to its end, which is not the reader's doing.
        if not self._adjusting and new_value < old_value and new_value < self.max_scroll_y:
            self.pause()

    def _pause_if_scrollable(self) -> None:
        if self.max_scroll_y > 0:
            self.pause()

    def action_scroll_up(self) -> None:
        self._pause_if_scrollable()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._pause_if_scrollable()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._pause_if_scrollable()
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        self.resume()

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._pause_if_scrollable()
        super()._on_mouse_scroll_up(event)

    # -- wrap and search ---------------------------------------------------------------
    def set_wrap(self, wrap: bool) -> None:
        top = self._line_at(round(self.scroll_y)) if self._lines else None
        self.wrap = wrap
        self._recount()
        if self.paused and top is not None:
            self._scroll_quietly(self._starts[self._lines.index(top)])
        self._settle()

    def set_search(self, query: str) -> None:
        self.search = query
        self.current = None
        self._matches = [i for i, line in enumerate(self._lines) if self._is_match(line)]
        self._strips.clear()
        self._settle()

    def jump(self, *, forward: bool | None) -> bool:
        """Go to the next (forward), previous, or (None) the newest match at or above
        the bottom of the view; pauses following. False when nothing matches."""
        if not self.search:
            return False
        if forward is None or self.current is None:
            bottom = self._line_at(round(self.scroll_y) + self.scrollable_content_region.height)
            start = self._lines.index(bottom) + 1 if bottom is not None else len(self._lines)
            index = find_match(self._lines, self.search, start, forward=bool(forward))
        else:
            index = find_match(self._lines, self.search, self.current, forward=forward)
        if index is None:
            self._update_subtitle()
            return False
        self.pause()
        self.current = index
        self._strips.clear()  # the current match is drawn apart from the others
        middle = self._starts[index] - self.scrollable_content_region.height // 2
        self._scroll_quietly(max(0, min(middle, self.max_scroll_y)))
        self._update_subtitle()
        self.refresh()
        return True

    def _is_match(self, line: LogLine) -> bool:
        return bool(self.search) and bool(match_spans(line.text, self.search))

    # -- geometry ----------------------------------------------------------------------
    def _prefix_cells(self) -> int:
        return self.prefix_width + len(_SEPARATOR) if self.prefix_width else 0

    def _full_width(self) -> int:
        return self._prefix_cells() + self._widest

    def _row_count(self, cells: int) -> int:
        if not self.wrap:
            return 1
        width = max(1, self.scrollable_content_region.width)
        return max(1, -(-(self._prefix_cells() + cells) // width))

    def _recount(self) -> None:
        self._starts = []
        rows = 0
        for cells in self._cells:
            self._starts.append(rows)
            rows += self._row_count(cells)
        self._rows = rows

    def _line_at(self, row: int) -> LogLine | None:
        if not self._lines:
            return None
        index = max(0, bisect_right(self._starts, row) - 1)
        return self._lines[index]

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap:
            self._recount()
        self._settle()

    # -- drawing -----------------------------------------------------------------------
    def _restyle(self) -> None:
        self._strips.clear()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = round(self.scroll_y) + y
        if row >= self._rows or not self._lines:
            return Strip.blank(width, self.rich_style)
        index = bisect_right(self._starts, row) - 1
        strip = self._strip(index)
        start = (row - self._starts[index]) * width if self.wrap else round(self.scroll_x)
        return strip.crop_extend(start, start + width, self.rich_style).apply_style(self.rich_style)

    def _strip(self, index: int) -> Strip:
        line = self._lines[index]
        strip = self._strips.get(line.seq)
        if strip is None:
            text = self._text(line, current=index == self.current)
            strip = Strip(list(text.render(self.app.console)), text.cell_len)
            self._strips[line.seq] = strip
        return strip

    def _text(self, line: LogLine, *, current: bool) -> Text:
        variables = self.app.theme_variables
        text = Text(end="", no_wrap=True)
        if self.prefix_width:
            name = short_name(line.replica, self._deployment)
            colour = f"log-replica-{self._buffer.slot(line.replica)}"
            text.append(f"{name:<{self.prefix_width}}{_SEPARATOR}", light_style(colour, variables))
        body = len(text)
        notice = light_style("log-notice", variables) + Style(italic=True)
        text.append(line.text, notice if line.notice else Style.null())
        if self.search:
            match = Style(
                color=light_style("log-match-text", variables).color,
                bgcolor=light_style("log-match", variables).color,
                bold=current,
                underline=current,
            )
            for start, end in match_spans(line.text, self.search):
                text.stylize(match, body + start, body + end)
        return text

    def _update_subtitle(self) -> None:
        match = None
        if self._matches and self.current is not None and self.current in self._matches:
            match = (self._matches.index(self.current) + 1, len(self._matches))
        elif self._matches:
            match = (0, len(self._matches))
        self.border_subtitle = status_line(
            paused=self.paused,
            new=self.new_lines,
            options=self.options,
            wrap=self.wrap,
            search=self.search,
            match=match,
        )
