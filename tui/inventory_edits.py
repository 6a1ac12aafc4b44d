"""Changing the inventory from the console: new, edit and clone open the deployment form
(tui/screens/deployment_form.py); what it hands back after the person's yes is applied
by the backend's `apply_inventory` (write the file, take it, then the CLI's `apply`),
as an action worker, so a failure is told like any other action's.

FleetdeckApp derives from this class; the keys act on the selected deployment and the
`:` commands name theirs (`:edit llama8b`). A read-only console refuses them all.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from fleetdeck.core.errors import FleetdeckError
from fleetdeck.core.inventory.editing import deployment_data
from fleetdeck.tui.deployment_actions import DeploymentActions
from fleetdeck.tui.error_notice import describe_error
from fleetdeck.tui.screens.deployment_form import DeploymentFormScreen, FormMode, InventoryEdit

FORM_ACTIONS = frozenset({"edit_deployment", "clone_deployment"})
"""The form actions that need a deployment (the cursor's, or a named one)."""


class InventoryEdits(DeploymentActions):
    BINDINGS = [
        Binding("n", "new_deployment", "New",
                tooltip="a new deployment, in a form that writes the inventory file"),
        Binding("E", "edit_deployment", "Edit",
                tooltip="edit the selected deployment's inventory entry in a form"),
        Binding("c", "clone_deployment", "Clone",
                tooltip="a new deployment, starting from a copy of the selected one"),
    ]  # fmt: skip

    def action_new_deployment(self) -> None:
        if not self._refused():
            self._open_form("new", None)

    def action_edit_deployment(self, name: str | None = None) -> None:
        name = name or self.selected_deployment()
        if name is not None and not self._refused():
            self._open_form("edit", name)

    def action_clone_deployment(self, name: str | None = None) -> None:
        name = name or self.selected_deployment()
        if name is not None and not self._refused():
            self._open_form("clone", name)

    def _open_form(self, mode: FormMode, name: str | None) -> None:
        data: dict[str, Any] = {}
        try:
            if name is not None:
                data = deployment_data(self._backend.inventory_text(), name)
            if mode == "clone":
                # A copy needs its own name, and its own endpoint port (two cannot share one).
                data = {k: v for k, v in data.items() if k != "endpoint_port"}
                data["name"] = f"{name}-copy"
            form = DeploymentFormScreen(self._backend, mode, data, replacing=name)
        except (OSError, UnicodeDecodeError, ValueError, FleetdeckError) as exc:
            notice = describe_error(exc, doing="read the inventory file",
                                    fallback_step="check the inventory file")  # fmt: skip
            self.notify(notice.body, title=notice.title, severity="error", timeout=20)
            return
        self.push_screen(form, self._apply_edit)

    def _apply_edit(self, edit: InventoryEdit | None) -> None:
        if edit is None:
            return
        backend = self._backend
        self.run_fleet_action(
            str(self._backend.inventory_path),
            "save the inventory and apply it",
            lambda: backend.apply_inventory(edit.text, based_on=edit.based_on),
            edit.summary,
        )
