"""The detail screen in depth: its events, inventory entry, replica columns, sparklines,
endpoint and key, the log's paused state, and its layout at 80x24 and 120x40."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Sparkline

from fleetdeck.core.fleet.events import Event, of_deployment
from fleetdeck.core.fleet.snapshot import DeploymentSnapshot, FleetSnapshot, ReplicaStatus
from fleetdeck.core.metrics.history import HISTORY_FIELDS, Histories, history_points
from fleetdeck.themes import FLEETDECK_DARK, FLEETDECK_LIGHT
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.deployment_access import ClientHint
from fleetdeck.tui.screens.deployment import (
    EVENTS,
    HISTORY_EVENTS,
    INVENTORY,
    LOG,
    NO_EVENTS,
    READING,
    DeploymentScreen,
)
from fleetdeck.tui.widgets.deployment_header import header_lines
from fleetdeck.tui.widgets.events_panel import EventsPanel
from fleetdeck.tui.widgets.inventory_panel import InventoryPanel, inventory_lines
from fleetdeck.tui.widgets.log_pane import LogPane
from fleetdeck.tui.widgets.metrics_strip import SERIES, MetricsStrip
from fleetdeck.tui.widgets.replicas_table import ReplicasTable, format_uptime, gpus_text
from tests.tui.fleet_data import fleet, llama, open_detail, screen_text, shown, until
from tests.tui.scripted_backend import ScriptedBackend

HOST_NOW = 1_000_000.0
"""gpu-a's clock at its latest observation; the replicas started on that clock."""

HINT = ClientHint(served_model="llama-8b", has_api_key=True, key_variable="LLAMA_KEY")

ENTRY: dict[str, Any] = {
    "name": "llama8b",
    "model": "meta-llama/Llama-3.1-8B-Instruct",
    "autoscale": {"min": 1, "max": 4},
    "gpus_per_replica": 1,
    "placement": {"labels": {"zone": "us"}},
    "api_key": {"env": "LLAMA_KEY"},
    "idle_timeout": 900.0,
    "endpoint_port": 9100,
    "vllm": {"max_model_len": 8192, "gpu_memory_utilization": 0.9},
}

EVENTS_SEEN = (
    Event(time=3600.0, kind="replica.started", subject="llama8b/r1",
          message="started on gpu-b port 8101 (scale up)"),
    Event(time=3605.0, kind="replica.exited", subject="llama8b/r0",
          message="exited with code 137 on gpu-a (crashed); restart 1", level="warning"),
    Event(time=3610.0, kind="placement.blocked", subject="mistral",
          message="no host with zone=us has 2 free GPUs", level="error"),
    Event(time=3615.0, kind="scale.requested", subject="llama8b",
          message="scale to 3 (by the console)"),
    Event(time=3620.0, kind="replica.started", subject="llama8b-big/r0",
          message="another deployment whose name starts alike"),
)  # fmt: skip


def deep_llama() -> DeploymentSnapshot:
    """llama8b with start times, GPUs and the controller's endpoint."""
    r0, r1, r2 = llama().replicas
    return llama(
        endpoint="http://127.0.0.1:9100/v1",
        replicas=(
            r0.model_copy(update={"started_at": HOST_NOW - 3 * 3600 - 7 * 60,
                                  "gpu_uuids": ("GPU-3f1a2b4c-aaaa", "GPU-9c2b1170-bbbb")}),
            r1.model_copy(update={"started_at": HOST_NOW - 45,
                                  "gpu_uuids": ("GPU-77e0d1c2-cccc",)}),
            r2.model_copy(update={"started_at": HOST_NOW - 600}),
        ),
    )  # fmt: skip


def deep_fleet(
    deployment: DeploymentSnapshot | None = None, taken_at: float = 1.0
) -> FleetSnapshot:
    snapshot = fleet(deployment or deep_llama(), taken_at=taken_at)
    hosts = tuple(
        h.model_copy(update={"observed_at": HOST_NOW}) if h.name == "gpu-a" else h
        for h in snapshot.hosts
    )
    return snapshot.model_copy(update={"hosts": hosts})


def app_for(backend: ScriptedBackend, **kwargs: Any) -> FleetdeckApp:
    return FleetdeckApp(
        backend,
        title="fleetdeck · lab",
        refresh_s=0.01,
        log_flush_s=0.01,
        hints={"llama8b": HINT},
        **kwargs,
    )


