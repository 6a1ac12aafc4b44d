"""One field of the deployment form: the key, where to type its value, its help and
default, and (when the inventory's models refuse the value) the error, right under it.

Five plain widgets a field (a line holding the key and the value, then the help and
the error): at 37 fields, a container per row and a drop-down per choice made the form
take seconds to open on a slow machine (each widget is styled and laid out). A choice
is typed, with the choices suggested as you type and listed in the help. Reading the
text as a value and judging it happen in core (core/inventory/form_fields.py).
"""

from __future__ import annotations

from textual.containers import Horizontal
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Static

from fleetdeck.core.inventory.form_fields import FieldKind, FormField

PLACEHOLDERS = {
    FieldKind.DURATION: "e.g. 30s, 5m, 1h30m",
    FieldKind.SECRET: "env:NAME or file:PATH",
    FieldKind.TOML: 'TOML, e.g. { zone = "eu" } or ["--flag"]',
}


def field_id(key: str) -> str:
    return "field-" + key.replace(".", "--")


class FieldInput(Input):
    """The value of one field, as text; "" leaves the key out (its default applies)."""

    def __init__(self, spec: FormField, value: str) -> None:
        placeholder = f"default {spec.default}" if spec.default else ""
        placeholder = placeholder or PLACEHOLDERS.get(spec.kind, "")
        suggester = SuggestFromList(spec.choices, case_sensitive=False) if spec.choices else None
        super().__init__(
            value,
            placeholder=placeholder,
            compact=True,
            select_on_focus=False,
            suggester=suggester,
            id=field_id(spec.key),
            classes="form-value",
        )
        self.spec = spec


def field_widgets(
    spec: FormField, value: str
) -> tuple[Horizontal, Label, FieldInput, Static, Static]:
    """The line with the key and the value, the help (with default and choices) and the
    error line; the key and value are returned too, as the screen keeps them."""
    notes = [spec.help]
    if spec.choices:
        notes.append("One of: " + ", ".join(spec.choices) + ".")
    if spec.default:
        notes.append(f"Default: {spec.default}.")
    error = Static("", classes="form-error", markup=False)
    error.display = False
    label = Label(spec.key + (" *" if spec.required else ""), classes="form-key")
    entry = FieldInput(spec, value)
    return (
        Horizontal(label, entry, classes="form-line"),
        label,
        entry,
        Static(" ".join(notes), classes="form-help", markup=False),
        error,
    )
