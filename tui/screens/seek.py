"""The replay's `@`: a time to go to, as seconds (90) or h:mm:ss (0:01:30)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


def parse_time(text: str) -> float | None:
    """Seconds from "90", "1:30" or "0:01:30"; None when it is none of those."""
    parts = text.strip().split(":")
    if not parts or len(parts) > 3:
        return None
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        return None
    if any(n < 0 for n in numbers):
        return None
    seconds = 0.0
    for n in numbers:
        seconds = seconds * 60 + n
    return seconds


class SeekScreen(ModalScreen[float | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, duration_text: str) -> None:
        super().__init__()
        self._duration_text = duration_text

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Label(f"Go to (recording lasts {self._duration_text})", id="confirm-question")
            yield Input(placeholder="seconds, or h:mm:ss", id="seek-input")
            yield Label("Enter go · Esc cancel", id="confirm-keys")

    def on_input_submitted(self, message: Input.Submitted) -> None:
        seconds = parse_time(message.value)
        if seconds is None:
            self.notify(f"{message.value!r} is not a time: try 90 or 0:01:30",
                        title="Go to", severity="warning")  # fmt: skip
            return
        self.dismiss(seconds)

    def action_cancel(self) -> None:
        self.dismiss(None)