def backend_for(snapshot: FleetSnapshot) -> ScriptedBackend:
    backend = ScriptedBackend(snapshot)
    backend.inventory["llama8b"] = ENTRY
    return backend


async def opened(pilot: Pilot[None], snapshot: FleetSnapshot) -> DeploymentScreen:
    await shown(pilot, snapshot)
    screen = await open_detail(pilot)
    await pilot.pause()
    return screen


def cells(table: ReplicasTable, key: str) -> dict[str, str]:
    labels = [label for _key, label in table.COLUMNS]
    return dict(zip(labels, (cell.plain for cell in table.get_row(key)), strict=True))


# -- 1. events ------------------------------------------------------------------------


def test_of_deployment_takes_the_deployment_and_its_replicas_only() -> None:
    accept = of_deployment("llama8b")
    assert [e.subject for e in EVENTS_SEEN if accept(e)] == ["llama8b/r1", "llama8b/r0", "llama8b"]


async def test_e_shows_this_deployments_events_newest_first_and_e_again_the_log() -> None:
    snapshot = deep_fleet()
    backend = backend_for(snapshot)
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await shown(pilot, snapshot)
        for event in EVENTS_SEEN[:3]:  # seen by the app before the screen opens
            backend.emit(event)
        fleet_panel = app.query_one(EventsPanel)
        await until(pilot, lambda: len(fleet_panel.events) == 3)
        screen = await open_detail(pilot)
        for event in EVENTS_SEEN[3:]:  # and after
            backend.emit(event)
        panel = screen.query_one(f"#{EVENTS}", EventsPanel)
        await until(pilot, lambda: len(panel.events) == 3)
        assert [e.subject for e in panel.events] == ["llama8b", "llama8b/r0", "llama8b/r1"]
        assert len(fleet_panel.events) == 5, "the fleet's panel still keeps every event"
        assert screen.shown_panel == LOG

        await pilot.press("e")
        await pilot.pause()
        assert screen.shown_panel == EVENTS
        text = screen_text(app)
        assert "llama8b/r0: exited with code 137 on gpu-a (crashed); restart 1" in text
        assert "mistral" not in text and "llama8b-big" not in text

        await pilot.press("e")
        await pilot.pause()
        assert screen.shown_panel == LOG


async def test_events_start_from_the_journal_then_each_live_event_once() -> None:
    """llama8b's events are older than the fleet's newest 200: the journal still has
    them. One seen live while the journal is read, and again from it, is shown once."""
    snapshot = deep_fleet()
    backend = backend_for(snapshot)
    old = Event(
        time=100.0,
        kind="replica.exited",
        subject="llama8b/r0",
        message="exited with code 1 on gpu-a (crashed); restart 1",
        level="warning",
    )
    backend.journal = [
        old,
        Event(time=90.0, kind="deployment.scaled", subject="llama8b", message="scaled to 3"),
        *(Event(time=1000.0 + n, kind="replica.ready", subject="mistral/r0", message=f"m{n}")
          for n in range(250)),
    ]  # fmt: skip
    backend.history_gate = asyncio.Event()  # a slow journal
    app = app_for(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, snapshot)
        seen_before = Event(time=3000.0, kind="replica.started", subject="llama8b/r1",
                            message="started on gpu-b port 8101")  # fmt: skip
        backend.emit(seen_before)  # the app's, and written to the journal too
        backend.journal.append(seen_before)
        screen = await open_detail(pilot)
        panel = screen.query_one(f"#{EVENTS}", EventsPanel)
        await pilot.press("e")
        await until(pilot, lambda: backend.history_asks == [("llama8b", HISTORY_EVENTS)])
        assert panel.events == (seen_before,)
        during = Event(time=3001.0, kind="replica.ready", subject="llama8b/r1",
                       message="ready on port 8101")  # fmt: skip
        backend.emit(during)  # live while the journal is read, and in what it returns
        backend.journal.append(during)
        await until(pilot, lambda: len(panel.events) == 2)
        backend.history_gate.set()
        await until(pilot, lambda: len(panel.events) == 4)
        await pilot.pause()
        assert [e.time for e in panel.events] == [3001.0, 3000.0, 100.0, 90.0]
        assert "llama8b/r0: exited with code 1 on gpu-a (crashed); restart 1" in screen_text(app)

        later = Event(
            time=3100.0,
            kind="replica.exited",
            subject="llama8b/r1",
            message="exited with code 137 on gpu-b (crashed)",
            level="warning",
        )
        backend.emit(later)
        backend.emit(later)  # the same event twice (told again): shown once
        await until(pilot, lambda: len(panel.events) == 5)
        await pilot.pause()
        assert panel.events[0] == later and panel.events.count(later) == 1
        assert screen_text(app).count("exited with code 137 on gpu-b") == 1
        assert len(backend.history_asks) == 1, "read once, when the screen opened"


