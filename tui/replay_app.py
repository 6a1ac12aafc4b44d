"""The console on a recording: FleetdeckApp, read-only, fed by a ReplaySource, with the
player's keys. Every screen works as on a live fleet, because the source answers the
same ConsoleBackend protocol; the title says where the player is."""

from __future__ import annotations

from textual.binding import Binding

from fleetdeck.core.recording.player import REFUSED, ReplaySource, clock_text
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.deployment_actions import DEPLOYMENT_ACTIONS
from fleetdeck.tui.messages import SnapshotReceived
from fleetdeck.tui.preferences import PreferencesFile
from fleetdeck.tui.screens.seek import SeekScreen

SEEK_S = 10.0


class ReplayApp(FleetdeckApp):
    READONLY_MESSAGE = f"Replay: {REFUSED}. Nothing was changed."
    READONLY_REASON = "this is a replay"
    BINDINGS = [
        # The verbs' keys stay, out of the key line, so that pressing one says why it
        # does nothing (a read-only console greys them out and ignores them).
        Binding("plus", "scale(1)", "Scale up", show=False, key_display="+"),
        Binding("minus", "scale(-1)", "Scale down", show=False, key_display="-"),
        Binding("s", "start", "Start", show=False),
        Binding("x", "stop", "Stop", show=False),
        Binding("r", "restart", "Restart", show=False),
        Binding("space", "play_pause", "Play/pause", tooltip="pause or play the recording"),
        Binding("full_stop", "step(1)", "Step", key_display=".",
                tooltip="pause, then one snapshot forward (`,` one back)"),
        Binding("comma", "step(-1)", "Back", key_display=",", show=False,
                tooltip="pause, then one snapshot back"),
        Binding("greater_than_sign", "speed(1)", "Faster", key_display=">",
                tooltip="play faster: 1×, 2×, 5×, 10×, 30×, 60× (`<` slower)"),
        Binding("less_than_sign", "speed(-1)", "Slower", key_display="<", show=False,
                tooltip="play slower"),
        Binding("right_square_bracket", "skip(1)", "+10 s", key_display="]", show=False,
                tooltip="ten seconds forward (`[` back)"),
        Binding("left_square_bracket", "skip(-1)", "-10 s", key_display="[", show=False,
                tooltip="ten seconds back"),
        Binding("at", "seek", "Go to", key_display="@",
                tooltip="go to a time in the recording: seconds or h:mm:ss"),
    ]  # fmt: skip

    def __init__(
        self,
        source: ReplaySource,
        *,
        refresh_s: float = 1.0,
        theme: str | None = None,
        preferences: PreferencesFile | None = None,
    ) -> None:
        self._player = source
        self._fleet_title = f"replay {source.recording.fleet or source.recording.path.name}"
        super().__init__(
            source,
            title=self._fleet_title,
            refresh_s=refresh_s,
            readonly=True,
            theme=theme,
            preferences=preferences,
        )
        source.on_change = self._show_player
        self._show_player()

    @property
    def player(self) -> ReplaySource:
        return self._player

    def _show_player(self) -> None:
        self.title = f"{self._fleet_title} · {self._player.status()}"

    def on_snapshot_received(self, message: SnapshotReceived) -> None:
        super().on_snapshot_received(message)
        # Sought back: the events panel shows what had happened by then, no later.
        player = self._player
        self._events.forget_after(player.recording.start + player.position)
        self._show_player()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if action in DEPLOYMENT_ACTIONS and allowed is None:
            return True  # runs, and is refused with the replay's reason
        return allowed

    def action_play_pause(self) -> None:
        self._player.toggle_pause()

    def action_step(self, frames: int) -> None:
        self._player.step(frames)

    def action_speed(self, steps: int) -> None:
        self._player.faster(steps)

    def action_skip(self, direction: int) -> None:
        self._player.seek(self._player.position + direction * SEEK_S)

    def action_seek(self) -> None:
        duration = clock_text(self._player.recording.duration)

        def go(seconds: float | None) -> None:
            if seconds is not None:
                self._player.seek(seconds)

        self.push_screen(SeekScreen(duration), go)
