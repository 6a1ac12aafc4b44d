"""SVG snapshots of the deployment form (with an error shown under its field) and of the
trust dialog (a new key, a changed one) at 80x24 and 120x40. The form must stay usable
at 80x24: it scrolls, and each field keeps its key, value, help and error readable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncssh
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from fleetdeck.core.fleet.snapshot import DeploymentStatus
from fleetdeck.core.intents.host_keys import HostKeyReport, KeyStanding
from fleetdeck.hosts.known_hosts import KeyLookup
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.screens.confirm import ConfirmScreen
from fleetdeck.tui.screens.deployment_form import DeploymentFormScreen
from fleetdeck.tui.screens.trust import TrustScreen
from tests.tui.fleet_data import deployment, fleet, shown, still_cursors, until
from tests.tui.form_backend import FormBackend
from tests.tui.scripted_backend import ScriptedBackend
from tests.tui.test_deployment_form import INVENTORY

SIZES = [(80, 24), (120, 40)]
# Not drawn: the dialog shows the report's own fields, so a fresh key changes nothing.
KEY = asyncssh.generate_private_key("ssh-ed25519")


def report(standing: KeyStanding) -> HostKeyReport:
    changed = standing is KeyStanding.CHANGED
    return HostKeyReport(
        host="gpu-b",
        pattern="[10.0.0.12]:2222",
        inventory_address="10.0.0.12",
        algorithm="ssh-ed25519",
        fingerprint="SHA256:q3VbnkB3r0m1X8cXc1oQ2u0v4h4zT0wq6JwM7x4o2kE",
        known_hosts=Path("/home/ops/.ssh/known_hosts"),
        standing=standing,
        listed=("SHA256:Zz1pQ8m3o4Vb7cXk2Wl0aRt5yUe6Hn9Jd4Fg2Sx8Cq0",) if changed else (),
        key=KEY,
        lookup=KeyLookup("10.0.0.12", 2222),
    )


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The inventory in the working directory, so the form's title is "fleet.toml"."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLAMA_KEY", "sk-never-shown")
    path = tmp_path / "fleet.toml"
    path.write_text(INVENTORY)
    return path


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("state", ["error", "plan"])
def test_form_snapshot(
    snap_compare: Callable[..., bool], in_tmp: Path, size: tuple[int, int], state: str
) -> None:
    backend = FormBackend(in_tmp, running=("llama",))
    snapshot = fleet(deployment("llama", DeploymentStatus.ACTIVE))
    backend.push(snapshot)
    app = FleetdeckApp(backend, title="fleetdeck · lab", refresh_s=0.01)

    async def run_before(pilot: Pilot[None]) -> None:
        await shown(pilot, snapshot)
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, DeploymentFormScreen))
        field = app.screen.query_one("#field-replicas", Input)
        field.value = "-1" if state == "error" else "3"
        field.focus()
        still_cursors(app)
        await pilot.pause(0.2)
        if state == "plan":  # what will start, roll or stop, and the one question
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            still_cursors(app)
            await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("standing", [KeyStanding.NEW, KeyStanding.CHANGED], ids=lambda s: s.value)
def test_trust_dialog_snapshot(
    snap_compare: Callable[..., bool], size: tuple[int, int], standing: KeyStanding
) -> None:
    snapshot = fleet(deployment("llama", DeploymentStatus.ACTIVE))
    backend = ScriptedBackend(snapshot)
    backend.refused_keys = ("gpu-b",)
    backend.key_reports["gpu-b"] = report(standing)
    app = FleetdeckApp(backend, title="fleetdeck · lab", refresh_s=0.01)

    async def run_before(pilot: Pilot[None]) -> None:
        await shown(pilot, snapshot)
        app.clear_notifications()
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, TrustScreen))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
