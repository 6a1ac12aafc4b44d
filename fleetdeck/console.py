"""The console composed: an engine behind the intent API, handed to the Textual app.

The only module that builds the TUI; core never imports it (DESIGN.md, checked by the
import-linter contract in pyproject.toml).
"""

from __future__ import annotations

import asyncio

from fleetdeck.core.commands.exit_codes import DONE, INTERRUPTED
from fleetdeck.core.demo.demo_fleet import DemoFleet, run_headless_demo
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import Inventory
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.deployment_access import client_hints
from fleetdeck.tui.preferences import PreferencesFile, default_preferences_path


async def open_console(
    inventory: Inventory, *, readonly: bool = False, theme: str | None = None
) -> int:
    intents = FleetIntents(Engine(inventory), who="the console")
    app = FleetdeckApp(
        intents,
        title=f"fleetdeck — {inventory.fleet.name}",
        hints=client_hints(inventory),
        readonly=readonly,
        theme=theme,
        preferences=PreferencesFile(default_preferences_path()),
    )
    try:
        # The console runs the same loops as `fleetdeck run` while it is open (under the lease).
        await intents.run_beside_controller(app.run_async())
    finally:
        await intents.close()
    return DONE


async def run_demo(
    *, headless: bool, seconds: float | None, readonly: bool = False, theme: str | None = None
) -> int:
    if headless:
        return await run_headless_demo(seconds)
    demo = DemoFleet(say_events=False)
    async with demo as intents:
        app = FleetdeckApp(
            intents,
            title="fleetdeck demo",
            hints=client_hints(intents.inventory),
            readonly=readonly,
            theme=theme,
            preferences=PreferencesFile(default_preferences_path()),
        )
        # SIGTERM or SIGHUP (the terminal or tmux window closed) ends the app like `q`,
        # and DemoFleet's exit stops every replica and removes its directory.
        demo.on_stop_signal(app.exit)
        timer = asyncio.get_running_loop().call_later(seconds, app.exit) if seconds else None
        try:
            if not demo.stop_requested.is_set():
                await intents.run_beside_controller(app.run_async())
        finally:
            if timer is not None:
                timer.cancel()
    return INTERRUPTED if demo.stop_requested.is_set() else DONE
