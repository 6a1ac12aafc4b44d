"""The engine's latest events, newest first (by time), each line coloured by its level.

Bounded: only the last `max_events` are kept. The lines are drawn in the same words as
`fleetdeck events` / the headless CLI (core.render.event_line), so the console and the
journal read alike. Colours are resolved from theme variables (`$level-info`, ...) and
redrawn when the theme changes.

The fleet screen's panel keeps every event; the detail screen's keeps only those an
`accept` predicate lets through (`of_deployment`), so both read alike. An event already
shown is not shown twice: the detail screen's panel takes the same events from the
journal and, live, from the app.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from fleetdeck.core.commands.render import event_line
from fleetdeck.core.fleet.events import Event
from fleetdeck.tui.widgets.status_light import light_style

LEVELS = ("info", "warning", "error")


def level_variable(level: str) -> str:
    return f"level-{level if level in LEVELS else 'info'}"


class EventsPanel(VerticalScroll, can_focus=False):
    def __init__(
        self,
        *,
        max_events: int = 200,
        accept: Callable[[Event], bool] | None = None,
        empty: str = "no events yet",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._events: deque[Event] = deque(maxlen=max_events)
        self._accept = accept
        self._empty = empty
        self._body: Static | None = None
        self.border_title = "Events"

    @property
    def events(self) -> tuple[Event, ...]:
        """Newest first."""
        return tuple(self._events)

    def compose(self) -> ComposeResult:
        self._body = Static(self.as_text(), id="events-body")
        yield self._body

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._redraw())

    @property
    def empty(self) -> str:
        """What the panel says while it has no event."""
        return self._empty

    @empty.setter
    def empty(self, text: str) -> None:
        self._empty = text
        self._redraw()

    def add(self, event: Event) -> None:
        """In time order: a replica's exit merged from its host's history comes late,
        dated when it happened. One equal to an event kept (same time, kind, subject,
        message and level) is the same event, seen twice: it is dropped."""
        if self._insert(event):
            self._redraw()

    def add_all(self, events: Iterable[Event]) -> None:
        """Events seen before this panel existed (another panel's, the journal's), in
        any order; drawn once."""
        kept = [self._insert(event) for event in events]
        if any(kept):
            self._redraw()

    def forget_after(self, at: float) -> None:
        """Drop the events dated after `at` (a replay sought back before them)."""
        if self._events and self._events[0].time > at:
            kept = [event for event in self._events if event.time <= at]
            self._events.clear()
            self._events.extend(kept)
            self._redraw()

    def _insert(self, event: Event) -> bool:
        """Keep `event` in its place; False if it is not kept (not accepted, seen, or
        older than every event of a full panel)."""
        if self._accept is not None and not self._accept(event):
            return False
        events = self._events
        index = 0
        while index < len(events) and events[index].time > event.time:
            index += 1
        seen = index
        while seen < len(events) and events[seen].time == event.time:
            if events[seen] == event:
                return False
            seen += 1
        if index == len(events) == events.maxlen:
            return False  # older than every event kept
        if len(events) == events.maxlen:
            events.pop()
        events.insert(index, event)
        return True

    def _redraw(self) -> None:
        if self._body is not None:
            self._body.update(self.as_text())

    def as_text(self) -> Text:
        """The lines as drawn: newest first, each styled by its level."""
        variables = self.app.theme_variables
        if not self._events:
            return Text(self._empty, style=light_style("level-info", variables))
        lines = [
            Text(event_line(event), style=light_style(level_variable(event.level), variables))
            for event in self._events
        ]
        return Text("\n").join(lines)
