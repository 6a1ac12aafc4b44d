"""A replica's log, followed live: bounded, batched, and calm when the stream ends.

One worker follows one replica; following another cancels it (an exclusive worker
group), which closes the engine's stream where it waits. Lines are collected for
`flush_s` and written in one `write_lines`, so a chatty replica costs one repaint per
batch rather than one per line; `max_lines` bounds the memory the pane holds.

Following is shown in the border subtitle and matches what the pane does: scrolled up
(PageUp, the wheel) it says "paused" and counts the lines that arrived below; End (or
scrolling back to the bottom) follows again.
"""

from __future__ import annotations

import re

from textual import work
from textual.timer import Timer
from textual.widgets import Log
from textual.worker import Worker, WorkerState

from fleetdeck.core.intents.console_api import ConsoleBackend
from fleetdeck.tui.error_notice import describe_error

LOG_WORKER = "logs"
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")


def printable(line: str) -> str:
    """A log line without terminal escapes or control characters that would garble the pane."""
    return _ESCAPES.sub("", line.rstrip("\r\n")).expandtabs(4)


class LogPane(Log):
    def __init__(
        self,
        backend: ConsoleBackend,
        *,
        tail: int = 200,
        max_lines: int = 2000,
        flush_s: float = 0.1,
        id: str | None = None,
    ) -> None:
        super().__init__(max_lines=max_lines, id=id)
        self._backend = backend
        self._tail = tail
        self._flush_s = flush_s
        self._pending: list[str] = []
        self._flush_timer: Timer | None = None
        self._worker: Worker[None] | None = None
        self.following: str | None = None
        """The replica whose log is shown (None before the first one is picked)."""
        self.pinned = True
        """Whether new lines scroll the pane to its end; False while the user reads back."""
        self.unseen = 0
        """Lines written below the view since the user paused."""
        self._ended = False
        self.border_title = "Log"

    @property
    def streaming(self) -> bool:
        return self._worker is not None and not self._worker.is_finished

    def follow(self, replica_id: str) -> None:
        """Show `replica_id`'s log from its last `tail` lines on; a no-op if already live."""
        if replica_id == self.following and self.streaming:
            return
        self.following = replica_id
        self._pending.clear()
        self.clear()
        self.border_title = f"Log · {replica_id}"
        self._ended = False
        self.resume()
        self._worker = self._stream(replica_id)

    def resume(self) -> None:
        """Follow the end again (End): show the newest line and keep showing it."""
        self.pinned = True
        self.unseen = 0
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self._show_state()

    def _show_state(self) -> None:
        if self._ended:
            self.border_subtitle = "not following"
        elif self.pinned:
            self.border_subtitle = "following"
        else:
            more = f" · {self.unseen} new below" if self.unseen else ""
            self.border_subtitle = f"paused{more} · End follows"

    @work(group=LOG_WORKER, exclusive=True, exit_on_error=False)
    async def _stream(self, replica_id: str) -> None:
        stream = self._backend.follow_logs(replica_id, tail=self._tail)
        try:
            async for line in stream:
                self._pending.append(printable(line))
                if self._flush_timer is None:
                    self._flush_timer = self.set_timer(self._flush_s, self._flush)
        finally:
            # Close the engine's stream now (its SSH channel), not whenever it is collected.
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    def _flush(self) -> None:
        self._flush_timer = None
        lines, self._pending = self._pending, []
        if lines:
            self._write(lines)

    def _write(self, lines: list[str]) -> None:
        # Log only scrolls when it is at its end *now*; a resize (the replicas table
        # growing by a row) leaves it short of the end, and it would stop following.
        self.write_lines(lines, scroll_end=False)
        if self.pinned:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.unseen += len(lines)
            self._show_state()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        pinned = new_value >= self.max_scroll_y
        if pinned != self.pinned:
            self.pinned = pinned
            if pinned:
                self.unseen = 0
            self._show_state()

    def on_resize(self) -> None:
        if self.pinned:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where the end of a stream is told: a line in the pane, not a crash."""
        if event.worker is not self._worker or self.following is None:
            return  # a stream that was switched away from; its end is nobody's news
        if event.state is WorkerState.SUCCESS:
            notice = "the log stream ended"
        elif event.state is WorkerState.ERROR and event.worker.error is not None:
            notice = describe_error(
                event.worker.error,
                doing=f"follow the log of {self.following}",
                fallback_step="",
            ).one_line
        else:
            return
        self._flush()
        self._ended = True
        self._show_state()
        self._write([f"── {notice} · Enter on the replica follows it again ──"])
