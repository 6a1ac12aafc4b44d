"""The console on a recording: the player's keys (pause, step, speed, seek), every
screen opening on it, verbs refused with the replay's reason, and SVG snapshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import DeploymentStatus, ReplicaStatus
from fleetdeck.core.recording.player import ReplaySource
from fleetdeck.core.recording.reader import Recording
from fleetdeck.core.recording.writer import RecordingWriter
from fleetdeck.tui.replay_app import ReplayApp
from fleetdeck.tui.screens.deployment import DeploymentScreen
from fleetdeck.tui.screens.hosts import HostsScreen
from fleetdeck.tui.screens.logs import LogsScreen
from fleetdeck.tui.screens.seek import SeekScreen, parse_time
from fleetdeck.tui.widgets.events_panel import EventsPanel
from tests.tui.fleet_data import Notes, fleet, llama, llama_replicas, screen_text, until

T0 = 1_764_000_000.0
EXITED = Event(
    time=T0 + 10.2,
    kind="replica.exited",
    subject="llama8b/r0",
    message="exited with code 137 on gpu-a (killed by signal 9)",
    level="warning",
)


def night(tmp_path: Path) -> Path:
    """30 s: degraded, then r0 killed and failed from 10 s, all active from 20 s."""
    path = tmp_path / "night.rec"
    writer = RecordingWriter(path, meta={"fleet": "lab", "exports": {
        "llama8b": {"name": "llama8b", "model": "meta-llama/Llama-3.1-8B-Instruct",
                    "start_timeout": "17m"}}})  # fmt: skip
    r0, r1, r2 = llama_replicas()
    for second in range(30):
        if second < 10:
            shown = llama()
        elif second < 20:
            down = r0.model_copy(update={"status": ReplicaStatus.FAILED, "pid": None})
            shown = llama(status=DeploymentStatus.FAILED, ready=0, replicas=(down, r1, r2))
        else:
            up = [r.model_copy(update={"status": ReplicaStatus.ACTIVE}) for r in (r0, r1, r2)]
            shown = llama(status=DeploymentStatus.ACTIVE, ready=3, replicas=tuple(up))
        writer.snapshot(fleet(shown, taken_at=T0 + second), now=T0 + second)
        if second == 10:
            writer.event(EXITED)
    writer.close()
    return path


def replay_app(tmp_path: Path, at: float = 0.0) -> ReplayApp:
    source = ReplaySource(Recording.open(night(tmp_path)), paused=True)
    source.seek(at)
    return ReplayApp(source, refresh_s=0.01)


def status_of(app: ReplayApp) -> DeploymentStatus | None:
    shown = app.snapshot.deployment("llama8b") if app.snapshot else None
    return shown.status if shown else None


def test_times_are_read_as_seconds_or_clock_times() -> None:
    assert parse_time("90") == 90.0
    assert parse_time("1:30") == 90.0
    assert parse_time("0:01:30.5") == 90.5
    assert parse_time("soon") is None and parse_time("-3") is None
    assert parse_time("1:2:3:4") is None


async def test_pause_step_speed_and_seek(tmp_path: Path) -> None:
    app = replay_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None)
        assert status_of(app) is DeploymentStatus.DEGRADED
        assert "0:00:00 / 0:00:29 · 1× · paused" in app.title

        await pilot.press("full_stop", "full_stop")  # step, step
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.taken_at == T0 + 2)
        assert "0:00:02 / 0:00:29" in app.title
        await pilot.press("comma")  # one back
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.taken_at == T0 + 1)

        await pilot.press("greater_than_sign", "greater_than_sign")
        assert app.player.speed == 5.0 and "5×" in app.title
        await pilot.press("less_than_sign")
        assert app.player.speed == 2.0

        await pilot.press("at")
        await until(pilot, lambda: isinstance(app.screen, SeekScreen))
        await pilot.press(*"0:00:15", "enter")
        await until(pilot, lambda: status_of(app) is DeploymentStatus.FAILED)
        assert "0:00:15" in app.title
        # Passing 10 s told the events panel about the exit, as the live console would.
        panel = app.query_one(EventsPanel)
        await until(pilot, lambda: EXITED in panel.events)

        await pilot.press("left_square_bracket")  # -10 s: back before the exit
        await until(pilot, lambda: status_of(app) is DeploymentStatus.DEGRADED)
        await until(pilot, lambda: EXITED not in panel.events)
        await pilot.press("at")
        await until(pilot, lambda: isinstance(app.screen, SeekScreen))
        await pilot.press(*"15", "enter")
        await until(pilot, lambda: EXITED in panel.events)  # told again on the way
        await pilot.press("right_square_bracket")  # +10 s
        await until(pilot, lambda: status_of(app) is DeploymentStatus.ACTIVE)

        await pilot.press("space")  # play from 25 s at 2x: it reaches the end, and stops
        assert not app.player.paused
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.taken_at == T0 + 29)
        await until(pilot, lambda: "paused" in app.title)
        await pilot.press("space")  # at the end, play starts over
        await until(pilot, lambda: status_of(app) is DeploymentStatus.DEGRADED)
        await pilot.press("space")
        assert app.player.paused


async def test_every_screen_opens_on_a_recording(tmp_path: Path) -> None:
    app = replay_app(tmp_path, at=12)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: status_of(app) is DeploymentStatus.FAILED)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DeploymentScreen))
        # Logs are not recorded, and it says so where the log would be.
        await until(pilot, lambda: "logs are not part of a recording" in screen_text(app))
        # The detail screen's events start from the recording's history up to now.
        await pilot.press("e")
        await until(pilot, lambda: "killed by signal 9" in screen_text(app))
        # Its inventory panel shows the entry recorded with the fleet.
        await pilot.press("i")
        await until(pilot, lambda: "17m" in screen_text(app))
        await pilot.press("escape")
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HostsScreen))
        await until(pilot, lambda: "gpu-a" in screen_text(app))
        await pilot.press("escape")
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogsScreen))
        await until(pilot, lambda: "logs are not part of a recording" in screen_text(app))
        await pilot.press("escape")
        await pilot.press("e")  # the events panel hides and shows as live
        events = app.query_one(EventsPanel)
        assert not events.display
        await pilot.press("e")
        assert events.display


async def test_verbs_are_refused_with_the_replays_reason(tmp_path: Path) -> None:
    notes = Notes()
    app = replay_app(tmp_path, at=12)
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        await until(pilot, lambda: status_of(app) is DeploymentStatus.FAILED)
        assert app.readonly and "replay lab" in app.title
        app.action_stop("llama8b")
        app.action_restart("llama8b")
        app.action_scale_to("llama8b", 4)
        await pilot.press("x")  # the key too: it says why nothing happens
        await until(pilot, lambda: len(notes.titled("Read-only")) == 4)
        assert all("replay of a recording" in n.message for n in notes.titled("Read-only"))
        app.run_command_line("stop llama8b")
        await until(pilot, lambda: any("this is a replay" in n.message for n in notes.all))
        assert status_of(app) is DeploymentStatus.FAILED  # nothing changed


class TestSnapshots:
    def test_replay_at_80x24(self, snap_compare: Callable[..., bool], utc: None,
                             tmp_path: Path) -> None:  # fmt: skip
        app = replay_app(tmp_path, at=12)

        async def failed(pilot: Pilot[None]) -> None:
            await until(pilot, lambda: status_of(app) is DeploymentStatus.FAILED)
            await until(pilot, lambda: EXITED in app.query_one(EventsPanel).events)
            await pilot.pause()

        assert snap_compare(app, terminal_size=(80, 24), run_before=failed)

    def test_replay_at_120x40(self, snap_compare: Callable[..., bool], utc: None,
                              tmp_path: Path) -> None:  # fmt: skip
        app = replay_app(tmp_path, at=12)

        async def failed(pilot: Pilot[None]) -> None:
            await until(pilot, lambda: status_of(app) is DeploymentStatus.FAILED)
            await until(pilot, lambda: EXITED in app.query_one(EventsPanel).events)
            await pilot.pause()

        assert snap_compare(app, terminal_size=(120, 40), run_before=failed)
