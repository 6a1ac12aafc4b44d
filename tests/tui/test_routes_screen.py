"""The routes screen (`R`, `:routes`): every [[endpoints]] endpoint's backends and shadow
with their numbers side by side, following the fleet; and the detail screen's `router`
line for a deployment that is a backend. SVG snapshots at 80x24 and 120x40."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Static

from fleetdeck.core.fleet.snapshot import DeploymentStatus, EndpointSnapshot, FleetSnapshot
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.screens.routes import NO_ENDPOINTS, RoutesScreen
from fleetdeck.tui.widgets.deployment_header import DeploymentHeader, header_lines
from fleetdeck.tui.widgets.routes_table import RoutesTable, route_line, routes_to
from tests.tui.fleet_data import (
    chat_endpoint,
    deployment,
    fleet,
    llama,
    open_detail,
    routed_endpoints,
    screen_text,
    shown,
    until,
)
from tests.tui.scripted_backend import ScriptedBackend


def routed_fleet(llama_requests: int = 812, taken_at: float = 1.0) -> FleetSnapshot:
    return fleet(
        llama(),
        deployment("mistral", DeploymentStatus.ACTIVE, hosts=("gpu-a", "gpu-b")),
        deployment("phi", DeploymentStatus.IDLE),
        taken_at=taken_at,
    ).model_copy(update={"endpoints": routed_endpoints(llama_requests)})


def an_app(backend: ScriptedBackend) -> FleetdeckApp:
    return FleetdeckApp(backend, title="fleetdeck · lab", refresh_s=0.01)


async def open_routes(pilot: Pilot[None]) -> RoutesScreen:
    await pilot.press("R")
    await until(pilot, lambda: isinstance(pilot.app.screen, RoutesScreen))
    screen = pilot.app.screen
    assert isinstance(screen, RoutesScreen)
    await pilot.pause()
    return screen


def row(table: RoutesTable, key: str) -> list[str]:
    return [cell.plain for cell in table.get_row(key)]


async def test_routes_shows_every_arm_with_its_numbers_and_leaves_own_endpoints_out() -> None:
    snapshot = routed_fleet()
    app = an_app(ScriptedBackend(snapshot))
    async with app.run_test(size=(180, 40)) as pilot:
        await shown(pilot, snapshot)
        table = (await open_routes(pilot)).query_one(RoutesTable)
        assert [str(key.value) for key in table.rows] == [
            "chat/backend/llama8b", "chat/backend/mistral", "chat/shadow/phi",
            "code/backend/phi", "code/backend/mistral",
        ]  # fmt: skip
        assert row(table, "chat/backend/llama8b") == [
            "chat", "http://127.0.0.1:9000/v1", "least_outstanding", "llama8b", "90",
            "812", "3", "120ms", "240ms", "41ms", "55.2",
        ]  # fmt: skip
        # The second arm under the first: the endpoint's own columns are not repeated.
        assert row(table, "chat/backend/mistral") == [
            "", "", "", "mistral", "10", "90", "0", "180ms", "1.35s", "62ms", "48.7",
        ]  # fmt: skip
        # The shadow: its fraction, and the copies sent as its requests.
        assert row(table, "chat/shadow/phi")[3:7] == ["shadow phi", "20%", "180", "1"]
        # A route set: all to mistral, the weights no longer apply; no numbers yet is "—".
        assert row(table, "code/backend/mistral")[4] == "routed"
        assert row(table, "code/backend/phi")[4:] == ["0", "40", "0", "—", "—", "—", "—"]
        assert table.border_subtitle == "2 endpoints"
        assert not app.screen.query_one("#routes-empty", Static).display


async def test_routes_follow_a_new_snapshot() -> None:
    first = routed_fleet()
    backend = ScriptedBackend(first)
    app = an_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, first)
        table = (await open_routes(pilot)).query_one(RoutesTable)
        assert table.get_cell("chat/backend/llama8b", "requests").plain == "812"
        second = routed_fleet(llama_requests=900, taken_at=2.0)
        # `code` is gone from the inventory: its rows go with it.
        second = second.model_copy(update={"endpoints": (chat_endpoint(900),)})
        backend.push(second)
        await shown(pilot, second)
        assert table.get_cell("chat/backend/llama8b", "requests").plain == "900"
        assert table.row_count == 3
        assert table.border_subtitle == "1 endpoint"


async def test_without_endpoints_it_says_where_to_read_about_them() -> None:
    snapshot = fleet(llama())
    app = an_app(ScriptedBackend(snapshot))
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, snapshot)
        app.run_command_line("routes")
        await until(pilot, lambda: isinstance(app.screen, RoutesScreen))
        await pilot.pause()
        assert app.screen.query_one("#routes-empty", Static).display
        assert not app.screen.query_one(RoutesTable).display
        text = " ".join(screen_text(app).split())
        assert "No [[endpoints]] are defined" in text
        assert "Endpoints: a router in front of your deployments" in text
        assert "Endpoints: a router in front of your deployments" in NO_ENDPOINTS
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, RoutesScreen))


def test_router_lines_name_each_endpoint_that_routes_to_the_deployment() -> None:
    endpoints = routed_endpoints()
    phi = deployment("phi", DeploymentStatus.IDLE)
    phi_lines = [v for label, v in header_lines(phi, None, tuple(routes_to("phi", endpoints)))
                 if label == "router"]  # fmt: skip
    assert phi_lines[0].startswith("chat (http://127.0.0.1:9000/v1): shadow 20% · 180 req")
    assert phi_lines[1].startswith("code (http://127.0.0.1:9001/v1): weight 0 · 40 req")
    lines = header_lines(llama(), None, tuple(routes_to("llama8b", endpoints)))
    # Its own endpoint is not a router line: it is the `endpoint` line already.
    assert [value for label, value in lines if label == "router"] == [
        "chat (http://127.0.0.1:9000/v1): weight 90 · 812 req, 3 err · p50 120ms p95 240ms"
        " · TTFT 41ms · 55.2 tok/s"
    ]
    mistral_routes = tuple(routes_to("mistral", endpoints))
    mistral = [v for label, v in header_lines(llama(), None, mistral_routes) if label == "router"]
    assert [line.split(" · ")[0] for line in mistral] == [
        "chat (http://127.0.0.1:9000/v1): weight 10",
        "code (http://127.0.0.1:9001/v1): weight routed",
    ]
    assert routes_to("gpt2", endpoints) == []


async def test_detail_screen_shows_the_router_line_and_follows_it() -> None:
    first = routed_fleet()
    backend = ScriptedBackend(first)
    app = an_app(backend)
    async with app.run_test(size=(160, 40)) as pilot:
        await shown(pilot, first)
        screen = await open_detail(pilot)  # llama8b
        header = screen.query_one(DeploymentHeader)
        await until(pilot, lambda: len(header.routes) == 1)
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert "router chat (http://127.0.0.1:9000/v1): weight 90 · 812 req" in text
        second = routed_fleet(llama_requests=950, taken_at=2.0)
        backend.push(second)
        await shown(pilot, second)
        assert header.routes[0][1].requests == 950
        await pilot.pause()
        assert "weight 90 · 950 req, 3 err" in screen_text(app)


class TestSnapshots:
    def test_routes_at_80x24(self, snap_compare: Callable[..., bool]) -> None:
        snapshot = routed_fleet()
        app = an_app(ScriptedBackend(snapshot))

        async def routes(pilot: Pilot[None]) -> None:
            await shown(pilot, snapshot)
            await open_routes(pilot)

        assert snap_compare(app, terminal_size=(80, 24), run_before=routes)

    def test_routes_at_120x40(self, snap_compare: Callable[..., bool]) -> None:
        snapshot = routed_fleet()
        app = an_app(ScriptedBackend(snapshot))

        async def routes(pilot: Pilot[None]) -> None:
            await shown(pilot, snapshot)
            await open_routes(pilot)

        assert snap_compare(app, terminal_size=(120, 40), run_before=routes)

    def test_no_endpoints_at_80x24(self, snap_compare: Callable[..., bool]) -> None:
        snapshot = fleet(llama())
        app = an_app(ScriptedBackend(snapshot))

        async def routes(pilot: Pilot[None]) -> None:
            await shown(pilot, snapshot)
            await open_routes(pilot)

        assert snap_compare(app, terminal_size=(80, 24), run_before=routes)


def test_a_field_added_to_endpoints_changes_nothing_here() -> None:
    """The canary's state (or any field to come) is not read: the lines stay the same."""

    class WithCanary(EndpointSnapshot):
        canary: str | None = "step 2 of 10"

    plain = chat_endpoint()
    grown = WithCanary(**plain.model_dump())
    assert [route_line(grown, b) for _, b in routes_to("llama8b", (grown,))] == [
        route_line(plain, b) for _, b in routes_to("llama8b", (plain,))
    ]
