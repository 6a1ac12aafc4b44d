"""A deployment's inventory entry, as the TOML that would paste back into an inventory.

The detail screen fetches the entry through the backend's `export` (what the user wrote,
secrets as `{ env = "NAME" }` / `{ file = "PATH" }` references, never their values) each
time the panel is opened, so an inventory reloaded since shows as it is now. The TOML
layout is `fleetdeck export`'s own (core/inventory/toml_layout.py), so the console and
the CLI agree on what an entry looks like.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from fleetdeck.core.inventory.toml_layout import export_toml


def inventory_lines(data: dict[str, Any]) -> list[str]:
    """The entry as TOML lines, without `export`'s "exported from" comment."""
    text = export_toml(data, source="the inventory")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


class InventoryPanel(VerticalScroll, can_focus=False):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Inventory"
        self.lines: list[str] = []
        """What the panel shows, as plain lines (tests read them)."""

    def compose(self) -> ComposeResult:
        yield Static(id="inventory-body")

    def show_entry(self, data: dict[str, Any]) -> None:
        self.lines = inventory_lines(data)
        self.border_subtitle = "as `fleetdeck export` writes it · secrets are references"
        self._draw()

    def show_problem(self, problem: str) -> None:
        """Why the entry could not be had (the deployment left the inventory, ...)."""
        self.lines = [problem]
        self.border_subtitle = ""
        self._draw()

    def _draw(self) -> None:
        self.query_one("#inventory-body", Static).update(Text("\n".join(self.lines)))
        self.scroll_home(animate=False)
