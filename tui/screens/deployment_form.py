"""The deployment form: a new deployment, an edit of one, or a clone, written into the
inventory file.

Thin on purpose: the fields, reading their text and judging the result come from core
(core/inventory/form_fields.py, core/inventory/editing.py), so the form accepts exactly
what the loader would. Every change is judged at once and each problem is shown under
its field. Saving shows the plan the edited inventory makes (the engine's own, printed
as `fleetdeck plan` prints it), asks once, then hands the new text to the app, which
runs the backend's `apply_inventory` (write the file, take it, `apply`).
Ctrl+T writes the form's deployment to a file as `fleetdeck export` does (TOML, or
JSON for a .json name); Ctrl+O reads one back in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Input, Label, Static

from fleetdeck.core.commands.render import plan_text
from fleetdeck.core.errors import FleetdeckError
from fleetdeck.core.intents.console_api import ConsoleBackend
from fleetdeck.core.inventory.editing import GENERAL, EditCheck, check_edit, read_exported
from fleetdeck.core.inventory.form_fields import (
    DEPLOYMENT_FIELDS,
    GROUPS,
    FormData,
    form_data,
    form_values,
)
from fleetdeck.core.inventory.toml_layout import export_toml
from fleetdeck.tui.error_notice import describe_error
from fleetdeck.tui.screens.confirm import ConfirmScreen
from fleetdeck.tui.screens.path_prompt import PathPrompt
from fleetdeck.tui.widgets.form_field import FieldInput, field_widgets
from fleetdeck.tui.widgets.key_hints import KeyHints

FormMode = Literal["new", "edit", "clone"]


@dataclass(frozen=True)
class InventoryEdit:
    """What the form hands back once the person said yes to the plan."""

    text: str
    based_on: str
    summary: str


@dataclass(frozen=True)
class FieldWidgets:
    """One field's widgets that change with what was typed."""

    label: Label
    value: FieldInput
    error: Static

    def show(self, messages: list[str]) -> None:
        self.error.update("\n".join(f"✗ {message}" for message in messages))
        self.error.display = bool(messages)
        self.label.set_class(bool(messages), "-invalid")
        self.value.set_class(bool(messages), "-invalid")


