"""The `?` overlay: every key the console answers to, where it works, and what it does."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str], ...] = (
    ("↑ ↓", "move between deployments (main) or replicas (details)"),
    ("Enter", "open a deployment's details; on a replica: follow its log again"),
    ("Esc", "back to the fleet (details, hosts), close this help"),
    ("+ / -", "scale the selected deployment up / down by one replica (never below 0)"),
    ("s", "start the selected deployment (back to its inventory replica count)"),
    ("x", "stop the selected deployment (asks first)"),
    ("r", "rolling restart of the selected deployment (asks first)"),
    ("c", "copy the test command (details)"),
    ("l", "logs: all replicas (main) or the replica under the cursor (details)"),
    ("f / End", "logs: follow again (k, PageUp, the wheel: pause)"),
    ("/ n N", "logs: search, next / previous match; Esc clears"),
    ("&", "logs: only lines matching the search (toggle)"),
    ("H w L [ ]", "logs: health/metrics probes, wrap, one/all replicas, other replica"),
    ("s", "logs: save the lines shown to ./fleetdeck-logs-….log"),
    ("e", "show / hide the events panel (main)"),
    ("h", "hosts: GPUs, CPU, memory, lease of each (main); Enter opens one host"),
    ("t", "light / dark theme"),
    ("Tab", "next panel"),
    ("?", "this help"),
    ("q", "quit fleetdeck, from any screen (stops following logs; replicas keep running)"),
)
"""The single list of keys shown here; the footer shows the same bindings in short."""


def help_text() -> Text:
    width = max(len(keys) for keys, _ in KEYS)
    text = Text()
    for index, (keys, what) in enumerate(KEYS):
        if index:
            text.append("\n")
        text.append(f"{keys:>{width}}  ", Style(bold=True))
        text.append(what)
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(help_text(), id="help-keys")

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "Keys"
