"""The key line at the bottom of every screen (tui/widgets/key_hints.py)."""

from __future__ import annotations

from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.screens.help import HelpScreen
from fleetdeck.tui.screens.hosts import HostsScreen
from fleetdeck.tui.widgets.key_hints import KeyHint, KeyHints, fit
from tests.tui.fleet_data import fleet, llama, screen_text, shown, until
from tests.tui.scripted_backend import ScriptedBackend


def hint(key: str, description: str = "Thing", *, kept: bool = False) -> KeyHint:
    return KeyHint(key, key, description, enabled=True, kept=kept)


def test_fit_keeps_the_kept_entries_and_drops_the_later_others_in_order() -> None:
    a, b, c = hint("a"), hint("b"), hint("c")
    help_ = hint("?", "Keys", kept=True)
    every = [a, b, help_, c]
    assert fit(every, 200) == every
    # " a Thing " is 9 cells, " ? Keys " 8: room for help and two others.
    assert fit(every, 8 + 9 + 9) == [a, b, help_]
    assert fit(every, 8 + 9) == [a, help_]
    # Too narrow even for the kept ones: they are still there (the line crops them).
    assert fit(every, 3) == [help_]


def bottom_line(app: FleetdeckApp) -> str:
    return screen_text(app).rstrip("\n").splitlines()[-1]


SNAPSHOT = fleet(llama())


def app_for(**options: object) -> FleetdeckApp:
    return FleetdeckApp(ScriptedBackend(SNAPSHOT), title="fleetdeck", **options)  # type: ignore[arg-type]


async def test_at_80_columns_help_quit_command_and_palette_stay() -> None:
    app = app_for()
    async with app.run_test(size=(80, 24)) as pilot:
        await shown(pilot, SNAPSHOT)
        line = bottom_line(app)
        for shown_key in ("q Quit", "? Keys", ": Command", "^p palette"):
            assert shown_key in line, line
        assert line.rstrip().endswith("^p palette"), "the palette sits at the right end"
        # Wider, every key of the fleet screen fits.
        await pilot.resize_terminal(200, 24)
        await pilot.pause()
        line = bottom_line(app)
        for shown_key in ("o Sort", "r Restart", "h Hosts", "/ Filter", "l Logs"):
            assert shown_key in line, line


async def test_the_line_follows_the_screen_and_a_click_presses_the_key() -> None:
    app = app_for()
    async with app.run_test(size=(120, 24)) as pilot:
        await shown(pilot, SNAPSHOT)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HostsScreen))
        await pilot.pause()
        line = bottom_line(app)
        assert line.lstrip().startswith("esc Back") and "+ Scale up" not in line, line
        hints = app.screen.query_one(KeyHints)
        start = line.index("? Keys")
        await pilot.click(KeyHints, offset=(start + 1, 0))
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert hints.hints()[0], "the hosts screen's line had entries"


async def test_read_only_draws_the_changing_keys_disabled() -> None:
    app = app_for(readonly=True)
    async with app.run_test(size=(200, 24)) as pilot:
        await shown(pilot, SNAPSHOT)
        entries, palette = app.screen.query_one(KeyHints).hints()
        enabled = {entry.shown: entry.enabled for entry in entries}
        assert palette is not None and palette.enabled
        assert enabled["+"] is False and enabled["x"] is False, enabled
        assert enabled["q"] and enabled["?"] and enabled["h"], enabled
