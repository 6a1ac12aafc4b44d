"""One row of the deployment form: the key, where to type its value, its help and default,
and (when the inventory's models refuse the value) the error, right under it.

The row knows only its `FormField` (core/inventory/form_fields.py); reading the text as
a value and judging it happen in core, on the screen's behalf.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

from fleetdeck.core.inventory.form_fields import FieldKind, FormField

PLACEHOLDERS = {
    FieldKind.DURATION: "e.g. 30s, 5m, 1h30m",
    FieldKind.SECRET: "env:NAME or file:PATH",
    FieldKind.TOML: 'TOML, e.g. { zone = "eu" } or ["--flag"]',
}


class FormFieldRow(Vertical):
    def __init__(self, spec: FormField, value: str) -> None:
        super().__init__(classes="form-row", id=f"field-{spec.key.replace('.', '--')}")
        self.spec = spec
        self._value = value

    def compose(self) -> ComposeResult:
        spec = self.spec
        label = spec.key + (" *" if spec.required else "")
        with Horizontal(classes="form-line"):
            yield Label(label, classes="form-key")
            if spec.kind is FieldKind.CHOICE:
                unset = f"default ({spec.default})" if spec.default else "unset"
                yield Select(
                    [(choice, choice) for choice in spec.choices],
                    prompt=unset,
                    value=self._value if self._value in spec.choices else Select.NULL,
                    compact=True,
                    classes="form-value",
                )
            else:
                placeholder = spec.default or PLACEHOLDERS.get(spec.kind, "")
                if spec.default:
                    placeholder = f"default {spec.default}"
                yield Input(
                    self._value,
                    placeholder=placeholder,
                    compact=True,
                    select_on_focus=False,
                    classes="form-value",
                )
        default = f" Default: {spec.default}." if spec.default else ""
        yield Static(spec.help + default, classes="form-help", markup=False)
        error = Static("", classes="form-error", markup=False)
        error.display = False
        yield error

    @property
    def text(self) -> str:
        """What the row holds now, as text ("" for unset)."""
        if self.spec.kind is FieldKind.CHOICE:
            value = self.query_one(Select).value
            return "" if value is Select.NULL else str(value)
        return self.query_one(Input).value

    @text.setter
    def text(self, value: str) -> None:
        if self.spec.kind is FieldKind.CHOICE:
            select: Select[str] = self.query_one(Select)
            select.value = value if value in self.spec.choices else Select.NULL
        else:
            self.query_one(Input).value = value

    def show_errors(self, messages: list[str]) -> None:
        error = self.query_one(".form-error", Static)
        error.update("\n".join(f"✗ {message}" for message in messages))
        error.display = bool(messages)
        self.set_class(bool(messages), "-invalid")