async def test_an_empty_or_unreadable_journal_leaves_live_events() -> None:
    snapshot = deep_fleet()
    backend = backend_for(snapshot)
    app = app_for(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, snapshot)
        panel = screen.query_one(f"#{EVENTS}", EventsPanel)
        await until(pilot, lambda: panel.empty == NO_EVENTS)
        assert panel.as_text().plain == NO_EVENTS
        await pilot.press("escape")

        backend.history_error = PermissionError(13, "Permission denied", "events.jsonl")
        screen = await open_detail(pilot)
        panel = screen.query_one(f"#{EVENTS}", EventsPanel)
        await until(pilot, lambda: panel.empty != READING)
        assert "Could not read the event journal: PermissionError" in panel.empty
        backend.emit(EVENTS_SEEN[0])
        await until(pilot, lambda: panel.events == (EVENTS_SEEN[0],))
        assert app.is_running


# -- 2. the inventory entry -------------------------------------------------------------


def test_inventory_lines_are_the_export_toml_with_secrets_as_references() -> None:
    lines = inventory_lines(ENTRY)
    assert lines[:3] == [
        "[[deployments]]",
        'name = "llama8b"',
        'model = "meta-llama/Llama-3.1-8B-Instruct"',
    ]
    assert 'api_key = { env = "LLAMA_KEY" }' in lines
    assert "gpus_per_replica = 1" in lines and "endpoint_port = 9100" in lines
    assert "idle_timeout = 900.0" in lines
    assert "autoscale = { min = 1, max = 4 }" in lines
    assert "vllm = { max_model_len = 8192, gpu_memory_utilization = 0.9 }" in lines
    assert "[deployments.placement]" in lines and 'labels = { zone = "us" }' in lines
    assert not any(line.startswith("#") for line in lines)


async def test_i_shows_the_inventory_entry_asked_of_the_backend_each_time() -> None:
    snapshot = deep_fleet()
    backend = backend_for(snapshot)
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, snapshot)
        assert backend.exports == [], "nothing is asked before the panel opens"
        await pilot.press("i")
        await pilot.pause()
        assert screen.shown_panel == INVENTORY
        panel = screen.query_one(InventoryPanel)
        assert panel.lines == inventory_lines(ENTRY)
        assert 'api_key = { env = "LLAMA_KEY" }' in screen_text(app)

        await pilot.press("i")
        await pilot.pause()
        assert screen.shown_panel == LOG
        del backend.inventory["llama8b"]  # an inventory applied since dropped it
        await pilot.press("i")
        await pilot.pause()
        assert backend.exports == ["llama8b", "llama8b"]
        assert panel.lines == ["fleet.toml: no deployment named 'llama8b': known: none"]
        assert app.is_running


async def test_pageup_and_end_scroll_the_panel_shown() -> None:
    snapshot = deep_fleet()
    backend = backend_for(snapshot)
    app = app_for(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot, snapshot)
        await pilot.press("i")
        await pilot.pause()
        panel = screen.query_one(InventoryPanel)
        assert panel.max_scroll_y > 0, "the entry is taller than its panel at 80x24"
        await pilot.press("end")
        await pilot.pause()
        assert panel.scroll_y == panel.max_scroll_y
        await pilot.press("pageup")
        await pilot.pause()
        assert panel.scroll_y < panel.max_scroll_y


# -- 3. the replicas ------------------------------------------------------------------------


def test_uptime_and_gpus_read_short() -> None:
    assert [format_uptime(s) for s in (None, -1, 45, 12 * 60 + 5, 3 * 3600 + 7 * 60)] == [
        "—", "—", "45s", "12m", "3h07m",
    ]  # fmt: skip
    assert format_uptime(2 * 86400 + 4 * 3600 + 59) == "2d04h"
    assert gpus_text(()) == "—"
    assert gpus_text(("GPU-3f1a2b4c-aaaa",)) == "1 (3f1a2b4c)"
    assert gpus_text(("GPU-3f1a2b4c-aaaa", "GPU-9c2b1170-b")) == "2 (3f1a2b4c,9c2b1170)"
    assert gpus_text(tuple(f"GPU-{i}0000000-x" for i in range(4))) == "4 (00000000,…)"


