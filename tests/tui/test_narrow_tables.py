"""Every table fits its panel: at 80x24 none scrolls sideways (low-priority columns give
way, KeyedTable.DROP_ORDER), and at 180 columns every column is there (since its cost
column, the fleet table with a 32-character model name and an endpoint is over 160 wide).

The fleets are the fixed ones of the snapshot tests: tests/tui/host_data.py for the
hosts screens, the fleet of tests/tui/test_snapshots.py for the fleet and a deployment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.screens.deployment import DeploymentScreen
from fleetdeck.tui.widgets.deployments_table import DeploymentsTable
from fleetdeck.tui.widgets.gpu_processes_table import GpuProcessesTable
from fleetdeck.tui.widgets.gpu_table import GpuTable
from fleetdeck.tui.widgets.host_list_table import HostListTable
from fleetdeck.tui.widgets.hosts_table import HostsTable
from fleetdeck.tui.widgets.keyed_table import KeyedTable
from fleetdeck.tui.widgets.replicas_table import ReplicasTable
from fleetdeck.tui.widgets.routes_table import RoutesTable
from tests.tui.fleet_data import open_detail, shown, until
from tests.tui.host_data import host_fleet
from tests.tui.scripted_backend import ScriptedBackend
from tests.tui.test_hosts_screen import open_host, open_hosts
from tests.tui.test_routes_screen import open_routes, routed_fleet
from tests.tui.test_snapshots import the_fleet

SIZES = [(80, 24), (120, 40), (180, 40)]
SIZE_IDS = ["80x24", "120x40", "180x40"]


def all_columns(table: KeyedTable) -> list[str]:
    """Every column a wide terminal shows: all but the narrow stand-ins."""
    stand_ins = set(table.STAND_INS.values())
    return [key for key, _label in table.COLUMNS if key not in stand_ins]


def assert_fits(table: KeyedTable) -> None:
    name = type(table).__name__
    assert table.virtual_size.width <= table.scrollable_content_region.width, (
        f"{name} is {table.virtual_size.width} wide in {table.scrollable_content_region.width}:"
        f" {table.shown_columns()}"
    )
    assert table.max_scroll_x == 0, name
    # What is left out is only ever what may be, and the order of the rest is kept.
    kept = table.shown_columns()
    assert set(all_columns(table)) - set(kept) <= set(table.DROP_ORDER), name
    columns = [key for key, _label in table.COLUMNS]
    assert kept == [key for key in columns if key in kept], name
    for key, stand_in in table.STAND_INS.items():
        assert not (key in kept and stand_in in kept), f"{name}: {key} twice"


async def settled(pilot: Pilot[None]) -> None:
    # A dropped column takes the horizontal scrollbar with it, and a table of auto
    # height resizes once more: let that layout run.
    for _ in range(3):
        await pilot.pause()


async def fleet_tables(pilot: Pilot[None], snapshot: FleetSnapshot) -> list[KeyedTable]:
    await shown(pilot, snapshot)
    await settled(pilot)
    return [pilot.app.query_one(DeploymentsTable), pilot.app.query_one(HostsTable)]


async def hosts_tables(pilot: Pilot[None], _snapshot: FleetSnapshot) -> list[KeyedTable]:
    await shown(pilot, _snapshot)
    screen = await open_hosts(pilot)
    await settled(pilot)
    return [screen.query_one(HostListTable)]


async def host_detail_tables(pilot: Pilot[None], snapshot: FleetSnapshot) -> list[KeyedTable]:
    await shown(pilot, snapshot)
    await open_hosts(pilot)
    screen = await open_host(pilot)  # gpu-a: a hot GPU, a foreign process on it
    await until(pilot, lambda: screen.query_one(GpuProcessesTable).row_count == 3)
    await settled(pilot)
    return [screen.query_one(GpuTable), screen.query_one(GpuProcessesTable)]


async def deployment_tables(pilot: Pilot[None], snapshot: FleetSnapshot) -> list[KeyedTable]:
    await shown(pilot, snapshot)
    screen = await open_detail(pilot)  # llama8b: a replica active, starting, failed
    assert isinstance(screen, DeploymentScreen)
    table = screen.query_one(ReplicasTable)
    await until(pilot, lambda: table.row_count == 3)
    await settled(pilot)
    return [table]


async def routes_tables(pilot: Pilot[None], snapshot: FleetSnapshot) -> list[KeyedTable]:
    await shown(pilot, snapshot)
    screen = await open_routes(pilot)  # chat: two backends and a shadow; code: routed
    await settled(pilot)
    return [screen.query_one(RoutesTable)]


OpenScreen = Callable[[Pilot[None], FleetSnapshot], Awaitable[list[KeyedTable]]]

SCREENS: list[tuple[OpenScreen, Callable[[], FleetSnapshot]]] = [
    (fleet_tables, the_fleet),
    (hosts_tables, host_fleet),
    (host_detail_tables, host_fleet),
    (deployment_tables, the_fleet),
    (routes_tables, routed_fleet),
]
SCREEN_IDS = ["fleet", "hosts", "host-detail", "deployment", "routes"]


def an_app(snapshot: FleetSnapshot) -> FleetdeckApp:
    return FleetdeckApp(ScriptedBackend(snapshot), title="fleetdeck · lab", refresh_s=0.01)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize(("open_screen", "data"), SCREENS, ids=SCREEN_IDS)
async def test_no_table_scrolls_sideways(
    open_screen: OpenScreen, data: Callable[[], FleetSnapshot], size: tuple[int, int]
) -> None:
    snapshot = data()
    app = an_app(snapshot)
    async with app.run_test(size=size) as pilot:
        tables = await open_screen(pilot, snapshot)
        for table in tables:
            assert_fits(table)
            if size[0] >= 180:
                assert table.shown_columns() == all_columns(table), type(table).__name__


@pytest.mark.parametrize(("open_screen", "data"), SCREENS, ids=SCREEN_IDS)
async def test_columns_give_way_at_80_and_come_back_when_wider(
    open_screen: OpenScreen, data: Callable[[], FleetSnapshot]
) -> None:
    snapshot = data()
    app = an_app(snapshot)
    async with app.run_test(size=(180, 40)) as pilot:
        tables = await open_screen(pilot, snapshot)
        full = {table: [cell.plain for cell in table.get_row_at(0)] for table in tables}
        await pilot.resize_terminal(80, 24)
        await settled(pilot)
        for table in tables:
            assert_fits(table)
        await pilot.resize_terminal(180, 40)
        await settled(pilot)
        for table in tables:
            assert table.shown_columns() == all_columns(table)
            assert [cell.plain for cell in table.get_row_at(0)] == full[table], (
                "a column that came back is filled at once"
            )


async def test_what_80_columns_keep() -> None:
    """What matters is still there at 80x24; what gives way is on a detail screen."""
    hosts = host_fleet()
    app = an_app(hosts)
    async with app.run_test(size=(80, 24)) as pilot:
        (host_list,) = await hosts_tables(pilot, hosts)
        assert host_list.shown_columns() == [
            "name", "state", "gpus", "util", "gpu_mem", "mem", "lease_owner",
        ]  # fmt: skip
        assert host_list.get_cell("gpu-a", "lease_owner").plain == "alice@laptop"
    fleet = the_fleet()
    app = an_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        deployments, fleet_hosts = await fleet_tables(pilot, fleet)
        assert deployments.shown_columns() == ["status", "name", "ready", "rate", "p95", "hosts"]
        assert fleet_hosts.shown_columns() == all_columns(fleet_hosts)
        (replicas,) = await deployment_tables(pilot, fleet)
        assert replicas.shown_columns() == [
            "status", "id", "host", "uptime", "phase", "restarts", "exit", "reason",
        ]  # fmt: skip
    routed = routed_fleet()
    app = an_app(routed)
    async with app.run_test(size=(80, 24)) as pilot:
        (routes,) = await routes_tables(pilot, routed)
        # The arms' numbers stay; URL and policy are the endpoint's, shown in `status`.
        assert routes.shown_columns() == [
            "endpoint", "backend", "weight", "requests", "errors", "p50", "p95", "ttft", "tokens",
        ]  # fmt: skip


class Three(KeyedTable):
    COLUMNS: ClassVar = (("name", "Name"), ("a", "A"), ("b", "B"), ("short_b", "B"))
    DROP_ORDER: ClassVar = ("b", "short_b", "a")
    STAND_INS: ClassVar = {"b": "short_b"}


class OneTable(App[None]):
    CSS = "Three { width: 1fr; }"

    def compose(self) -> ComposeResult:
        yield Three()


async def test_drop_order_first_goes_first_and_the_rest_stay_in_place() -> None:
    app = OneTable()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(Three)

        async def show(a: int, b: int) -> list[str]:
            # Each column is its text plus one cell of padding either side.
            cells = ("x" * 10, "a" * a, "b" * b, "s" * 4)
            table.sync_rows({"x": [Text(cell) for cell in cells]})
            await settled(pilot)
            return table.shown_columns()

        assert await show(10, 10) == ["name", "a", "b"], "36 of 40: the stand-in stays out"
        assert await show(10, 20) == ["name", "a", "short_b"], "b, the first to give way"
        assert await show(22, 20) == ["name", "a"], "then b's stand-in"
        assert await show(30, 20) == ["name"]
        assert await show(10, 10) == ["name", "a", "b"], "back, in their places"
        assert [cell.plain for cell in table.get_row("x")] == ["x" * 10, "a" * 10, "b" * 10]
        # Back and forth by a cell or two: a column comes back with cells to spare only.
        assert await show(10, 15) == ["name", "a", "short_b"], "41 of 40"
        assert await show(10, 14) == ["name", "a", "short_b"], "40 of 40, none to spare"
        assert await show(10, 12) == ["name", "a", "b"], "38 of 40"
        assert await show(10, 15) == ["name", "a", "short_b"]
        await pilot.resize_terminal(41, 10)
        await settled(pilot)
        assert table.shown_columns() == ["name", "a", "b"], "a new size: all that fits"
