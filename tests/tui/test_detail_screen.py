"""The detail screen: Enter opens it, it follows snapshots in place, and streams logs."""

from __future__ import annotations

from textual.widgets.data_table import RowKey

from fleetdeck.core.errors import FleetdeckError
from fleetdeck.core.fleet.snapshot import DeploymentStatus, ReplicaStatus
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.deployment_access import ClientHint
from fleetdeck.tui.screens.deployment import DeploymentScreen
from fleetdeck.tui.widgets.deployment_header import DeploymentHeader
from fleetdeck.tui.widgets.log_pane import LogPane
from fleetdeck.tui.widgets.replicas_table import ReplicasTable
from tests.tui.fleet_data import (
    SIZE,
    deployment,
    fleet,
    llama,
    open_detail,
    screen_text,
    shown,
    until,
)
from tests.tui.scripted_backend import ScriptedBackend


def app_for(backend: ScriptedBackend, **kwargs: object) -> FleetdeckApp:
    return FleetdeckApp(backend, title="lab", refresh_s=0.01, log_flush_s=0.01, **kwargs)  # type: ignore[arg-type]


def row(table: ReplicasTable, key: str) -> list[str]:
    return [cell.plain for cell in table.get_row(key)]


async def test_enter_opens_the_details_with_every_replica() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE), llama())
    app = app_for(ScriptedBackend(snapshot))
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await open_detail(pilot, "down", "enter")
        screen = app.screen
        assert isinstance(screen, DeploymentScreen)
        assert screen.deployment_name == "llama8b"
        table = screen.query_one(ReplicasTable)
        await until(pilot, lambda: table.row_count == 3)
        assert row(table, "llama8b/r0") == [
            "● active", "r0", "gpu-a", "8100", "4242", "—", "—", "—", "1", "137", "crashed",
        ]  # fmt: skip
        assert row(table, "llama8b/r1") == [
            "◐ starting", "r1", "gpu-b", "8101", "5151", "—", "—", "loading weights", "0", "—",
            "—",
        ]  # fmt: skip
        assert row(table, "llama8b/r2") == [
            "✖ failed", "r2", "gpu-a", "8102", "—", "—", "—", "—", "3", "1", "out of memory",
        ]  # fmt: skip

        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DeploymentScreen))


async def test_a_replica_given_up_on_shows_its_reason_and_what_its_last_run_said() -> None:
    replicas = list(llama().replicas)
    replicas[2] = replicas[2].model_copy(
        update={
            "reason": "failed at start 2 times in a row: crashed (exit 1)",
            "log_excerpt": ("exited at once with code 1, no output",),
        }
    )
    snapshot = fleet(llama(replicas=tuple(replicas)))
    app = app_for(ScriptedBackend(snapshot))
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await open_detail(pilot)
        table = app.screen.query_one(ReplicasTable)
        await until(pilot, lambda: table.row_count == 3)
        cells = row(table, "llama8b/r2")
        assert cells[0] == "✖ failed"
        assert cells[-1] == (
            "failed at start 2 times in a row: crashed (exit 1)"
            " — exited at once with code 1, no output"
        )


async def test_replica_rows_are_updated_in_place_per_snapshot() -> None:
    first = fleet(llama())
    replicas = list(llama().replicas)
    replicas[1] = replicas[1].model_copy(
        update={"status": ReplicaStatus.ACTIVE, "phase": None, "healthy": True}
    )
    second = fleet(
        llama(replicas=tuple(replicas[:2]), ready=2, desired=2, status=DeploymentStatus.ACTIVE),
        taken_at=2.0,
    )
    backend = ScriptedBackend(first)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, first)
        await open_detail(pilot)
        table = app.screen.query_one(ReplicasTable)
        await until(pilot, lambda: table.row_count == 3)
        r0 = table.rows[RowKey("llama8b/r0")]

        backend.push(second)
        await shown(pilot, second)
        assert [key.value for key in table.rows] == ["llama8b/r0", "llama8b/r1"]
        assert table.rows[RowKey("llama8b/r0")] is r0, "the row was re-added instead of updated"
        assert row(table, "llama8b/r1")[0] == "● active"
        assert row(table, "llama8b/r1")[7] == "—", "a ready replica shows no loading phase"
        header = app.screen.query_one(DeploymentHeader)
        assert header.deployment is not None and header.deployment.ready == 2


async def test_header_shows_endpoint_masked_key_and_a_test_command_without_the_key() -> None:
    snapshot = fleet(llama(endpoint=None))
    hint = ClientHint(served_model="llama-8b", has_api_key=True, key_variable="LLAMA_KEY")
    app = app_for(ScriptedBackend(snapshot), hints={"llama8b": hint})
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await open_detail(pilot)
        await pilot.pause()
        text = screen_text(app)
        # The first ready replica is r0 on port 8100.
        assert "endpoint  http://127.0.0.1:8100/v1" in text
        assert "api key   sk-d…9f3a (in $LLAMA_KEY; the console never holds the value)" in text
        assert "test      curl -s http://127.0.0.1:8100/v1/chat/completions" in text
        assert "$LLAMA_KEY" in text

        await pilot.press("c")  # the whole command, as it wraps on screen
        await until(pilot, lambda: bool(app.clipboard))
        assert app.clipboard == (
            "curl -s http://127.0.0.1:8100/v1/chat/completions"
            ' -H "Authorization: Bearer $LLAMA_KEY"'
            " -H 'Content-Type: application/json'"
            """ -d '{"model":"llama-8b","messages":[{"role":"user","content":"hello"}],"""
            """"max_tokens":16}'"""
        )


