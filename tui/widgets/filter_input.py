"""The fleet screen's filter line: `/` opens it, typing filters live, Enter keeps the
filter, Escape clears it. It only reports what the user did; the app applies it."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    class FilterEdited(Message):
        """The filter text changed (every keystroke: the table follows live)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class FilterKept(Message):
        """Enter: the filter stays, the user is done typing."""

    class FilterCleared(Message):
        """Escape: the filter is gone."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter: name, model, host or status", id=id)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.FilterEdited(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.FilterKept())

    def action_clear_filter(self) -> None:
        # Changed fires for the cleared value too, so the table is shown whole again.
        self.value = ""
        self.post_message(self.FilterCleared())
