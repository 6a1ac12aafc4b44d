"""The console as a user sees it: pilot-driven, fed by a small but real SnapshotSource."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence

from rich.style import Style
from textual.color import Color
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets.data_table import RowKey

from core.snapshot import (
    DeploymentSnapshot,
    DeploymentStatus,
    FleetSnapshot,
    GpuSnapshot,
    HostSnapshot,
    HostState,
    ReplicaSnapshot,
    ReplicaStatus,
)
from themes import FLEETDECK_DARK, FLEETDECK_LIGHT
from tui.app import FleetdeckApp
from tui.messages import DeploymentSelected
from tui.widgets.deployments_table import DeploymentsTable
from tui.widgets.hosts_table import HostsTable

SIZE = (100, 30)


class ScriptedSource:
    """Yields the snapshots (or raises the errors) it is given, in order, then idles."""

    def __init__(self, *items: FleetSnapshot | Exception) -> None:
        self._queue: asyncio.Queue[FleetSnapshot | Exception] = asyncio.Queue()
        self.closed = False
        for item in items:
            self.push(item)

    def push(self, item: FleetSnapshot | Exception) -> None:
        self._queue.put_nowait(item)

    async def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]:
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self.closed = True


def deployment(
    name: str, status: DeploymentStatus, *, ready: int = 1, hosts: Sequence[str] = ("gpu-a",)
) -> DeploymentSnapshot:
    replica_status = ReplicaStatus.ACTIVE if ready else ReplicaStatus.STARTING
    replicas = tuple(
        ReplicaSnapshot(
            id=f"{name}/r{i}", deployment=name, host=host, port=8100 + i, status=replica_status
        )
        for i, host in enumerate(hosts)
    )
    endpoint = f"http://127.0.0.1:9{len(name)}00/v1" if ready else None
    return DeploymentSnapshot(
        name=name,
        model=f"org/{name}-instruct",
        status=status,
        desired=len(hosts),
        ready=ready,
        replicas=replicas,
        endpoint=endpoint,
    )


def h100_host(name: str, state: HostState = HostState.UP) -> HostSnapshot:
    gpus = tuple(
        GpuSnapshot(
            index=i,
            uuid=f"GPU-{name}-{i}",
            name="NVIDIA H100 80GB HBM3",
            temperature_c=51 - 4 * i,
            utilization_pct=40 - 6 * i,
        )
        for i in range(2)
    )
    return HostSnapshot(
        name=name, address="10.0.0.11", state=state, gpus=gpus, cpu_pct=12.4, load_1m=0.42
    )


def fleet(*deployments: DeploymentSnapshot, taken_at: float = 1.0) -> FleetSnapshot:
    hosts = (
        h100_host("gpu-a"),
        HostSnapshot(name="gpu-b", address="10.0.0.12", state=HostState.UNREACHABLE),
    )
    return FleetSnapshot(fleet="lab", taken_at=taken_at, hosts=hosts, deployments=deployments)


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the app did not get there in time"
        await pilot.pause(0.01)


async def shown(pilot: Pilot[None], snapshot: FleetSnapshot) -> None:
    app = pilot.app
    assert isinstance(app, FleetdeckApp)
    await until(pilot, lambda: app.snapshot is snapshot)
    await pilot.pause()


def status_text(app: FleetdeckApp, name: str) -> str:
    return app.query_one(DeploymentsTable).get_cell(name, "status").plain


async def test_loading_deployment_turns_active_in_the_same_row() -> None:
    loading = fleet(deployment("llama8b", DeploymentStatus.LOADING, ready=0))
    active = fleet(deployment("llama8b", DeploymentStatus.ACTIVE), taken_at=2.0)
    source = ScriptedSource(loading)
    app = FleetdeckApp(source, title="fleetdeck · lab", refresh_s=0.01)
    async with app.run_test(size=SIZE) as pilot:
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
    assert source.closed


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


class TestScreen:
    """SVG snapshots: fixed data, no clock, no spinner, so they are byte-stable."""

    def test_fleet_at_80x24(self, snap_compare: Callable[..., bool]) -> None:
        snapshot = FleetSnapshot(
            fleet="lab",
            taken_at=1.0,
            hosts=(
                h100_host("gpu-a"),
                HostSnapshot(name="gpu-b", address="10.0.0.12", state=HostState.CONNECTING),
                HostSnapshot(name="gpu-c", address="10.0.0.13", state=HostState.UNREACHABLE),
            ),
            deployments=(
                deployment("llama8b", DeploymentStatus.ACTIVE, ready=2, hosts=("gpu-a", "gpu-b")),
                deployment("qwen", DeploymentStatus.LOADING, ready=0),
                deployment("mistral", DeploymentStatus.DEGRADED, hosts=("gpu-a", "gpu-c")),
                deployment("embed", DeploymentStatus.FAILED, ready=0),
                deployment("phi", DeploymentStatus.IDLE),
                deployment("gpt2", DeploymentStatus.STOPPED, ready=0, hosts=()),
            ),
        )
        app = FleetdeckApp(ScriptedSource(snapshot), title="fleetdeck · lab", refresh_s=0.01)

        async def first_snapshot_shown(pilot: Pilot[None]) -> None:
            await shown(pilot, snapshot)

        assert snap_compare(app, terminal_size=(80, 24), run_before=first_snapshot_shown)


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
