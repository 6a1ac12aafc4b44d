"""The deployment form through the keyboard: create, edit and clone write the inventory
file (comments kept, the loader reads it back), after showing the plan and one yes; a
wrong value is shown beside its field and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from fleetdeck.core.fleet.snapshot import DeploymentStatus
from fleetdeck.core.inventory import load_inventory
from fleetdeck.core.policy.plan import Start, Stop
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.screens.confirm import ConfirmScreen
from fleetdeck.tui.screens.deployment_form import DeploymentFormScreen
from fleetdeck.tui.screens.path_prompt import PathPrompt
from tests.tui.fleet_data import Notes, deployment, fleet, shown, until
from tests.tui.form_backend import FormBackend

INVENTORY = """\
# the lab fleet: edited by hand and by the console
[fleet]
name = "lab"

[[hosts]]
name = "gpu-a"            # the big box
transport = "local"
simulate = { gpus = 4 }

# chat model for the team
[[deployments]]
name = "llama"
model = "meta/llama"      # keep this comment
start_timeout = "20m"     # first download is slow
api_key = { env = "LLAMA_KEY" }

[deployments.vllm]
max_model_len = 8192      # context
"""


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLAMA_KEY", "sk-never-shown")
    path = tmp_path / "fleet.toml"
    path.write_text(INVENTORY)
    return path


def console(backend: FormBackend) -> tuple[FleetdeckApp, object]:
    app = FleetdeckApp(backend, title="fleetdeck · lab", refresh_s=0.01)
    snapshot = fleet(deployment("llama", DeploymentStatus.ACTIVE))
    backend.push(snapshot)
    return app, snapshot


async def open_form(pilot: Pilot[None], key: str) -> DeploymentFormScreen:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, DeploymentFormScreen))
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, DeploymentFormScreen)
    return screen


class Row:
    """One field as a test reads it."""

    def __init__(self, form: DeploymentFormScreen, key: str) -> None:
        self.widgets = form.field(key)

    @property
    def text(self) -> str:
        return self.widgets.value.value

    @property
    def invalid(self) -> bool:
        return self.widgets.label.has_class("-invalid")


def row(form: DeploymentFormScreen, key: str) -> Row:
    return Row(form, key)


async def type_into(pilot: Pilot[None], form: DeploymentFormScreen, key: str, text: str) -> None:
    """Focus the field and type `text` over what it held, as a person would."""
    field = form.field(key).value
    field.focus()
    await pilot.pause()
    field.value = ""
    await pilot.press(*text)
    await pilot.pause()


def errors_of(form: DeploymentFormScreen, key: str) -> str:
    return str(form.field(key).error.render())


async def save_and_confirm(pilot: Pilot[None]) -> ConfirmScreen:
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    screen = pilot.app.screen
    assert isinstance(screen, ConfirmScreen)
    return screen


async def test_create_writes_a_new_entry_after_the_plan_and_one_yes(inventory: Path) -> None:
    backend = FormBackend(inventory, running=("llama",))
    app, snapshot = console(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await shown(pilot, snapshot)
        form = await open_form(pilot, "n")
        assert set(form.values().values()) == {""}
        await type_into(pilot, form, "name", "qwen")
        await type_into(pilot, form, "model", "Qwen/Qwen2.5-7B")
        await type_into(pilot, form, "replicas", "2")
        await type_into(pilot, form, "hf_token", "env:HF_TOKEN")
        await type_into(pilot, form, "vllm.max_model_len", "4096")
        assert form.check is not None and form.check.ok, form.check.errors
        question = await save_and_confirm(pilot)
        plan = backend.plans[-1]
        assert [(a.deployment, a.host) for a in plan.actions if isinstance(a, Start)] == [
            ("qwen", "gpu-a"), ("qwen", "gpu-a")
        ]  # fmt: skip
        assert not any(isinstance(a, Stop) for a in plan.actions)
        shown_text = str(question.query_one("#confirm-detail").render())
        assert "+ start  qwen/" in shown_text and "Plan: 2 to start, 0 to stop." in shown_text
        assert inventory.read_text() == INVENTORY, "nothing is written before the yes"
        await pilot.press("y")
        await until(pilot, lambda: bool(backend.saved))
        await until(pilot, lambda: not isinstance(app.screen, DeploymentFormScreen))
    text = inventory.read_text()
    assert text.startswith(INVENTORY + '\n[[deployments]]\nname = "qwen"')
    assert 'hf_token = { env = "HF_TOKEN" }' in text
    loaded = load_inventory(inventory)
    qwen = loaded.deployment("qwen")
    assert qwen is not None and qwen.replicas == 2 and qwen.vllm.max_model_len == 4096
    assert backend.calls == [("apply_inventory", str(inventory), None)]


async def test_edit_changes_the_entry_in_place_and_shows_the_roll(inventory: Path) -> None:
    backend = FormBackend(inventory, running=("llama",))
    app, snapshot = console(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await shown(pilot, snapshot)
        form = await open_form(pilot, "E")
        assert row(form, "name").text == "llama"
        assert row(form, "api_key").text == "env:LLAMA_KEY"
        assert row(form, "start_timeout").text == "20m"
        await type_into(pilot, form, "vllm.max_model_len", "16384")
        await type_into(pilot, form, "vllm.dtype", "bfloat16")
        question = await save_and_confirm(pilot)
        shown_text = str(question.query_one("#confirm-detail").render())
        # Rolling: a new replica with the new spec first; the old one stops once it is ready.
        assert "+ start  llama/gpu-a-1 on gpu-a" in shown_text and "(rolling update)" in shown_text
        assert "Plan: 1 to start, 0 to stop." in shown_text
        await pilot.press("y")
        await until(pilot, lambda: bool(backend.saved))
    assert inventory.read_text() == INVENTORY.replace(
        "max_model_len = 8192      # context",
        'max_model_len = 16384      # context\ndtype = "bfloat16"',
    )
    llama = load_inventory(inventory).deployment("llama")
    assert llama is not None and llama.vllm.dtype == "bfloat16"


async def test_clone_adds_a_copy_under_a_new_name(inventory: Path) -> None:
    backend = FormBackend(inventory, running=("llama",))
    app, snapshot = console(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await shown(pilot, snapshot)
        form = await open_form(pilot, "c")
        assert row(form, "name").text == "llama-copy"
        assert row(form, "vllm.max_model_len").text == "8192"
        await save_and_confirm(pilot)
        await pilot.press("y")
        await until(pilot, lambda: bool(backend.saved))
    loaded = load_inventory(inventory)
    assert [d.name for d in loaded.deployments] == ["llama", "llama-copy"]
    original, copy = loaded.deployments
    assert copy.model_dump(exclude={"name"}) == original.model_dump(exclude={"name"})
    assert inventory.read_text().startswith(INVENTORY)


async def test_a_wrong_value_is_shown_beside_its_field_and_nothing_is_saved(
    inventory: Path,
) -> None:
    backend = FormBackend(inventory)
    app, snapshot = console(backend)
    notes = Notes()
    async with app.run_test(size=(100, 30), message_hook=notes) as pilot:
        await shown(pilot, snapshot)
        form = await open_form(pilot, "E")
        await type_into(pilot, form, "vllm.gpu_memory_utilization", "1.5")
        await type_into(pilot, form, "replicas", "two")
        assert "must be at most 1.0, got 1.5" in errors_of(form, "vllm.gpu_memory_utilization")
        assert "whole number" in errors_of(form, "replicas")
        assert row(form, "replicas").invalid
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DeploymentFormScreen), "no plan, no question"
        assert notes.titled("Not saved")
        # A secret's value is refused, and never echoed back.
        await type_into(pilot, form, "api_key", "sk-live-123")
        assert "env:NAME or file:PATH" in errors_of(form, "api_key")
        assert "sk-live" not in errors_of(form, "api_key")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DeploymentFormScreen))
    assert inventory.read_text() == INVENTORY
    assert backend.calls == [] and backend.plans == []


async def test_export_and_import_use_the_export_format(inventory: Path, tmp_path: Path) -> None:
    backend = FormBackend(inventory)
    app, snapshot = console(backend)
    exported = tmp_path / "llama.json"
    async with app.run_test(size=(100, 30)) as pilot:
        await shown(pilot, snapshot)
        form = await open_form(pilot, "E")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, PathPrompt))
        app.screen.query_one(Input).value = str(exported)
        await pilot.press("enter")
        await until(pilot, exported.exists)
        data = json.loads(exported.read_text())
        assert data["api_key"] == {"env": "LLAMA_KEY"} and data["vllm"] == {"max_model_len": 8192}
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DeploymentFormScreen))
        data["model"] = "meta/llama-3.2"
        exported.write_text(json.dumps(data))
        form = await open_form(pilot, "n")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, PathPrompt))
        app.screen.query_one(Input).value = str(exported)
        await pilot.press("enter")
        await until(pilot, lambda: row(form, "model").text == "meta/llama-3.2")
        assert row(form, "api_key").text == "env:LLAMA_KEY"
        await type_into(pilot, form, "name", "llama-32")
        assert form.check is not None and form.check.ok, form.check.errors


async def test_an_unreadable_inventory_is_told_and_opens_no_form(inventory: Path) -> None:
    backend = FormBackend(inventory)
    app, snapshot = console(backend)
    notes = Notes()
    async with app.run_test(size=(100, 30), message_hook=notes) as pilot:
        await shown(pilot, snapshot)
        inventory.unlink()
        await pilot.press("n")
        await until(pilot, lambda: bool(notes.all))
        assert "No such file" in notes.all[-1].message
        assert not isinstance(app.screen, DeploymentFormScreen)
