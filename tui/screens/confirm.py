"""A yes/no question in front of everything else; dismissed with True only on `y`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self._question = question
        self._detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Label(self._question, id="confirm-question")
            if self._detail:
                yield Label(self._detail, id="confirm-detail")
            yield Label("y yes · n / Esc no", id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