def shown_path(path: Path) -> str:
    """The inventory file as the person named it: relative to where they are, if under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class DeploymentFormScreen(Screen[InventoryEdit | None]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True,
                tooltip="check, show the plan, and (after a yes) write the inventory and apply"),
        Binding("ctrl+t", "export", "Export", priority=True,
                tooltip="write this deployment to a file, as `fleetdeck export` does"),
        Binding("ctrl+o", "import", "Import", priority=True,
                tooltip="fill the form from a file `fleetdeck export` wrote (TOML or JSON)"),
        Binding("escape", "back", "Back", tooltip="close the form; nothing is written"),
    ]  # fmt: skip

    def __init__(
        self,
        backend: ConsoleBackend,
        mode: FormMode,
        data: Mapping[str, object] | None = None,
        *,
        replacing: str | None = None,
    ) -> None:
        """`data`: the deployment to start from (its inventory entry as written);
        `replacing`: the name of the entry an edit changes (None: a new one is added)."""
        super().__init__()
        self._backend = backend
        self.mode = mode
        self.replacing = replacing if mode == "edit" else None
        self._initial = form_values(data or {})
        self._base_text = backend.inventory_text()
        self._path = backend.inventory_path
        self._fields: dict[str, FieldWidgets] = {}
        self.check: EditCheck | None = None
        self.read: FormData | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        titles = {
            "new": "New deployment",
            "edit": f"Edit {self.replacing}",
            "clone": f"Clone of {self._initial.get('name') or 'a deployment'}",
        }
        yield Label(f"{titles[self.mode]} · {shown_path(self._path)}", id="form-title")
        yield Static("", id="form-problems", markup=False)
        with VerticalScroll(id="form-body"):
            for group in GROUPS:
                yield Label(group, classes="form-group")
                with Container(classes="form-grid"):
                    for spec in DEPLOYMENT_FIELDS:
                        if spec.group == group:
                            line, label, value, help_text, error = field_widgets(
                                spec, self._initial.get(spec.key, "")
                            )
                            self._fields[spec.key] = FieldWidgets(label, value, error)
                            yield from (line, help_text, error)
        yield KeyHints()

    def on_mount(self) -> None:
        self.sub_title = "* required · Ctrl+S save · Esc back"
        self.query_one(FieldInput).focus()
        self.validate()

    # -- live validation --------------------------------------------------------------
    def field(self, key: str) -> FieldWidgets:
        return self._fields[key]

    def values(self) -> dict[str, str]:
        return {key: field.value.value for key, field in self._fields.items()}

    def fill(self, values: Mapping[str, str]) -> None:
        for key, field in self._fields.items():
            field.value.value = values.get(key, "")

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._validate_soon()

    _validation_pending = False

    def _validate_soon(self) -> None:
        """One check for a batch of changes: filling 37 fields (mount, import) posts a
        change each, and a check parses the whole inventory (~50 ms on a slow core)."""
        if not self._validation_pending:
            self._validation_pending = True
            self.call_after_refresh(self._validate_pending)

    def _validate_pending(self) -> None:
        self._validation_pending = False
        self.validate()

    def validate(self) -> EditCheck:
        """Judge the form as the loader would; every problem goes under its field."""
        read = form_data(self.values())
        check = check_edit(self._base_text, self._path, read.data, self.replacing)
        errors = {key: list(messages) for key, messages in check.errors.items()}
        for key, message in read.errors.items():
            errors[key] = [message]
        if read.errors:  # a value that could not be read was left out of the check
            check = EditCheck(check.text, None, errors)
        self.read, self.check = read, EditCheck(check.text, check.inventory, errors)
        for key, field in self._fields.items():
            field.show(errors.get(key, []))
        general = errors.get(GENERAL, [])
        problems = self.query_one("#form-problems", Static)
        problems.update("\n".join(f"✗ {message}" for message in general))
        problems.display = bool(general)
        return self.check

    # -- save: plan, one question, then the app applies --------------------------------
    def action_save(self) -> None:
        check = self.validate()
        if not check.ok or check.inventory is None:
            count = sum(len(m) for m in check.errors.values())
            self.notify(
                f"{count} problem{'s' if count != 1 else ''}: see the fields marked ✗."
                " Nothing was written.",
                title="Not saved",
                severity="error",
            )
            self._focus_first_problem()
            return
        try:
            plan = self._backend.plan_for(check.inventory)
        except FleetdeckError as exc:
            notice = describe_error(exc, doing="plan the change", fallback_step="")
            self.notify(notice.body, title=notice.title, severity="error", timeout=20)
            return
        name = str((self.read.data if self.read else {}).get("name", ""))
        shown = plan_text(check.inventory.fleet.name, plan)
        question = ConfirmScreen(
            f"Save {self._path.name} and apply this plan?", shown, long_detail=True
        )
        verb = {"new": "added", "edit": "changed", "clone": "added"}[self.mode]
        edit = InventoryEdit(check.text, self._base_text, f"{name} {verb} in {self._path.name}")

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(edit)

        self.app.push_screen(question, answered)

    def _focus_first_problem(self) -> None:
        for field in self._fields.values():
            if field.error.display:
                field.value.focus()
                return

    def action_back(self) -> None:
        self.dismiss(None)

    # -- export and import, in `fleetdeck export`'s formats ----------------------------
    def action_export(self) -> None:
        read = form_data(self.values())
        name = str(read.data.get("name") or "deployment")
        self.app.push_screen(
            PathPrompt("Export this deployment to (a .json name writes JSON):", f"{name}.toml"),
            self._exporter(read),
        )

    def _exporter(self, read: FormData) -> Callable[[str | None], None]:
        def export(path: str | None) -> None:
            if not path:
                return
            target = Path(path).expanduser()
            if target.suffix == ".json":
                text = json.dumps(read.data, indent=2) + "\n"
            else:
                text = export_toml(read.data, str(self._path))
            try:
                target.write_text(text, encoding="utf-8")
            except OSError as exc:
                self.notify(f"{target}: {exc.strerror or exc}", title="Not exported",
                            severity="error")  # fmt: skip
                return
            self.notify(f"wrote {target}", title="Exported", timeout=4)

        return export

    def action_import(self) -> None:
        self.app.push_screen(
            PathPrompt("Import a deployment from (TOML or JSON, as `export` writes):", ""),
            self._import,
        )

    def _import(self, path: str | None) -> None:
        if not path:
            return
        target = Path(path).expanduser()
        try:
            data = read_exported(target.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.notify(f"{target}: {exc}", title="Not imported", severity="error")
            return
        except FleetdeckError as exc:
            notice = describe_error(exc, doing=f"import {target}", fallback_step="")
            self.notify(notice.body, title=notice.title, severity="error")
            return
        if self.replacing is not None:
            data = {**data, "name": self.replacing}  # an edit keeps the entry's name
        self.fill(form_values(data))
        self.notify(f"read {target}; Ctrl+S saves it", title="Imported", timeout=4)
