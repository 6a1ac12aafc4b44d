"""The bottom line of every screen: the keys that work here, from the screen's bindings.

Why not Textual's Footer: it is a container of one widget per key and recomposes
(removes and mounts them all) each time the screen's bindings change, which happens
two or three times as a screen opens (mounted, focused, checked). Each recompose is a
layout and a frame of its own, so opening a screen took 6-9 frames to settle
(benchmarks/console_frame.py). This is one widget that draws one line of text: a
bindings change is a repaint in the frame already coming.

What it shows, in the screen's binding order (the focused widget's keys first, then the
screen's, then the app's), one entry an action: a key shown (`Binding.show`) and
enabled is drawn bright, one disabled (read-only, or nothing selected) dim. When the
line is too narrow for all of them, the later ones give way, except the keys that lead
to everything else: help (`?`) and the command palette (`^p`, at the right end), which
always stay. A click on an entry presses its key.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

# Actions whose key stays on the line however narrow it gets (besides the palette):
# help and the command line lead to every other key and command; a replay's play/pause.
KEPT_ACTIONS = frozenset({"help", "quit", "command_line", "play_pause"})


@dataclass(frozen=True)
class KeyHint:
    key: str
    """The key as `App.simulate_key` takes it ("question_mark")."""
    shown: str
    """The key as drawn ("?")."""
    description: str
    enabled: bool
    kept: bool = False

    @property
    def width(self) -> int:
        return len(self.shown) + len(self.description) + 3  # " k " + "description "


def key_hints(
    screen: Screen[object], palette_key: str | None
) -> tuple[list[KeyHint], KeyHint | None]:
    """The entries for `screen`, and the palette's (drawn at the right end) if it has one."""
    app = screen.app
    entries: list[KeyHint] = []
    actions: set[str] = set()
    palette: KeyHint | None = None
    for key, active in screen.active_bindings.items():
        binding: Binding = active.binding
        if key == palette_key:
            palette = KeyHint(binding.key, app.get_key_display(binding), binding.description,
                              active.enabled, kept=True)  # fmt: skip
            continue
        if not binding.show or binding.action in actions:
            continue
        actions.add(binding.action)
        entries.append(
            KeyHint(
                binding.key,
                app.get_key_display(binding),
                binding.description,
                active.enabled,
                kept=binding.action in KEPT_ACTIONS,
            )
        )
    return entries, palette


def fit(entries: list[KeyHint], width: int) -> list[KeyHint]:
    """The entries that fit in `width` cells: the kept ones first, then the others in
    order while they fit; drawn in their original order."""
    room = width - sum(entry.width for entry in entries if entry.kept)
    chosen = {id(entry) for entry in entries if entry.kept}
    for entry in entries:
        if entry.kept:
            continue
        if entry.width > room:
            break
        room -= entry.width
        chosen.add(id(entry))
    return [entry for entry in entries if id(entry) in chosen]


class KeyHints(Widget):
    DEFAULT_CSS = """
    KeyHints {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyHints > .key-hints--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyHints > .key-hints--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KeyHints > .key-hints--disabled {
        text-style: dim;
    }
    """
    COMPONENT_CLASSES = {"key-hints--key", "key-hints--description", "key-hints--disabled"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._drawn: tuple[tuple[KeyHint, ...], KeyHint | None, int] | None = None
        """What render() drew last: the entries, the palette's and the width."""
        self._clickable: list[tuple[int, int, str]] = []
        """(first cell, cell after the last, key) of each entry as last drawn."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def _bindings_changed(self, _screen: Screen[object]) -> None:
        # The bindings are "updated" several times as a screen opens, mostly to the same
        # keys: repaint only when the line would read differently.
        entries, palette = self.hints()
        if (tuple(entries), palette, self.size.width) != self._drawn:
            self.refresh()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def hints(self) -> tuple[list[KeyHint], KeyHint | None]:
        """What the line shows now, left to right, and the palette's key at the right end."""
        app = self.app
        palette_key = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
        entries, palette = key_hints(self.screen, palette_key)
        return fit(entries, self.size.width - (palette.width if palette else 0)), palette

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-hints--key", partial=True)
        text_style = self.get_component_rich_style("key-hints--description", partial=True)
        dim = self.get_component_rich_style("key-hints--disabled", partial=True)
        line = Text(no_wrap=True, overflow="crop", end="")
        self._clickable = []
        entries, palette = self.hints()
        self._drawn = (tuple(entries), palette, self.size.width)
        for hint in [*entries, *([palette] if palette else [])]:
            if hint is palette:
                # At the right end, where Textual's footer puts it too.
                line.append(" " * max(0, self.size.width - line.cell_len - hint.width))
            start = line.cell_len
            extra = Style.null() if hint.enabled else dim
            line.append(f" {hint.shown} ", key_style + extra)
            line.append(f"{hint.description} ", text_style + extra)
            self._clickable.append((start, line.cell_len, hint.key))
        return line

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        for start, end, key in self._clickable:
            if start <= offset.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
