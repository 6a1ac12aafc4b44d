"""The console's trust dialog against real sshd: a host refused for an unknown key is
offered, its fingerprint and `[address]:port` shown, trusted on `y`, and then connects;
a changed key shows both fingerprints and is replaced only when the host's name is
typed. It writes what `fleetdeck trust` writes (tests/integration/test_trust.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import asyncssh
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.fleet.snapshot import HostState
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import load_inventory
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.screens.trust import TrustScreen
from tests.harness.inventory_writer import inventory_toml
from tests.harness.sshd import SshdFleet
from tests.tui.fleet_data import Notes, until

pytestmark = pytest.mark.integration

KEPT = "# kept as is\n"


@pytest.fixture
def fleet(
    sshd_fleet_factory: Callable[[int], SshdFleet], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> SshdFleet:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    return sshd_fleet_factory(1)


def console(fleet: SshdFleet, tmp_path: Path, known_hosts: Path) -> FleetdeckApp:
    text = inventory_toml(fleet).replace(
        f"known_hosts = {json.dumps(str(fleet.known_hosts))}",
        f"known_hosts = {json.dumps(str(known_hosts))}",
    )
    assert str(known_hosts) in text
    path = tmp_path / "fleet.toml"
    path.write_text(text + 'connect_timeout = "3s"\n')
    intents = FleetIntents(Engine(load_inventory(path)), who="the console")
    return FleetdeckApp(intents, title="fleetdeck · trust", refresh_s=0.2)


def host_state(app: FleetdeckApp) -> HostState | None:
    return app.snapshot.hosts[0].state if app.snapshot and app.snapshot.hosts else None


async def dialog(pilot: Pilot[None]) -> TrustScreen:
    app = pilot.app
    assert isinstance(app, FleetdeckApp)
    await until(pilot, lambda: host_state(app) is HostState.UNREACHABLE, timeout=20)
    await until(pilot, lambda: bool(app.key_refusals()), timeout=20)
    await pilot.press("T")
    await until(pilot, lambda: isinstance(app.screen, TrustScreen), timeout=20)
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, TrustScreen)
    return screen


def dialog_text(screen: TrustScreen) -> str:
    return str(screen.query_one("#trust-detail").render())


async def test_an_unknown_key_is_offered_trusted_on_yes_and_the_host_connects(
    fleet: SshdFleet, tmp_path: Path
) -> None:
    host = fleet.hosts[0]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(KEPT)
    app = console(fleet, tmp_path, known_hosts)
    notes = Notes()
    async with app.run_test(size=(100, 30), message_hook=notes) as pilot:
        screen = await dialog(pilot)
        assert notes.titled("Host key not trusted")
        shown = dialog_text(screen)
        assert host.host_key_fingerprint in shown
        assert f"[{host.address}]:{host.port}" in shown
        assert known_hosts.read_text() == KEPT, "nothing is written before the answer"
        await pilot.press("y")
        await until(pilot, lambda: host_state(app) is HostState.UP, timeout=30)
        assert notes.titled(f"{host.name}: key trusted")
    assert known_hosts.read_text() == KEPT + f"{host.known_hosts_line}\n"


async def test_a_changed_key_is_replaced_only_when_the_name_is_typed(
    fleet: SshdFleet, tmp_path: Path
) -> None:
    host = fleet.hosts[0]
    old_key = asyncssh.generate_private_key("ssh-ed25519")
    old_fingerprint = old_key.get_fingerprint("sha256")
    stale = f"[{host.address}]:{host.port} " + " ".join(
        old_key.export_public_key().decode().split()[:2]
    )
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(KEPT + stale + "\n")
    app = console(fleet, tmp_path, known_hosts)
    notes = Notes()
    async with app.run_test(size=(100, 30), message_hook=notes) as pilot:
        screen = await dialog(pilot)
        shown = dialog_text(screen)
        assert host.host_key_fingerprint in shown and old_fingerprint in shown
        await pilot.press("y")  # not enough for a changed key: it goes into the name field
        screen.query_one(Input).value = "host-9"
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, TrustScreen))
        await until(pilot, lambda: bool(notes.titled(f"{host.name}: not trusted")))
        assert known_hosts.read_text() == KEPT + stale + "\n"

        screen = await dialog(pilot)
        screen.query_one(Input).value = host.name
        await pilot.press("enter")
        await until(pilot, lambda: host_state(app) is HostState.UP, timeout=30)
    assert known_hosts.read_text() == KEPT + f"{host.known_hosts_line}\n"
