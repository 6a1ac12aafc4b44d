"""The logs screen through the keyboard: open, merge, follow/pause, search, filter, probes,
wrap, save, and streams that end; plus SVG snapshots (merged, a search highlighted)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from fleetdeck.core.fleet.snapshot import ReplicaSnapshot, ReplicaStatus
from fleetdeck.themes import FLEETDECK_DARK, FLEETDECK_LIGHT, LOG_VARIABLES
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.screens.deployment import DeploymentScreen
from fleetdeck.tui.screens.logs import LogsScreen
from fleetdeck.tui.widgets.log_view import LogView
from tests.tui.fleet_data import Notes, fleet, llama, open_detail, screen_text, shown, until
from tests.tui.scripted_backend import ScriptedBackend

SIZE = (100, 30)
PROBE = 'INFO:     127.0.0.1:59870 - "GET /health HTTP/1.1" 200 OK'
SCRAPE = 'INFO:     127.0.0.1:59871 - "GET /metrics HTTP/1.1" 200 OK'


def app_for(backend: ScriptedBackend) -> FleetdeckApp:
    return FleetdeckApp(backend, title="lab", refresh_s=0.01, log_flush_s=0.01)


async def open_logs(pilot: Pilot[None], *keys: str) -> LogsScreen:
    await pilot.press(*(keys or ("l",)))
    await until(pilot, lambda: isinstance(pilot.app.screen, LogsScreen))
    screen = pilot.app.screen
    assert isinstance(screen, LogsScreen)
    return screen


async def lines_shown(pilot: Pilot[None], view: LogView, count: int) -> None:
    await until(pilot, lambda: len(view.lines) == count)
    await pilot.pause()


async def write_in_order(
    pilot: Pilot[None], backend: ScriptedBackend, screen: LogsScreen, lines: list[tuple[str, str]]
) -> None:
    """One line at a time, each received before the next: a merge order fixed by the test."""
    for replica, text in lines:
        before = len(screen.buffer)
        backend.write_log(replica, text)
        await until(pilot, lambda before=before: len(screen.buffer) > before)  # type: ignore[misc]


async def test_l_on_the_fleet_merges_every_replica_with_a_prefix() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    backend.write_log("llama8b/r0", "r0 says hello")
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        screen = await open_logs(pilot)
        await until(pilot, lambda: len(backend.open_streams()) == 3)
        assert {s.replica_id for s in backend.open_streams()} == {
            "llama8b/r0", "llama8b/r1", "llama8b/r2",
        }  # fmt: skip
        backend.write_log("llama8b/r2", "r2 says hello")
        await lines_shown(pilot, screen.view, 2)
        text = screen_text(app)
        assert "r0 │ r0 says hello" in text
        assert "r2 │ r2 says hello" in text
        assert "Logs · llama8b · all 3 replicas" in text
        assert "following" in text

        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LogsScreen))
        await until(pilot, lambda: not backend.open_streams())  # streams closed on leaving


async def test_l_on_the_details_shows_the_replica_under_the_cursor_and_L_toggles() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    backend.write_log("llama8b/r0", "zero")
    backend.write_log("llama8b/r1", "one")
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await open_detail(pilot)
        await pilot.press("down")  # the cursor on llama8b/r1
        screen = await open_logs(pilot)
        assert screen.options.replica == "llama8b/r1"
        await lines_shown(pilot, screen.view, 1)
        assert "Logs · llama8b/r1" in screen_text(app)
        assert screen.view.prefix_width == 0  # one replica: no prefix column

        await pilot.press("L")
        assert screen.options.replica is None
        await lines_shown(pilot, screen.view, 2)
        await pilot.press("L")
        assert screen.options.replica == "llama8b/r1"

        await pilot.press("right_square_bracket")
        assert screen.options.replica == "llama8b/r2"
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert screen.options.replica == "llama8b/r0"
        await lines_shown(pilot, screen.view, 1)
        assert screen.view.lines[0].text == "zero"

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DeploymentScreen))


async def test_scrolling_up_pauses_with_a_count_and_f_or_end_resume() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    backend.write_log("llama8b/r0", *(f"line {i}" for i in range(100)))
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        screen = await open_logs(pilot)
        view = screen.view
        await lines_shown(pilot, view, 100)
        assert view.scroll_y == view.max_scroll_y
        assert view.border_subtitle == "following"

        for pause, resume in (("pageup", "f"), ("k", "end"), ("up", "f"), ("home", "end")):
            await pilot.press(pause)
            assert view.paused, pause
            assert view.border_subtitle == "paused (0 new)"
            at = view.scroll_y
            assert at < view.max_scroll_y
            backend.write_log("llama8b/r0", "a", "b")
            await lines_shown(pilot, view, len(view.lines) + 2)
            assert view.border_subtitle == "paused (2 new)"
            assert view.scroll_y == at  # the reader's place does not move
            await pilot.press(resume)
            await pilot.pause()
            assert not view.paused, resume
            assert view.border_subtitle == "following"
            assert view.scroll_y == view.max_scroll_y

        # The scrollbar (or any scroll up the keys do not see) pauses too.
        view.scroll_to(y=0, animate=False, immediate=True)
        assert view.paused


async def test_search_highlights_and_n_N_walk_the_matches() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    lines = [f"ERROR {i}" if i % 20 == 0 else f"line {i}" for i in range(100)]
    backend.write_log("llama8b/r0", *lines)
    app = app_for(backend)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await shown(pilot, snapshot)
        screen = await open_logs(pilot)
        view = screen.view
        await lines_shown(pilot, view, 100)

        await pilot.press("slash", "e", "r", "r")
        assert view.search == "err"  # highlighted while typing
        await pilot.press("enter")
        assert view.paused
        assert view.lines[view.current or 0].text == "ERROR 80"  # the newest one shown
        assert "/err: 5 of 5" in str(view.border_subtitle)
        await pilot.press("N")
        assert view.lines[view.current or 0].text == "ERROR 60"
        await pilot.press("n", "n")
        assert view.lines[view.current or 0].text == "ERROR 0"  # wrapped around
        assert "/err: 1 of 5" in str(view.border_subtitle)
        assert "ERROR 0" in screen_text(app)  # scrolled to it

        await pilot.press("escape")  # clears the search; a second Escape goes back
        assert view.search == ""
        assert isinstance(app.screen, LogsScreen)

        await pilot.press("n")
        assert notes.titled("No search")


async def test_escape_closes_the_search_input_and_keeps_the_highlight() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    backend.write_log("llama8b/r0", "warm up", "ready")
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        screen = await open_logs(pilot)
        await lines_shown(pilot, screen.view, 2)
        await pilot.press("slash", "r", "e", "a")
        query = screen.query_one("#log-query")
        assert query.has_class("open") and query.has_focus
        await pilot.press("escape")
        assert not query.has_class("open")
        assert screen.view.has_focus
        assert screen.view.search == "rea"


async def test_ampersand_keeps_only_matching_lines_and_toggles_back() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    backend.write_log("llama8b/r0", "KV cache 10%", "request done", "KV cache 12%")
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        screen = await open_logs(pilot)
        view = screen.view
        await lines_shown(pilot, view, 3)

        # Without a search, & asks for the text to keep.
        await pilot.press("ampersand", "k", "v", "enter")
        assert screen.options.filter == "kv"
        await lines_shown(pilot, view, 2)
        assert "only 'kv'" in str(view.border_subtitle)
        backend.write_log("llama8b/r0", "request done", "KV cache 15%")
        await lines_shown(pilot, view, 3)  # new lines are filtered as they come

        await pilot.press("ampersand")
        assert screen.options.filter == ""
        await lines_shown(pilot, view, 5)

        # With a search, & keeps the lines that match it.
        await pilot.press("slash", "d", "o", "n", "e", "enter", "ampersand")
        assert screen.options.filter == "done"
        await lines_shown(pilot, view, 2)


async def test_probe_lines_are_hidden_until_H() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    backend.write_log("llama8b/r0", "start", PROBE, SCRAPE, "served")
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        screen = await open_logs(pilot)
        view = screen.view
        await lines_shown(pilot, view, 2)
        assert [line.text for line in view.lines] == ["start", "served"]
        assert len(screen.buffer) == 4  # hidden, not dropped

        await pilot.press("H")
        await lines_shown(pilot, view, 4)
        assert "probes shown" in str(view.border_subtitle)
        assert "GET /health" in screen_text(app)
        await pilot.press("H")
        await lines_shown(pilot, view, 2)


async def test_w_wraps_long_lines() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    backend.write_log("llama8b/r0", "x" * 250 + "END", "short")
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        screen = await open_logs(pilot)
        view = screen.view
        await lines_shown(pilot, view, 2)
        assert view.virtual_size.height == 2
        assert "END" not in screen_text(app)

        await pilot.press("w")
        await pilot.pause()
        assert view.wrap
        assert view.virtual_size.height > 3
        assert "END" in screen_text(app)
        assert "wrap" in str(view.border_subtitle)
        await pilot.press("w")
        await pilot.pause()
        assert view.virtual_size.height == 2


async def test_s_saves_the_lines_shown_and_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    backend.write_log("llama8b/r0", "alpha", PROBE)
    backend.write_log("llama8b/r1", "beta")
    app = app_for(backend)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await shown(pilot, snapshot)
        screen = await open_logs(pilot)
        await lines_shown(pilot, screen.view, 2)
        await pilot.press("s")
        await until(pilot, lambda: bool(notes.titled("Log saved")))

    saved = list(tmp_path.glob("fleetdeck-logs-llama8b-*.log"))
    assert len(saved) == 1
    assert str(saved[0]) in notes.titled("Log saved")[0].message
    assert sorted(saved[0].read_text().splitlines()) == ["r0 │ alpha", "r1 │ beta"]


async def test_a_stream_that_ends_says_so_and_is_followed_again() -> None:
    snapshot = fleet(llama(replicas=llama().replicas[:1]))
    backend = ScriptedBackend(snapshot)
    backend.write_log("llama8b/r0", "before")
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        screen = LogsScreen(
            "llama8b", backend, deployment=snapshot.deployments[0], flush_s=0.01, resume_s=0.01
        )
        await app.push_screen(screen)
        view = screen.view
        await lines_shown(pilot, view, 1)

        backend.end_log("llama8b/r0")
        await lines_shown(pilot, view, 2)
        assert view.lines[1].text == "── stream ended · resuming ──"
        assert view.lines[1].notice
        await until(pilot, lambda: len(backend.open_streams("llama8b/r0")) == 1)
        assert backend.open_streams("llama8b/r0")[0].tail == 0  # no repeat of the tail

        backend.end_log("llama8b/r0", ConnectionResetError("gpu-a went away"))
        await lines_shown(pilot, view, 3)
        assert "gpu-a went away" in view.lines[2].text
        await until(pilot, lambda: len(backend.open_streams("llama8b/r0")) == 1)
        backend.write_log("llama8b/r0", "after")
        await lines_shown(pilot, view, 4)
        assert view.border_subtitle == "following"
        assert "r0 │ after" in screen_text(app)


async def test_replicas_follow_the_snapshots() -> None:
    first = fleet(llama())
    backend = ScriptedBackend(first)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, first)
        screen = await open_logs(pilot)
        await until(pilot, lambda: len(backend.open_streams()) == 3)

        grown = (
            *llama().replicas[:2],
            ReplicaSnapshot(
                id="llama8b/r3", deployment="llama8b", host="gpu-a", port=8103,
                status=ReplicaStatus.STARTING,
            ),
        )  # fmt: skip
        second = fleet(llama(replicas=grown), taken_at=2.0)
        backend.push(second)
        await shown(pilot, second)
        await until(pilot, lambda: len(backend.open_streams()) == 3)
        assert {s.replica_id for s in backend.open_streams()} == {
            "llama8b/r0", "llama8b/r1", "llama8b/r3",
        }  # fmt: skip
        assert "all 3 replicas" in str(screen.view.border_title)


async def test_the_buffer_and_the_view_stay_bounded() -> None:
    snapshot = fleet(llama(replicas=llama().replicas[:1]))
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        screen = LogsScreen(
            "llama8b", backend, deployment=snapshot.deployments[0], flush_s=0.01, max_lines=50
        )
        await app.push_screen(screen)
        await until(pilot, lambda: len(backend.open_streams()) == 1)
        for batch in range(10):
            backend.write_log("llama8b/r0", *(f"{batch}-{i}" for i in range(30)))
            last = f"{batch}-29"
            await until(pilot, lambda last=last: last in {line.text for line in screen.buffer})  # type: ignore[misc]
        await pilot.pause(0.05)
        assert len(screen.buffer) == 50
        assert len(screen.view.lines) <= 55
        assert screen.view.lines[-1].text == "9-29"
        assert screen.view.scroll_y == screen.view.max_scroll_y


@pytest.mark.parametrize("theme", [FLEETDECK_DARK, FLEETDECK_LIGHT], ids=lambda t: t.name)
def test_every_log_variable_is_defined_by_our_themes(theme: object) -> None:
    assert set(LOG_VARIABLES) <= set(theme.variables)  # type: ignore[attr-defined]


# -- snapshots ----------------------------------------------------------------------------

R0, R1, R2 = "llama8b/r0", "llama8b/r1", "llama8b/r2"
MERGED = [
    (R0, "INFO 05-02 10:00:01 [api_server.py:1090] vLLM API server version 0.33.0"),
    (R1, "INFO 05-02 10:00:02 [api_server.py:1090] vLLM API server version 0.33.0"),
    (R0, "INFO 05-02 10:00:04 [model_runner.py:1110] Loading model weights took 14.99 GiB"),
    (R2, "ERROR 05-02 10:00:05 [core.py:700] CUDA out of memory. Tried to allocate 2.00 GiB"),
    (R1, "INFO 05-02 10:00:08 [model_runner.py:1110] Loading model weights took 14.99 GiB"),
    (R0, "INFO 05-02 10:00:09 [gpu_worker.py:220] Available KV cache memory: 52.31 GiB"),
    (R0, PROBE),
    (R1, "INFO 05-02 10:00:11 [gpu_worker.py:220] Available KV cache memory: 52.30 GiB"),
    (R0, "INFO:     Application startup complete."),
    (R1, SCRAPE),
    (R0, 'INFO:     127.0.0.1:51234 - "POST /v1/chat/completions HTTP/1.1" 200 OK'),
    (R1, "INFO:     Application startup complete."),
]  # fmt: skip


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", [FLEETDECK_DARK.name, FLEETDECK_LIGHT.name])
def test_merged_logs_with_a_search(
    snap_compare: Callable[..., bool], size: tuple[int, int], theme: str
) -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    app.theme = theme

    async def merged_and_searched(pilot: Pilot[None]) -> None:
        await shown(pilot, snapshot)
        screen = await open_logs(pilot)
        await until(pilot, lambda: len(backend.open_streams()) == 3)
        await write_in_order(pilot, backend, screen, MERGED)
        await lines_shown(pilot, screen.view, len(MERGED) - 2)
        await pilot.press("slash", *"kv cache", "enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=merged_and_searched)
