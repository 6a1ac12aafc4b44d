"""A deployment's logs, k9s-style: every replica merged (or one), followed, searchable.

The screen follows every replica of the deployment, each in a worker of its own, into
one bounded `LogBuffer` (tui/log_model.py, plain Python); "one replica" is a view of
that buffer, so switching loses no history. A stream that ends (the host reconnects,
the replica restarts and the engine gives up on it, an error) leaves a notice line and
is followed again after a short backoff: the screen never detaches. Lines arrive in
batches of `flush_s` so a chatty fleet costs one repaint per batch.

The app hands each snapshot of the deployment down through `show`, which starts
following replicas that appeared and stops following those that are gone.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, Input
from textual.worker import Worker

from fleetdeck.core.fleet.snapshot import DeploymentSnapshot
from fleetdeck.core.intents.console_api import ConsoleBackend
from fleetdeck.tui.error_notice import describe_error
from fleetdeck.tui.log_model import (
    MAX_LINES,
    LogBuffer,
    LogLine,
    ViewOptions,
    save_path,
    saved_text,
    short_name,
    shown,
    stream_notice,
)
from fleetdeck.tui.widgets.key_hints import KeyHints
from fleetdeck.tui.widgets.log_pane import printable
from fleetdeck.tui.widgets.log_view import LogView

MAX_RESUME_S = 10.0
"""The longest wait before following an ended stream again."""


class LogsScreen(Screen[None]):
    DEFAULT_CSS = """
    LogsScreen LogView {
        height: 1fr;
        border: round $border;
        border-title-color: $text-primary;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    LogsScreen #log-query {
        dock: bottom;
        display: none;
    }
    LogsScreen #log-query.open {
        display: block;
    }
    """

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("f", "follow", "Follow"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "jump(True)", "Next match", show=False),
        Binding("N", "jump(False)", "Previous match", show=False),
        Binding("ampersand", "filter", "Only matching", key_display="&"),
        Binding("H", "toggle_probes", "Probes"),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("L", "toggle_replicas", "One/all"),
        Binding("right_square_bracket", "other_replica(1)", "Next replica", show=False),
        Binding("left_square_bracket", "other_replica(-1)", "Previous replica", show=False),
        Binding("s", "save", "Save"),
    ]

    def __init__(
        self,
        deployment_name: str,
        backend: ConsoleBackend,
        *,
        deployment: DeploymentSnapshot | None = None,
        replica: str | None = None,
        tail: int = 200,
        max_lines: int = MAX_LINES,
        flush_s: float = 0.1,
        resume_s: float = 1.0,
        save_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.deployment_name = deployment_name
        self._backend = backend
        self._deployment = deployment
        self._one = replica
        """The replica shown in one-replica mode (the first one followed, if not given)."""
        self._options = ViewOptions(replica=replica)
        self._tail = tail
        self._flush_s = flush_s
        self._resume_s = resume_s
        self._save_dir = save_dir
        self.buffer = LogBuffer(max_lines)
        self._replicas: list[str] = []
        self._workers: dict[str, Worker[None]] = {}
        self._pending: list[LogLine] = []
        self._flush_timer: Timer | None = None
        self._query_mode = "search"
        """What the query input is for: "search" or "filter"."""

    @property
    def options(self) -> ViewOptions:
        return self._options

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def compose(self) -> ComposeResult:
        yield Header()
        yield LogView(self.buffer, self.deployment_name, id="log-view")
        yield Input(id="log-query", placeholder="search (Enter: go to the newest match)")
        yield KeyHints()

    def on_mount(self) -> None:
        self.view.focus()
        if self._deployment is not None:
            self.show(self._deployment)
        elif self._one is not None:
            self._follow(self._one)
        self._redraw()

    # -- replicas in -------------------------------------------------------------------
    def show(self, deployment: DeploymentSnapshot | None) -> None:
        """Take this deployment's newest snapshot (None: it is no longer in the fleet)."""
        if deployment is None:
            return  # keep following what we have: the streams end on their own
        current = [replica.id for replica in deployment.replicas]
        for gone in [r for r in self._workers if r not in current]:
            # Scaled away: its lines stay, its stream would only resume into nothing.
            self._workers.pop(gone).cancel()
        added = [r for r in current if r not in self._workers]
        for replica in added:
            self._follow(replica)
        if added and self._options.replica is None:
            self._redraw()  # a new name may widen the prefix column
        self._update_title()

    def _follow(self, replica: str) -> None:
        self.buffer.register(replica)
        if replica not in self._replicas:
            self._replicas.append(replica)
        if self._one is None:
            self._one = replica
        self._workers[replica] = self.run_worker(
            self._stream(replica), name=f"log {replica}", group="logs", exit_on_error=False
        )

    async def _stream(self, replica: str) -> None:
        tail = self._tail
        delay = self._resume_s
        while True:
            stream = self._backend.follow_logs(replica, tail=tail)
            received = False
            try:
                async for line in stream:
                    received = True
                    self._receive(replica, printable(line))
                why = "stream ended"
            except Exception as error:  # told as a line; cancellation is not caught here
                doing = f"follow the log of {replica}"
                why = describe_error(error, doing=doing, fallback_step="").one_line
            finally:
                # Close the engine's stream now (its SSH channel), not when collected.
                close = getattr(stream, "aclose", None)
                if close is not None:
                    await close()
            self._receive(replica, stream_notice(why), notice=True)
            if received:
                delay = self._resume_s  # it was healthy for a while: start the backoff over
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RESUME_S)
            tail = 0  # what the tail would repeat is on screen already

    def _receive(self, replica: str, text: str, *, notice: bool = False) -> None:
        line = self.buffer.append(replica, text, notice=notice)
        if shown(line, self._options):
            self._pending.append(line)
            if self._flush_timer is None:
                self._flush_timer = self.set_timer(self._flush_s, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        lines, self._pending = self._pending, []
        self.view.append(lines)

    # -- the view ------------------------------------------------------------------------
    def _redraw(self) -> None:
        """Rebuild the view from the buffer after a toggle changed what is shown."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        self._pending.clear()
        names = [short_name(r, self.deployment_name) for r in self._replicas]
        merged = self._options.replica is None
        prefix = max(map(len, names), default=0) if merged else 0
        self.view.show(self.buffer.view(self._options), self._options, prefix)
        self._update_title()

    def _update_title(self) -> None:
        one = self._options.replica
        if one is not None:
            self.view.border_title = f"Logs · {one}"
        else:
            count = len(self._workers)
            self.view.border_title = f"Logs · {self.deployment_name} · all {count} replicas"

    def _set_options(self, **changes: Any) -> None:
        self._options = replace(self._options, **changes)
        self._redraw()

    # -- keys ----------------------------------------------------------------------------
    def action_back(self) -> None:
        query = self.query_one("#log-query", Input)
        if query.has_class("open"):
            self._close_query()
        elif self.view.search:
            self.view.set_search("")
        else:
            self.dismiss()

    def action_follow(self) -> None:
        self.view.resume()

    def action_search(self) -> None:
        self._open_query("search", "search (Enter: go to the newest match)")

    def action_filter(self) -> None:
        if self._options.filter:
            self._set_options(filter="")
        elif self.view.search:
            self._set_options(filter=self.view.search)
        else:
            self._open_query("filter", "only lines containing (Enter: apply)")

    def action_jump(self, forward: bool) -> None:
        if not self.view.search:
            self.notify("Search first with /.", title="No search", severity="warning")
        elif not self.view.jump(forward=forward):
            self.notify(f"No line contains '{self.view.search}'.", title="No match")

    def action_toggle_probes(self) -> None:
        self._set_options(hide_probes=not self._options.hide_probes)

    def action_toggle_wrap(self) -> None:
        self.view.set_wrap(not self.view.wrap)

    def action_toggle_replicas(self) -> None:
        if self._options.replica is None and self._one is not None:
            self._set_options(replica=self._one)
        else:
            self._set_options(replica=None)

    def action_other_replica(self, step: int) -> None:
        if not self._replicas:
            return
        now = self._options.replica or self._one
        index = self._replicas.index(now) if now in self._replicas else -step
        self._one = self._replicas[(index + step) % len(self._replicas)]
        self._set_options(replica=self._one)

    def action_save(self) -> None:
        """Write the view as shown (replica, probe and filter choices applied) to a file."""
        lines = self.view.lines
        directory = self._save_dir or Path.cwd()
        path = save_path(directory, self.deployment_name, self._options.replica, datetime.now())
        text = saved_text(lines, self.deployment_name, prefixed=self._options.replica is None)
        try:
            # At most MAX_LINES lines, a few MB: written here rather than in a thread.
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            notice = describe_error(error, doing=f"save the log to {path}", fallback_step="")
            self.notify(notice.body, title=notice.title, severity="error")
            return
        self.notify(f"{len(lines)} lines in {path}", title="Log saved")

    # -- the query input -----------------------------------------------------------------
    def _open_query(self, mode: str, placeholder: str) -> None:
        self._query_mode = mode
        query = self.query_one("#log-query", Input)
        query.placeholder = placeholder
        query.value = self.view.search if mode == "search" else ""
        query.add_class("open")
        query.focus()

    def _close_query(self) -> None:
        self.query_one("#log-query", Input).remove_class("open")
        self.view.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._query_mode == "search":
            self.view.set_search(event.value)  # highlights as you type: drawing is lazy

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._close_query()
        if self._query_mode == "filter":
            self.view.set_search(event.value)
            self._set_options(filter=event.value)
        elif event.value:
            self.action_jump_newest()

    def action_jump_newest(self) -> None:
        if not self.view.jump(forward=None):
            self.notify(f"No line contains '{self.view.search}'.", title="No match")
