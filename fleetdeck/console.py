"""The console composed: an engine behind the intent API, handed to the Textual app.

The only module that builds the TUI; core never imports it (DESIGN.md, checked by the
import-linter contract in pyproject.toml).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

from fleetdeck.core.commands.exit_codes import DONE, INTERRUPTED
from fleetdeck.core.commands.replay import open_recording
from fleetdeck.core.demo.demo_fleet import DemoFleet, run_headless_demo
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.errors import UsageError
from fleetdeck.core.export.server import metrics_setting, serving_metrics
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import Inventory
from fleetdeck.core.recording.player import ReplaySource
from fleetdeck.core.recording.recorder import recorded
from fleetdeck.core.recording.writer import DEFAULT_MAX_BYTES
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.deployment_access import client_hints
from fleetdeck.tui.preferences import PreferencesFile, default_preferences_path
from fleetdeck.tui.replay_app import ReplayApp


def require_a_terminal(headless_instead: str) -> None:
    """Refuse to draw the console where no one can see it.

    Without a terminal (stdin from /dev/null, stdout to a file, a CI job) Textual would
    still draw, forever, into the file at half a core's CPU, and nothing could press q.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "the console needs a terminal: stdin and stdout must both be one",
            "nothing could be seen or pressed here (a pipe, a file or no terminal)",
            f"run it in a terminal, or use `{headless_instead}` for text",
        )


async def open_console(
    inventory: Inventory,
    *,
    readonly: bool = False,
    theme: str | None = None,
    record: Path | None = None,
    record_max_bytes: int = DEFAULT_MAX_BYTES,
    metrics: str | None = None,
) -> int:
    """`record`: also record what the console shows there (`fleetdeck replay` plays it);
    `metrics`: serve /metrics there (else the inventory's [fleet] metrics_address)."""
    require_a_terminal("fleetdeck status FILE --watch")
    setting = metrics_setting(metrics, inventory.fleet.metrics_address, inventory.source)
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
        async with contextlib.AsyncExitStack() as stack:
            # Bound before the app draws: a port in use is told on the terminal, exit 2.
            await stack.enter_async_context(serving_metrics(intents, setting))
            if record is not None:
                await stack.enter_async_context(
                    recorded(intents, record, max_bytes=record_max_bytes)
                )
            # The console runs the same loops as `fleetdeck run` while it is open (under
            # the lease).
            await intents.run_beside_controller(app.run_async())
    finally:
        await intents.close()
    return DONE


async def open_replay(path: Path, *, theme: str | None = None) -> int:
    """The console on a recording, read-only, playing from its start at 1×."""
    recording = open_recording(path)  # a wrong file is told first, terminal or not
    require_a_terminal(f"fleetdeck replay {path} --headless --at SECONDS")
    app = ReplayApp(
        ReplaySource(recording),
        theme=theme,
        preferences=PreferencesFile(default_preferences_path()),
    )
    await app.run_async()
    return DONE


async def run_demo(
    *,
    headless: bool,
    seconds: float | None,
    readonly: bool = False,
    theme: str | None = None,
    metrics: str | None = None,
) -> int:
    """`metrics`: serve the demo fleet's /metrics there (to try a Grafana dashboard)."""
    setting = metrics_setting(metrics, None, "the demo")
    if headless:
        return await run_headless_demo(seconds, setting)
    require_a_terminal("fleetdeck demo --headless")
    demo = DemoFleet(say_events=False)
    async with demo as intents, serving_metrics(intents, setting):
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
