"""A yes/no question in front of everything else; dismissed with True only on `y`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label


class ConfirmScreen(ModalScreen[bool]):
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str, detail: str = "", *, long_detail: bool = False) -> None:
        """`long_detail`: the detail (a plan) may be taller than the screen, so it
        scrolls in a box of its own and the question and the keys stay in sight."""
        super().__init__()
        self._question = question
        self._detail = detail
        self._long_detail = long_detail

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Label(self._question, id="confirm-question")
            if self._detail and self._long_detail:
                with VerticalScroll(id="confirm-scroll"):
                    yield Label(self._detail, id="confirm-detail", markup=False)
            elif self._detail:
                yield Label(self._detail, id="confirm-detail")
            yield Label("y yes · n / Esc no", id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
