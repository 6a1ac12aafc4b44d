"""Command mode and its neighbours, driven through the app: each `:` command, the ctrl+p
palette's fleet entries, --readonly, the remembered theme, the confirmations, quitting
with an action in flight, and the help built from the bindings; then SVG snapshots of
the command line, the help, a confirmation and the palette at two sizes and two themes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input

from fleetdeck.core.fleet.snapshot import DeploymentStatus, FleetSnapshot
from fleetdeck.core.intents import IntentOutcome
from fleetdeck.themes import FLEETDECK_DARK, FLEETDECK_HIGH_CONTRAST, FLEETDECK_LIGHT
from fleetdeck.tui.app import READONLY_MARKER, FleetdeckApp
from fleetdeck.tui.commands import COMMANDS
from fleetdeck.tui.preferences import PreferencesFile
from fleetdeck.tui.screens.command import CommandScreen
from fleetdeck.tui.screens.confirm import ConfirmScreen
from fleetdeck.tui.screens.deployment import DeploymentScreen
from fleetdeck.tui.screens.help import HelpScreen
from fleetdeck.tui.screens.hosts import HostsScreen
from fleetdeck.tui.screens.logs import LogsScreen
from fleetdeck.tui.widgets.deployments_table import DeploymentsTable
from fleetdeck.tui.widgets.events_panel import EventsPanel
from fleetdeck.tui.widgets.hosts_table import HostsTable
from tests.tui.fleet_data import (
    SIZE,
    Notes,
    deployment,
    fleet,
    llama,
    screen_text,
    shown,
    still_cursors,
    until,
)
from tests.tui.scripted_backend import ScriptedBackend


def two() -> FleetSnapshot:
    return fleet(
        deployment("alpha", DeploymentStatus.ACTIVE),
        deployment("beta", DeploymentStatus.ACTIVE, hosts=("gpu-a", "gpu-b")),
    )


def app_for(backend: ScriptedBackend, **options: object) -> FleetdeckApp:
    return FleetdeckApp(backend, title="lab", refresh_s=0.01, log_flush_s=0.01, **options)  # type: ignore[arg-type]


async def type_command(pilot: Pilot[None], line: str, *, enter: bool = True) -> CommandScreen:
    await pilot.press("colon")
    await until(pilot, lambda: isinstance(pilot.app.screen, CommandScreen))
    screen = pilot.app.screen
    assert isinstance(screen, CommandScreen)
    await pilot.press(*("space" if char == " " else char for char in line))
    if enter:
        await pilot.press("enter")
    return screen


async def answer(pilot: Pilot[None], key: str) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    await pilot.press(key)
    await until(pilot, lambda: not isinstance(pilot.app.screen, ConfirmScreen))


# -- each command ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "confirm", "call"),
    [
        ("scale beta 5", None, ("scale", "beta", 5)),
        ("scale alpha 0", "y", ("scale", "alpha", 0)),
        ("start alpha", None, ("start", "alpha", None)),
        ("stop beta", "y", ("stop", "beta", None)),
        ("restart alpha", "y", ("restart", "alpha", None)),
    ],
)
async def test_fleet_commands_call_the_backend(
    line: str, confirm: str | None, call: tuple[str, str, int | None]
) -> None:
    snapshot = two()
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await type_command(pilot, line)
        if confirm:
            await answer(pilot, confirm)
        await until(pilot, lambda: bool(backend.calls))
        assert backend.calls == [call]


async def test_events_theme_help_and_quit_commands() -> None:
    snapshot = two()
    app = app_for(ScriptedBackend(snapshot))
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        panel = app.query_one(EventsPanel)
        await type_command(pilot, "events")
        await until(pilot, lambda: not panel.display)
        await type_command(pilot, "theme fleetdeck-light")
        await until(pilot, lambda: app.theme == FLEETDECK_LIGHT.name)
        await type_command(pilot, "help")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await type_command(pilot, "quit")
        await until(pilot, lambda: not app.is_running)


async def test_a_name_jumps_to_its_deployment_or_host() -> None:
    snapshot = two()
    app = app_for(ScriptedBackend(snapshot))
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await type_command(pilot, "beta")
        await until(pilot, lambda: isinstance(app.screen, DeploymentScreen))
        assert isinstance(app.screen, DeploymentScreen)
        assert app.screen.deployment_name == "beta"
        # From the detail screen, a host name goes back to the fleet and selects its row.
        await type_command(pilot, "gpu-b")
        hosts = app.query_one(HostsTable)
        await until(pilot, lambda: app.screen is app.screen_stack[0] and hosts.has_focus)
        assert hosts.cursor_row == 1
        table = app.query_one(DeploymentsTable)
        assert table.cursor_row == 1, "the jump to beta moved the fleet's cursor too"


async def test_tab_completes_and_a_bad_line_says_why_and_stays_open() -> None:
    snapshot = two()
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        screen = await type_command(pilot, "sca", enter=False)
        await pilot.press("tab", "b", "tab", "7")
        assert screen.query_one(Input).value == "scale beta 7"
        await pilot.press("backspace", "x", "enter")
        await pilot.pause()
        assert app.screen is screen and "N is a whole number" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CommandScreen))
        assert backend.calls == []


class WithoutOtherScreens(FleetdeckApp):
    """An app that lacks the hosts and logs screens: their commands must not be offered."""

    action_hosts = None  # type: ignore[assignment]
    action_open_logs = None  # type: ignore[assignment]


async def test_hosts_and_logs_open_their_screens_and_hide_without_them() -> None:
    snapshot = two()
    app = app_for(ScriptedBackend(snapshot))
    assert {"hosts", "logs"} <= {c.name for c in app.console_commands()}
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await type_command(pilot, "hosts")
        await until(pilot, lambda: isinstance(app.screen, HostsScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HostsScreen))
        await type_command(pilot, "logs alpha")
        await until(pilot, lambda: isinstance(app.screen, LogsScreen))
        assert app.screen.deployment_name == "alpha"

    bare = WithoutOtherScreens(ScriptedBackend(snapshot), title="lab", refresh_s=0.01)
    assert {"hosts", "logs"}.isdisjoint(c.name for c in bare.console_commands())


# -- the palette -------------------------------------------------------------------------
async def test_the_palette_offers_the_same_commands() -> None:
    snapshot = two()
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        texts = {entry.text for entry in app.palette_entries()}
        assert {"stop alpha", "restart beta", "scale beta N", "go to alpha", "help"} <= texts
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"stop beta")
        await until(pilot, lambda: "stop beta" in screen_text(app))
        await pilot.pause(0.3)  # the palette searches in the background
        await pilot.press("enter")
        await answer(pilot, "y")
        await until(pilot, lambda: bool(backend.calls))
        assert backend.calls == [("stop", "beta", None)]

        # An entry with a count to type opens the command line with the rest filled in.
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"scale alpha N")
        await until(pilot, lambda: "scale alpha N" in screen_text(app))
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CommandScreen))
        assert app.screen.query_one(Input).value == "scale alpha "


# -- read-only ---------------------------------------------------------------------------
async def test_readonly_refuses_every_action_and_says_so() -> None:
    snapshot = two()
    backend = ScriptedBackend(snapshot)
    notes = Notes()
    app = app_for(backend, readonly=True)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await shown(pilot, snapshot)
        assert READONLY_MARKER in app.title and READONLY_MARKER in screen_text(app)
        for action in ("scale", "start", "stop", "restart"):
            assert app.check_action(action, ()) is None, f"{action} is not shown disabled"
        keys = {b.binding.action: b.enabled for b in app.screen.active_bindings.values()}
        assert not any(keys[a] for a in ("scale(1)", "scale(-1)", "start", "stop", "restart"))

        await pilot.press("plus", "minus", "s", "x", "r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        # Even a direct call (a binding some later screen adds) is refused.
        for call in (
            lambda: app.action_scale_to("alpha", 0),
            lambda: app.action_start("alpha"),
            lambda: app.action_stop("alpha"),
            lambda: app.action_restart("alpha"),
        ):
            call()
        await until(pilot, lambda: len(notes.titled("Read-only")) >= 4)

        changing = {c.name for c in COMMANDS if c.changes_fleet}
        assert changing.isdisjoint(c.name for c in app.console_commands())
        assert not [e for e in app.palette_entries() if e.text.split()[0] in changing]
        await type_command(pilot, "stop alpha")
        await pilot.pause()
        assert "stop is not available: this console is read-only" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert backend.calls == []


# -- the remembered theme ----------------------------------------------------------------
async def test_the_chosen_theme_is_remembered_and_used_next_time(tmp_path: Path) -> None:
    store = PreferencesFile(tmp_path / "fleetdeck" / "console.json")
    snapshot = two()
    app = app_for(ScriptedBackend(snapshot), preferences=store)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        assert app.theme == FLEETDECK_DARK.name
        assert not store.path.exists(), "nothing is written until a theme is chosen"
        await pilot.press("t")
        await until(pilot, lambda: store.path.exists())
    assert json.loads(store.path.read_text()) == {"theme": FLEETDECK_LIGHT.name}

    again = app_for(ScriptedBackend(two()), preferences=store)
    assert again.theme == FLEETDECK_LIGHT.name

    # --theme wins over the remembered one, and is remembered in turn.
    asked = app_for(ScriptedBackend(snapshot), preferences=store, theme="fleetdeck-high-contrast")
    async with asked.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: FLEETDECK_HIGH_CONTRAST.name in store.path.read_text())
    assert asked.theme == FLEETDECK_HIGH_CONTRAST.name


async def test_a_broken_preferences_file_is_a_notification_not_a_crash(tmp_path: Path) -> None:
    store = PreferencesFile(tmp_path / "console.json")
    store.path.write_text("{theme = 'dark'")
    snapshot = two()
    notes = Notes()
    app = app_for(ScriptedBackend(snapshot), preferences=store)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await shown(pilot, snapshot)
        await until(pilot, lambda: bool(notes.titled("Console settings")))
        assert str(store.path) in notes.titled("Console settings")[0].message
        assert app.theme == FLEETDECK_DARK.name
        await type_command(pilot, "theme fleetdeck-light")
        await until(pilot, lambda: "fleetdeck-light" in store.path.read_text())


# -- confirmations -----------------------------------------------------------------------
async def test_scaling_to_zero_asks_and_no_calls_nothing() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await pilot.press("minus")
        await answer(pilot, "n")
        await type_command(pilot, "scale alpha 0")
        await answer(pilot, "escape")
        await pilot.press("x")
        await answer(pilot, "n")
        await pilot.pause()
        assert backend.calls == []


class GatedBackend(ScriptedBackend):
    """Actions wait until the test opens the gate, as a slow engine step would."""

    def __init__(self, *snapshots: FleetSnapshot) -> None:
        super().__init__(*snapshots)
        self.gate = asyncio.Event()

    async def scale(self, deployment: str, replicas: int) -> IntentOutcome:
        await self.gate.wait()
        return await super().scale(deployment, replicas)


async def test_quitting_with_an_action_in_flight_asks_and_says_what_happens() -> None:
    snapshot = two()
    backend = GatedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await pilot.press("plus", "q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = " ".join(screen_text(app).replace("│", " ").split())
        assert "scale alpha to 2 replicas is still running: quit anyway?" in text
        assert "already recorded" in text and "cut short" in text
        await answer(pilot, "n")
        assert app.is_running
        await pilot.press("q")
        await answer(pilot, "y")
        await until(pilot, lambda: not app.is_running)

    # With nothing in flight, q quits at once.
    idle = app_for(ScriptedBackend(snapshot))
    async with idle.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await pilot.press("q")
        await until(pilot, lambda: not idle.is_running)


# -- help --------------------------------------------------------------------------------
@pytest.mark.parametrize("detail", [False, True], ids=["fleet", "detail"])
async def test_help_lists_every_binding_of_the_screen_and_app_and_fits(detail: bool) -> None:
    snapshot = fleet(llama())
    app = app_for(ScriptedBackend(snapshot))
    async with app.run_test(size=(80, 24)) as pilot:
        await shown(pilot, snapshot)
        if detail:
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DeploymentScreen))
        under = app.screen
        expected = {
            app.get_key_display(active.binding)
            for active in under.active_bindings.values()
            if active.node in (under, app) and active.binding.description
        }
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        text = help_screen.query_one("#help-keys").render()
        plain = str(text)
        missing = [key for key in expected if key not in plain]
        assert not missing, f"not in the help: {missing}"
        assert ":scale NAME N" in plain
        box = help_screen.query_one("#help-box").region
        assert box.y >= 0 and box.bottom <= 24, "the help box leaves the screen"


# -- snapshots ---------------------------------------------------------------------------
SIZES = [(80, 24), (120, 40)]
THEMES = [FLEETDECK_DARK.name, FLEETDECK_LIGHT.name]


async def _command_line(pilot: Pilot[None]) -> None:
    await type_command(pilot, "st", enter=False)
    still_cursors(pilot.app)  # type: ignore[arg-type]
    await pilot.pause()


async def _help(pilot: Pilot[None]) -> None:
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
    await pilot.pause()


async def _confirm(pilot: Pilot[None]) -> None:
    await pilot.press("x")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    await pilot.pause()


async def _palette(pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    still_cursors(pilot.app)  # type: ignore[arg-type]
    await pilot.press(*"stop")
    await until(pilot, lambda: "stop alpha" in screen_text(pilot.app))  # type: ignore[arg-type]
    await pilot.pause(0.3)


OVERLAYS = {"command": _command_line, "help": _help, "confirm": _confirm, "palette": _palette}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_overlay_snapshots(
    snap_compare: Callable[..., bool], overlay: str, size: tuple[int, int], theme: str
) -> None:
    snapshot = two()
    app = app_for(ScriptedBackend(snapshot), theme=theme)

    async def run_before(pilot: Pilot[None]) -> None:
        await shown(pilot, snapshot)
        await OVERLAYS[overlay](pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
