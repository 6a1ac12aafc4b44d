"""The fleet screen as a user sees it: pilot-driven, fed by a small but real backend."""

from __future__ import annotations

from rich.style import Style
from textual.color import Color
from textual.message import Message
from textual.notifications import Notify
from textual.widgets.data_table import RowKey

from fleetdeck.core.fleet.snapshot import DeploymentStatus
from fleetdeck.themes import FLEETDECK_DARK, FLEETDECK_LIGHT
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.messages import DeploymentSelected
from fleetdeck.tui.widgets.deployments_table import DeploymentsTable
from fleetdeck.tui.widgets.hosts_table import HostsTable
from tests.tui.fleet_data import SIZE, deployment, fleet, shown, until
from tests.tui.scripted_backend import ScriptedBackend as ScriptedSource


def status_text(app: FleetdeckApp, name: str) -> str:
    return app.query_one(DeploymentsTable).get_cell(name, "status").plain


async def test_loading_deployment_turns_active_in_the_same_row() -> None:
    loading = fleet(deployment("llama8b", DeploymentStatus.LOADING, ready=0))
    active = fleet(deployment("llama8b", DeploymentStatus.ACTIVE), taken_at=2.0)
    source = ScriptedSource(loading)
    app = FleetdeckApp(source, title="fleetdeck · lab", refresh_s=0.01)
    # Wide enough for the Endpoint column, which gives way first on a narrower terminal.
    async with app.run_test(size=(160, 30)) as pilot:
        await shown(pilot, loading)
        table = app.query_one(DeploymentsTable)
        assert status_text(app, "llama8b") == "◐ loading"
        assert table.get_cell("llama8b", "ready").plain == "0/1"
        row = table.rows[RowKey("llama8b")]

        source.push(active)
        await shown(pilot, active)
        assert status_text(app, "llama8b") == "● active"
        assert table.get_cell("llama8b", "ready").plain == "1/1"
        assert table.get_cell("llama8b", "endpoint").plain == "http://127.0.0.1:9700/v1"
        assert table.row_count == 1
        assert table.rows[RowKey("llama8b")] is row, "the row was re-added instead of updated"


async def test_rows_follow_deployments_appearing_and_disappearing() -> None:
    first = fleet(
        deployment("alpha", DeploymentStatus.ACTIVE), deployment("beta", DeploymentStatus.IDLE)
    )
    second = fleet(
        deployment("beta", DeploymentStatus.IDLE),
        deployment("gamma", DeploymentStatus.LOADING, ready=0, hosts=("gpu-a", "gpu-b")),
        taken_at=2.0,
    )
    source = ScriptedSource(first)
    app = FleetdeckApp(source, title="lab", refresh_s=0.01)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, first)
        table = app.query_one(DeploymentsTable)
        beta_row = table.rows[RowKey("beta")]

        source.push(second)
        await shown(pilot, second)
        assert [key.value for key in table.rows] == ["beta", "gamma"]
        assert table.rows[RowKey("beta")] is beta_row
        assert table.get_cell("gamma", "hosts").plain == "gpu-a, gpu-b"
        assert status_text(app, "gamma") == "◐ loading"


async def test_hosts_table_shows_state_gpus_and_load() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    app = FleetdeckApp(ScriptedSource(snapshot), title="lab", refresh_s=0.01)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        hosts = app.query_one(HostsTable)
        assert [cell.plain for cell in hosts.get_row("gpu-a")] == [
            "gpu-a",
            "● up",
            "2",
            "2× H100 51°C 37%",
            "12%",
            "0.42",
        ]
        assert [cell.plain for cell in hosts.get_row("gpu-b")] == [
            "gpu-b",
            "✖ unreachable",
            "0",
            "—",
            "—",
            "—",
        ]
        assert app.sub_title == "1/1 deployments up · 1/2 hosts up"


async def test_status_colour_follows_the_theme() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.DEGRADED))
    app = FleetdeckApp(ScriptedSource(snapshot), title="lab", refresh_s=0.01)

    def colour_of(theme_variables: dict[str, str]) -> Style:
        return Style(color=Color.parse(theme_variables["status-degraded"]).rich_color)

    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        cell = app.query_one(DeploymentsTable).get_cell("alpha", "status")
        assert cell.style == colour_of(FLEETDECK_DARK.variables)

        await pilot.press("t")
        await until(pilot, lambda: app.theme == FLEETDECK_LIGHT.name)
        await pilot.pause()
        cell = app.query_one(DeploymentsTable).get_cell("alpha", "status")
        assert cell.style == colour_of(FLEETDECK_LIGHT.variables)
        assert colour_of(FLEETDECK_LIGHT.variables) != colour_of(FLEETDECK_DARK.variables)


async def test_q_quits_and_releases_the_stream() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    source = ScriptedSource(snapshot)
    app = FleetdeckApp(source, title="lab", refresh_s=0.01)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
    assert app.return_code == 0
    assert source.snapshots_closed


async def test_stream_failure_is_reported_and_the_app_keeps_running() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    source = ScriptedSource(snapshot, ConnectionError("gpu-a closed the SSH connection"))
    notes: list[Notify] = []

    def hook(message: Message) -> None:
        if isinstance(message, Notify):
            notes.append(message)

    app = FleetdeckApp(source, title="lab", refresh_s=0.01)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await until(pilot, lambda: bool(notes))
        note = notes[0].notification
        assert note.title == "Fleet updates stopped"
        assert note.severity == "error"
        assert "ConnectionError: gpu-a closed the SSH connection" in note.message
        assert app.is_running
        assert status_text(app, "alpha") == "● active"
        assert app.sub_title == "not updating: showing the last snapshot"


async def test_enter_on_a_row_posts_deployment_selected() -> None:
    snapshot = fleet(
        deployment("alpha", DeploymentStatus.ACTIVE), deployment("beta", DeploymentStatus.IDLE)
    )
    # The hook sees a bubbling message once per widget it passes through: key by identity.
    selected: dict[int, str] = {}

    def hook(message: Message) -> None:
        if isinstance(message, DeploymentSelected):
            selected[id(message)] = message.name

    app = FleetdeckApp(ScriptedSource(snapshot), title="lab", refresh_s=0.01)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await shown(pilot, snapshot)
        app.query_one(DeploymentsTable).focus()
        await pilot.press("down", "enter")
        await until(pilot, lambda: bool(selected))
    assert list(selected.values()) == ["beta"]


async def test_only_the_focused_table_shows_a_cursor() -> None:
    # An unfocused cursor row would hide its status colours for no benefit.
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    app = FleetdeckApp(ScriptedSource(snapshot), title="lab", refresh_s=0.01)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        deployments, hosts = app.query_one(DeploymentsTable), app.query_one(HostsTable)
        assert (deployments.has_focus, deployments.show_cursor, hosts.show_cursor) == (
            True,
            True,
            False,
        )
        await pilot.press("tab")
        assert (hosts.has_focus, hosts.show_cursor, deployments.show_cursor) == (True, True, False)
