"""One line of text asked in front of everything else: a file name, or a host's name
typed to confirm. Enter answers with the text; Escape with None."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class PathPrompt(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str = "", detail: str = "") -> None:
        super().__init__()
        self._question = question
        self._value = value
        self._detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Label(self._question, id="prompt-question")
            if self._detail:
                yield Label(self._detail, id="prompt-detail")
            yield Input(self._value, id="prompt-input")
            yield Label("Enter answer · Esc cancel", id="prompt-keys")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
