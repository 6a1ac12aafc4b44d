"""The `:` command line, k9s style: an input at the top with fuzzy completions under it.

Tab (or a click) takes the highlighted completion, ↑ ↓ move through them, Enter runs
the line once it parses, Esc closes. The screen only reads and checks the line: it is
dismissed with what was asked (an `Invocation` or a `Jump`) and the app runs it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from fleetdeck.tui.commands import (
    Completion,
    ConsoleCommand,
    Invocation,
    Jump,
    Names,
    ParseError,
    complete,
    parse,
)


class CommandScreen(ModalScreen[Invocation | Jump | None]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        # Priority, or the screen's Tab (focus next) would take it from the input.
        Binding("tab", "take_completion", "Complete", priority=True),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(
        self,
        commands: Sequence[ConsoleCommand],
        names: Names,
        *,
        line: str = "",
        unavailable: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._commands = commands
        self._names = names
        self._line = line
        self._unavailable = dict(unavailable or {})
        self._completions: list[Completion] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="command-box"):
            with Horizontal(id="command-row"):
                yield Label(":", id="command-prompt")
                yield Input(
                    self._line,
                    placeholder="scale NAME N · stop NAME · NAME · help",
                    id="command-input",
                )
            yield OptionList(id="command-completions")
            yield Label("", id="command-error")

    def on_mount(self) -> None:
        self.query_one("#command-box").border_title = "command"
        self.query_one(Input).focus()
        self._show_completions(self._line)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#command-error", Label).update("")
        self._show_completions(event.value)

    def _show_completions(self, line: str) -> None:
        self._completions = complete(line, self._commands, self._names)
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(
            Option(Text.assemble((f"{c.label:<16}", "bold"), " ", (c.help, "dim")))
            for c in self._completions
        )
        options.display = bool(self._completions)
        if self._completions:
            options.highlighted = 0

    def action_take_completion(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is not None and index < len(self._completions):
            self._fill(self._completions[index].line)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if self._completions:
            current = options.highlighted or 0
            options.highlighted = (current + step) % len(self._completions)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._fill(self._completions[event.option_index].line)

    def _fill(self, line: str) -> None:
        field = self.query_one(Input)
        field.value = line
        field.cursor_position = len(line)
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        parsed = parse(event.value, self._commands, self._names, self._unavailable)
        if isinstance(parsed, ParseError):
            self.query_one("#command-error", Label).update(parsed.message)
            return
        self.dismiss(parsed)

    def action_close(self) -> None:
        self.dismiss(None)