async def test_replicas_show_uptime_on_the_hosts_clock_gpus_restarts_exit_and_phase() -> None:
    first = deep_fleet()
    later = deep_fleet(taken_at=2.0)
    later = later.model_copy(
        update={"hosts": tuple(
            h.model_copy(update={"observed_at": HOST_NOW + 60}) if h.name == "gpu-a" else h
            for h in later.hosts
        )}
    )  # fmt: skip
    backend = backend_for(first)
    app = app_for(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, first)
        table = screen.query_one(ReplicasTable)
        await until(pilot, lambda: table.row_count == 3)
        assert cells(table, "llama8b/r0") == {
            "Status": "● active", "Replica": "r0", "Host": "gpu-a", "Port": "8100",
            "PID": "4242", "Up": "3h07m", "GPUs": "2 (3f1a2b4c,9c2b1170)", "Phase": "—",
            "Restarts": "1", "Exit": "137", "Reason": "crashed",
        }  # fmt: skip
        # gpu-b has not said its time: no uptime rather than one on our clock.
        assert cells(table, "llama8b/r1")["Up"] == "—"
        assert cells(table, "llama8b/r1")["Phase"] == "loading weights"
        # A failed replica's start is that of a process that is gone.
        assert cells(table, "llama8b/r2")["Up"] == "—"
        assert cells(table, "llama8b/r2")["Reason"] == "out of memory"

        row = table.rows[next(iter(table.rows))]
        backend.push(later)
        await shown(pilot, later)
        assert cells(table, "llama8b/r0")["Up"] == "3h08m", "uptime moves with the snapshots"
        assert table.rows[next(iter(table.rows))] is row, "rows are updated in place"
        assert screen.deployment is not None
        assert screen.deployment.replicas[1].status is ReplicaStatus.STARTING


# -- 4. the metrics ------------------------------------------------------------------------


def test_every_series_has_a_history_in_core() -> None:
    assert {s.history for s in SERIES} == set(HISTORY_FIELDS)
    histories = Histories(capacity=3)
    for _ in range(4):
        histories.push(None)
    values = histories.values()
    assert set(values) == set(HISTORY_FIELDS)
    assert all(points == (0.0, 0.0, 0.0) for points in values.values())
    assert history_points(None) == dict.fromkeys(HISTORY_FIELDS, 0.0)


async def test_metrics_show_seven_figures_with_their_sparklines() -> None:
    snapshot = deep_fleet()
    app = app_for(backend_for(snapshot))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, snapshot)
        strip = screen.query_one(MetricsStrip)
        metrics = llama().metrics
        assert metrics is not None
        for series in SERIES:
            spark = strip.query_one(f"#{series.key}-spark", Sparkline)
            assert tuple(spark.data or ()) == getattr(metrics, series.history)
            assert spark.size.height == 3, "a tall terminal gets taller sparklines"
        text = screen_text(app)
        for figure in ("req/s 4.2", "p50 410ms", "p95 1.32s", "TTFT p95 120ms",
                       "gen tok/s 512", "waiting 1", "KV cache 27%", "running 3"):  # fmt: skip
            assert figure in text


# -- 5. endpoint and key ---------------------------------------------------------------------


def test_header_names_who_serves_the_endpoint_and_where_the_key_is() -> None:
    lines = dict(header_lines(deep_llama(), HINT))
    assert lines["endpoint"] == (
        "http://127.0.0.1:9100/v1 · the controller's endpoint, balanced over the ready replicas"
    )
    assert lines["api key"] == "sk-d…9f3a (in $LLAMA_KEY; the console never holds the value)"
    assert '"Authorization: Bearer $LLAMA_KEY"' in lines["test"]

    direct = dict(header_lines(llama(endpoint=None), HINT))
    assert direct["endpoint"].endswith("llama8b/r0 directly: no controller serves an endpoint yet")

    from_file = ClientHint(served_model="llama-8b", has_api_key=True, key_file="keys/llama")
    assert dict(header_lines(llama(), from_file))["api key"] == (
        "sk-d…9f3a (in the file keys/llama; the console never reads it out)"
    )
    open_hint = ClientHint(served_model="llama-8b", has_api_key=False)
    assert dict(header_lines(llama(api_key_masked=None), open_hint))["api key"] == (
        "none (the endpoint is open)"
    )


