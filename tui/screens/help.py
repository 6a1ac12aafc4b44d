"""The `?` overlay: the keys of the screen it was opened on and of the app, then the `:`
commands, all read from the bindings and the command table (nothing kept by hand).

A key that does nothing right now (nothing selected, a read-only console) is listed
dimmed. The list scrolls inside its box when the terminal is small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from fleetdeck.tui.commands import ConsoleCommand


@dataclass(frozen=True)
class KeyRow:
    keys: str
    what: str
    enabled: bool


def key_rows(screen: Screen[Any], app: App[Any]) -> list[KeyRow]:
    """One row per action of `screen` and the app, its keys together (`q ctrl+q`)."""
    keys: dict[str, list[str]] = {}
    what: dict[str, str] = {}
    enabled: dict[str, bool] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if active.node not in (screen, app) or not binding.description:
            continue
        action = binding.action
        what.setdefault(action, binding.tooltip or binding.description)
        key = app.get_key_display(binding)
        if key not in keys.setdefault(action, []):
            keys[action].append(key)
        enabled[action] = enabled.get(action, False) or active.enabled
    return [KeyRow(" ".join(keys[a]), what[a], enabled[a]) for a in keys]


def help_text(rows: Sequence[KeyRow], commands: Sequence[ConsoleCommand]) -> Text:
    usages = [f":{command.usage}" for command in commands] + [":NAME"]
    width = max([len(row.keys) for row in rows] + [len(usage) for usage in usages])
    text = Text()
    text.append("Keys\n", Style(bold=True, underline=True))
    for row in rows:
        style = Style() if row.enabled else Style(dim=True)
        text.append(f"{row.keys:>{width}}  ", Style(bold=True) + style)
        text.append(row.what + ("" if row.enabled else " (not now)") + "\n", style)
    text.append("\nCommands (:, Tab completes)\n", Style(bold=True, underline=True))
    helps = [command.help for command in commands] + ["open that deployment or host"]
    for usage, what in zip(usages, helps, strict=True):
        text.append(f"{usage:>{width}}  ", Style(bold=True))
        text.append(what + "\n")
    text.rstrip()
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, rows: Sequence[KeyRow], commands: Sequence[ConsoleCommand]) -> None:
        super().__init__()
        self._rows = rows
        self._commands = commands

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_text(self._rows, self._commands), id="help-keys")

    def on_mount(self) -> None:
        box = self.query_one("#help-box")
        box.border_title = "Keys and commands"
        box.border_subtitle = "Esc closes · ↑ ↓ scroll"
        box.focus()