async def test_logs_stream_into_the_pane_from_the_tail_on() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    backend.write_log("llama8b/r0", *(f"old line {i}" for i in range(300)))
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await open_detail(pilot)
        log = app.screen.query_one(LogPane)
        await until(pilot, lambda: log.line_count == 200)
        assert backend.streams[0].replica_id == "llama8b/r0"
        assert backend.streams[0].tail == 200
        assert log.lines[0] == "old line 100"

        backend.write_log(
            "llama8b/r0", "INFO: Application startup complete.", "\x1b[32mGET /health 200\x1b[0m"
        )
        await until(pilot, lambda: log.line_count == 202)
        assert log.lines[-2:] == ["INFO: Application startup complete.", "GET /health 200"]


async def test_a_flood_of_lines_is_written_in_batches_and_stays_bounded() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await open_detail(pilot)
        log = app.screen.query_one(LogPane)
        await until(pilot, lambda: bool(backend.open_streams("llama8b/r0")))
        batches: list[int] = []
        write_lines = log.write_lines

        def counting(lines, scroll_end=None):  # type: ignore[no-untyped-def]
            batches.append(len(lines))
            return write_lines(lines, scroll_end)

        log.write_lines = counting  # type: ignore[method-assign]
        backend.write_log("llama8b/r0", *(f"line {i}" for i in range(5000)))
        await until(pilot, lambda: sum(batches) == 5000)
        assert len(batches) < 10, f"{len(batches)} writes for one burst"
        assert log.line_count == 2000
        assert log.lines[-1] == "line 4999"


async def test_moving_to_another_replica_switches_the_stream() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    backend.write_log("llama8b/r0", "from r0")
    backend.write_log("llama8b/r1", "from r1")
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await open_detail(pilot)
        log = app.screen.query_one(LogPane)
        await until(pilot, lambda: log.lines == ["from r0"])

        await pilot.press("down")
        await until(pilot, lambda: log.lines == ["from r1"])
        await until(pilot, lambda: not backend.open_streams("llama8b/r0"))
        assert log.border_title == "Log · llama8b/r1"
        backend.write_log("llama8b/r0", "late r0 line")
        backend.write_log("llama8b/r1", "new r1 line")
        await until(pilot, lambda: log.line_count == 2)
        assert log.lines == ["from r1", "new r1 line"]

        await pilot.press("escape")
        await until(pilot, lambda: not backend.open_streams())


async def test_a_stream_that_ends_or_fails_leaves_a_notice_not_a_crash() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await open_detail(pilot)
        log = app.screen.query_one(LogPane)
        await until(pilot, lambda: bool(backend.open_streams("llama8b/r0")))

        backend.end_log("llama8b/r0")
        await until(pilot, lambda: log.line_count == 1)
        assert "the log stream ended" in log.lines[0]
        assert log.border_subtitle == "not following"

        await pilot.press("enter")  # follows the same replica again
        await until(pilot, lambda: bool(backend.open_streams("llama8b/r0")))
        error = FleetdeckError("lost the log of llama8b/r0", "gpu-a closed the channel")
        backend.end_log("llama8b/r0", error)
        await until(pilot, lambda: log.line_count == 1 and "lost" in log.lines[0])
        assert "lost the log of llama8b/r0: gpu-a closed the channel" in log.lines[0]
        assert app.is_running


async def test_a_deployment_that_leaves_the_fleet_keeps_its_last_state() -> None:
    first = fleet(llama())
    second = fleet(deployment("alpha", DeploymentStatus.ACTIVE), taken_at=2.0)
    backend = ScriptedBackend(first)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, first)
        await open_detail(pilot)
        backend.push(second)
        await shown(pilot, second)
        header = app.screen.query_one(DeploymentHeader)
        assert header.border_subtitle == "no longer in the fleet: showing its last state"
        assert app.screen.query_one(ReplicasTable).row_count == 3


async def test_the_log_keeps_following_its_end_when_the_pane_shrinks() -> None:
    # A replica more in the table above makes the log pane shorter; its view must stay
    # on the newest line (seen on the demo during a rolling restart), unless the user
    # scrolled back to read.
    one = fleet(llama(replicas=llama().replicas[:1]))
    three = fleet(llama(), taken_at=2.0)
    backend = ScriptedBackend(one)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, one)
        await open_detail(pilot)
        log = app.screen.query_one(LogPane)
        await until(pilot, lambda: bool(backend.open_streams("llama8b/r0")))
        backend.write_log("llama8b/r0", *(f"line {i}" for i in range(100)))
        await until(pilot, lambda: log.line_count == 100)
        await pilot.pause()
        height = log.size.height

        backend.push(three)
        await shown(pilot, three)
        await until(pilot, lambda: log.size.height < height)
        backend.write_log("llama8b/r0", "newest")
        await until(pilot, lambda: log.line_count == 101)
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y

        log.scroll_to(y=10, animate=False, immediate=True)  # the user reads back
        backend.write_log("llama8b/r0", "one more")
        await until(pilot, lambda: log.line_count == 102)
        await pilot.pause()
        assert log.scroll_y == 10, "new lines yanked the user away from what they read"