# -- 6. the log's follow state --------------------------------------------------------------


async def test_pageup_pauses_the_log_and_says_so_and_end_follows_again() -> None:
    snapshot = deep_fleet()
    backend = backend_for(snapshot)
    backend.write_log("llama8b/r0", *(f"line {i}" for i in range(100)))
    app = app_for(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot, snapshot)
        log = screen.query_one(LogPane)
        table = screen.query_one(ReplicasTable)
        await until(pilot, lambda: log.line_count == 100)
        await pilot.pause()
        assert log.border_subtitle == "following"
        assert table.has_focus

        await pilot.press("pageup")  # the table has focus; the log scrolls all the same
        await pilot.pause()
        assert log.following == "llama8b/r0", "PageUp moved the replicas' cursor"
        assert not log.pinned and log.scroll_y < log.max_scroll_y
        assert log.border_subtitle == "paused · End follows"
        held = log.scroll_y

        backend.write_log("llama8b/r0", "new 1", "new 2")
        await until(pilot, lambda: log.line_count == 102)
        await pilot.pause()
        assert log.scroll_y == held, "new lines moved the view while paused"
        assert log.border_subtitle == "paused · 2 new below · End follows"
        assert "paused · 2 new below" in screen_text(app)

        await pilot.press("end")
        await pilot.pause()
        assert log.pinned and log.scroll_y == log.max_scroll_y
        assert log.border_subtitle == "following"
        backend.write_log("llama8b/r0", "new 3")
        await until(pilot, lambda: log.line_count == 103)
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y


# -- 7. the layout -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_screen_never_scrolls_and_every_panel_fits(size: tuple[int, int]) -> None:
    snapshot = deep_fleet()
    backend = backend_for(snapshot)
    backend.write_log("llama8b/r0", *(f"line {i}" for i in range(50)))
    app = app_for(backend)
    async with app.run_test(size=size) as pilot:
        screen = await opened(pilot, snapshot)
        log = screen.query_one(LogPane)
        await until(pilot, lambda: log.line_count == 50)
        await pilot.pause()
        assert screen.max_scroll_y == 0 and screen.max_scroll_x == 0
        width, height = size
        for widget in (*screen.query("DeploymentHeader, MetricsStrip, ReplicasTable"), log):
            region = widget.region
            assert region.height > 0 and region.bottom <= height - 1, widget  # above the footer
            assert region.right <= width, widget
        assert log.scrollable_content_region.height >= (5 if height == 24 else 15)
        # Every replica row is on screen at 80x24 too.
        text = screen_text(app)
        assert all(f"r{i} " in text for i in range(3))


# -- snapshots ------------------------------------------------------------------------------------

LOG_LINES = (
    "INFO 05-02 10:00:01 [api_server.py:1090] vLLM API server version 0.33.0",
    "INFO 05-02 10:00:04 [model_runner.py:1110] Loading model weights took 14.99 GiB",
    "INFO 05-02 10:00:09 [gpu_worker.py:220] Available KV cache memory: 52.31 GiB",
    "INFO:     Application startup complete.",
    'INFO:     127.0.0.1:51234 - "POST /v1/chat/completions HTTP/1.1" 200 OK',
)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", [FLEETDECK_DARK.name, FLEETDECK_LIGHT.name])
@pytest.mark.parametrize("panel", [LOG, EVENTS, INVENTORY])
def test_detail_screen(
    snap_compare: Callable[..., bool], utc: None, size: tuple[int, int], theme: str, panel: str
) -> None:
    snapshot = deep_fleet()
    backend = backend_for(snapshot)
    backend.write_log("llama8b/r0", *LOG_LINES)
    app = app_for(backend)
    app.theme = theme
    key = {LOG: None, EVENTS: "e", INVENTORY: "i"}[panel]

    async def details(pilot: Pilot[None]) -> None:
        await shown(pilot, snapshot)
        for event in EVENTS_SEEN:
            backend.emit(event)
        screen = await open_detail(pilot)
        log = screen.query_one(LogPane)
        await until(pilot, lambda: log.line_count == len(LOG_LINES))
        if key is not None:
            await pilot.press(key)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=details)
