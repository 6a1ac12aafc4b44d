"""Events from the backend's subscription: newest first, bounded, coloured by level."""

from __future__ import annotations

from rich.style import Style
from textual.color import Color

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import DeploymentStatus
from fleetdeck.themes import FLEETDECK_DARK
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.widgets.events_panel import EventsPanel, level_variable
from tests.tui.fleet_data import SIZE, deployment, fleet, shown, until
from tests.tui.scripted_backend import ScriptedBackend


def event(n: int, level: str = "info") -> Event:
    return Event(
        time=float(n),
        kind="replica.started",
        subject=f"alpha/r{n}",
        message=f"event {n}",
        level=level,
    )


def lines_of(panel: EventsPanel) -> list[str]:
    return panel.as_text().plain.splitlines()


async def test_events_appear_newest_first() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    backend = ScriptedBackend(snapshot)
    app = FleetdeckApp(backend, title="lab", refresh_s=0.01)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        panel = app.query_one(EventsPanel)
        for n in range(3):
            backend.emit(event(n))
        await until(pilot, lambda: len(panel.events) == 3)
        await pilot.pause()
        assert [e.message for e in panel.events] == ["event 2", "event 1", "event 0"]
        rendered = lines_of(panel)
        assert [line.split(": ", 1)[1] for line in rendered] == ["event 2", "event 1", "event 0"]


async def test_history_merged_late_takes_its_place_in_time() -> None:
    """A replica's exit found in its host's history arrives dated when it happened."""
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    backend = ScriptedBackend(snapshot)
    app = FleetdeckApp(backend, title="lab", refresh_s=0.01)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        panel = app.query_one(EventsPanel)
        for n in (10, 30, 20, 5):
            backend.emit(event(n))
        await until(pilot, lambda: len(panel.events) == 4)
        assert [e.message for e in panel.events] == ["event 30", "event 20", "event 10", "event 5"]
        for n in range(100, 300):  # full: one older than every event kept is not shown
            backend.emit(event(n))
        backend.emit(event(1))
        backend.emit(event(150, "warning"))
        await until(pilot, lambda: any(e.level == "warning" for e in panel.events))
        assert len(panel.events) == 200
        times = [e.time for e in panel.events]
        assert times == sorted(times, reverse=True) and times.count(150.0) == 2
        assert panel.events[-1].message == "event 101"


async def test_events_are_bounded_and_coloured_by_level() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    backend = ScriptedBackend(snapshot)
    app = FleetdeckApp(backend, title="lab", refresh_s=0.01)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        panel = app.query_one(EventsPanel)
        for n in range(250):
            backend.emit(event(n, "error" if n == 249 else "info"))
        await until(pilot, lambda: bool(panel.events) and panel.events[0].message == "event 249")
        assert len(panel.events) == 200
        assert panel.events[-1].message == "event 50"
        first_line, second_line = panel.as_text().split("\n")[:2]
        error_colour = Color.parse(FLEETDECK_DARK.variables["level-error"]).rich_color
        info_colour = Color.parse(FLEETDECK_DARK.variables["level-info"]).rich_color
        assert [span.style for span in first_line.spans] == [Style(color=error_colour)]
        assert [span.style for span in second_line.spans] == [Style(color=info_colour)]


async def test_e_hides_and_shows_the_events_panel() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    app = FleetdeckApp(ScriptedBackend(snapshot), title="lab", refresh_s=0.01)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        panel = app.query_one(EventsPanel)
        assert panel.display
        await pilot.press("e")
        assert not panel.display
        await pilot.press("e")
        assert panel.display


def test_unknown_levels_are_drawn_as_info() -> None:
    assert level_variable("error") == "level-error"
    assert level_variable("debug") == "level-info"
