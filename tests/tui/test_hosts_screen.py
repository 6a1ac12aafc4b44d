"""The hosts screen and one host's detail: bars and thresholds as strings, the keys that
reach them (`h`, Enter, Escape) with a pilot, and SVG snapshots at 80x24 and 120x40 in
both of our themes, from the fixed fleet of tests/tui/host_data.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot

from fleetdeck.core.fleet.snapshot import DeploymentStatus, FleetSnapshot, HostSnapshot, HostState
from fleetdeck.themes import FLEETDECK_DARK, FLEETDECK_LIGHT, HOST_VARIABLES
from fleetdeck.themes.palette import status_variable_defaults
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.screens.host_detail import HostDetailScreen
from fleetdeck.tui.screens.hosts import HostsScreen
from fleetdeck.tui.widgets.deployments_table import DeploymentsTable
from fleetdeck.tui.widgets.gauges import (
    bar,
    binary_size,
    loads,
    meter,
    power,
    temperature,
    temperature_variable,
    used_of_total,
)
from fleetdeck.tui.widgets.gpu_processes_table import FOREIGN, OURS, GpuProcessesTable
from fleetdeck.tui.widgets.gpu_table import GpuTable
from fleetdeck.tui.widgets.host_list_table import HostListTable, gpu_models, lease_owner
from fleetdeck.tui.widgets.host_summary import lease_line, summary_rows
from fleetdeck.tui.widgets.status_light import light_style
from tests.tui.fleet_data import deployment, screen_text, shown, until
from tests.tui.host_data import host_fleet, no_gpu_host, nvml_host, smi_host
from tests.tui.scripted_backend import ScriptedBackend

VARIABLES = dict(FLEETDECK_DARK.variables)


# -- bars, thresholds and units, as strings ----------------------------------------------
@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.0, "░░░░░░░░░░"),
        (1.0, "██████████"),
        (0.5, "█████░░░░░"),
        (0.37, "███▊░░░░░░"),  # 29.6 eighths, rounded: 3 cells and 6/8 of one
        (0.001, "▏░░░░░░░░░"),  # busy but barely is not idle
        (1.7, "██████████"),  # clamped: a driver's 101% does not overflow the cell
        (-0.2, "░░░░░░░░░░"),
        (None, "          "),
    ],
)
def test_bar(fraction: float | None, expected: str) -> None:
    assert bar(fraction, 10) == expected
    assert len(bar(fraction, 10)) == 10


def test_bar_of_no_width_is_empty() -> None:
    assert bar(0.5, 0) == ""


@pytest.mark.parametrize(
    ("celsius", "variable"),
    [(None, None), (31.0, "temp-ok"), (69.9, "temp-ok"), (70.0, "temp-warm"),
     (82.9, "temp-warm"), (83.0, "temp-hot"), (95.0, "temp-hot")],
)  # fmt: skip
def test_temperature_thresholds(celsius: float | None, variable: str | None) -> None:
    assert temperature_variable(celsius) == variable


def test_temperature_is_coloured_by_its_threshold() -> None:
    hot = temperature(86.0, VARIABLES)
    assert hot.plain == "86°C"
    assert hot.style == light_style("temp-hot", VARIABLES)
    assert temperature(None, VARIABLES).plain == "—"


def test_meter_colours_the_filled_part_and_keeps_its_label() -> None:
    text = meter(0.5, 4, "50%", VARIABLES)
    assert text.plain == "██░░ 50%"
    assert [(text.plain[s.start : s.end], s.style) for s in text.spans] == [
        ("██", light_style("meter-fill", VARIABLES)),
        ("░░", light_style("meter-empty", VARIABLES)),
    ]
    assert meter(None, 4, "—", VARIABLES).plain == "     —"


def test_units() -> None:
    assert [binary_size(v) for v in (None, 0, 512, 2048, 300 * 1024**3, 2 * 1024**5)] == [
        "—", "0", "512B", "2.0K", "300G", "2.0P",
    ]  # fmt: skip
    assert used_of_total(78000.0, 81559.0) == "76G/80G"
    assert used_of_total(None, 81559.0) == "—/80G"
    assert used_of_total(None, None) == "—"
    assert power(688.4, 700.0) == "688/700W"
    assert power(None, 700.0) == "—/700W"
    assert power(70.0, None) == "70W"
    assert power(None, None) == "—"
    assert loads(4.12, None, 2.98) == "4.12 — 2.98"
    assert loads(None, None) == "—"


def test_gpu_models_and_a_host_without_gpu_source() -> None:
    assert gpu_models(nvml_host()) == "2× H100"
    assert gpu_models(no_gpu_host()) == "none"
    assert gpu_models(HostSnapshot(name="x", address="x", state=HostState.CONNECTING)) == "—"


def test_the_list_says_who_holds_the_lease_not_which_process() -> None:
    assert lease_owner("root@vm/3d1219c7c4c5:12269") == "root@vm"
    assert lease_owner("alice@laptop:4711") == "alice@laptop"
    assert lease_owner("alice@laptop") == "alice@laptop"
    assert lease_owner(None) == "—"


def test_summary_lines_as_plain_strings() -> None:
    rows = {label: value.plain for label, value in summary_rows(nvml_host(), VARIABLES)}
    assert rows == {
        "lease": "alice@laptop:4711, 30s left",
        "gpus via": "nvml",
        "cpu": "███▊░░░░░░ 37% of 64 cores · load 4.12 3.50 2.98",
        "memory": "███▉░░░░░░ 192G/503G",
        "disk": "███▍░░░░░░ 612G/1.8T, 1.1T free · /var/lib/fleetdeck",
        "network": "↓ 12M/s  ↑ 830K/s",
    }
    broken = {label: value.plain for label, value in summary_rows(no_gpu_host(), VARIABLES)}
    assert broken["gpus via"].startswith("none: nvidia-smi: NVIDIA-SMI has failed")
    assert lease_line(smi_host()) == "nobody holds it: any controller may act here"


def test_every_theme_colours_the_hosts_screens() -> None:
    for theme in (FLEETDECK_DARK, FLEETDECK_LIGHT):
        assert set(HOST_VARIABLES) <= set(theme.variables), theme.name
    # Textual's own themes borrow theirs from the theme's semantic colours.
    from textual.theme import BUILTIN_THEMES

    for theme in BUILTIN_THEMES.values():
        assert set(HOST_VARIABLES) <= set(status_variable_defaults(theme)), theme.name


# -- keys, with a pilot --------------------------------------------------------------------
def an_app(*snapshots: FleetSnapshot) -> tuple[FleetdeckApp, ScriptedBackend]:
    backend = ScriptedBackend(*snapshots)
    return FleetdeckApp(backend, title="fleetdeck · lab", refresh_s=0.01), backend


async def open_hosts(pilot: Pilot[None]) -> HostsScreen:
    await pilot.press("h")
    await until(pilot, lambda: isinstance(pilot.app.screen, HostsScreen))
    screen = pilot.app.screen
    assert isinstance(screen, HostsScreen)
    table = screen.query_one(HostListTable)
    await until(pilot, lambda: table.row_count > 0)
    return screen


async def open_host(pilot: Pilot[None], *keys: str) -> HostDetailScreen:
    await pilot.press(*keys, "enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, HostDetailScreen))
    screen = pilot.app.screen
    assert isinstance(screen, HostDetailScreen)
    gpus = screen.host.gpus if screen.host else ()
    await until(pilot, lambda: screen.query_one(GpuTable).row_count == len(gpus))
    await pilot.pause()
    return screen


async def test_h_lists_every_host_with_its_gpus_cpu_memory_and_lease() -> None:
    snapshot = host_fleet()
    app, _backend = an_app(snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, snapshot)
        screen = await open_hosts(pilot)
        table = screen.query_one(HostListTable)
        assert [key.value for key in table.rows] == [h.name for h in snapshot.hosts]
        assert [cell.plain for cell in table.get_row("gpu-a")] == [
            "gpu-a", "● up", "2× H100", "86°C", "70%", "116G/159G", "37%", "4.12",
            "192G/503G", "alice@laptop:4711",
        ]  # fmt: skip
        assert table.get_cell("gpu-a", "temp").style == light_style("temp-hot", app.theme_variables)
        assert [cell.plain for cell in table.get_row("gpu-e")][:3] == [
            "gpu-e", "✖ unreachable", "—",
        ]  # fmt: skip
        assert table.get_cell("gpu-d", "gpus").plain == "none"


async def test_hosts_rows_update_in_place() -> None:
    first = host_fleet()
    cooler = nvml_host().model_copy(update={"cpu_pct": 80.0})
    second = first.model_copy(update={"taken_at": 2.0, "hosts": (cooler, *first.hosts[1:])})
    app, backend = an_app(first)
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, first)
        table = (await open_hosts(pilot)).query_one(HostListTable)
        row = table.rows[next(iter(table.rows))]
        backend.push(second)
        await until(pilot, lambda: table.get_cell("gpu-a", "cpu").plain == "80%")
        assert table.rows[next(iter(table.rows))] is row


async def test_enter_opens_the_host_under_the_cursor_and_escape_goes_back() -> None:
    snapshot = host_fleet()
    app, _backend = an_app(snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, snapshot)
        hosts = await open_hosts(pilot)
        detail = await open_host(pilot)
        assert detail.host_name == "gpu-a"
        gpus = detail.query_one(GpuTable)
        assert [cell.plain for cell in gpus.get_row("GPU-a0")] == [
            "0", "H100", "86°C", "█████████▊  97%", "█████████▋ 76G/80G", "688/700W",
            "2 (1 foreign)",
        ]  # fmt: skip
        assert gpus.get_row("GPU-a1")[3].plain == "████▎░░░░░  42%"
        processes = detail.query_one(GpuProcessesTable)
        assert [[c.plain for c in processes.get_row(k)] for k in processes.rows] == [
            ["0", "4242", "68G", OURS, "llama8b", "llama8b/r0"],
            ["0", "31337", "7.8G", FOREIGN, "—", "—"],
            ["1", "4343", "40G", OURS, "llama8b", "llama8b/r2"],
        ]
        assert "alice@laptop:4711, 30s left" in screen_text(app)

        await pilot.press("escape")
        await until(pilot, lambda: app.screen is hosts)
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, HostDetailScreen))
        assert isinstance(app.screen, HostDetailScreen)
        assert app.screen.host_name == "gpu-b"

        await pilot.press("escape", "escape")
        await until(pilot, lambda: app.screen is app.screen_stack[0])


async def test_an_unreachable_host_shows_its_error_and_no_gpus() -> None:
    snapshot = host_fleet()
    app, _backend = an_app(snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, snapshot)
        await open_hosts(pilot)
        await pilot.press("down", "down", "down", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen, HostDetailScreen))
        screen = app.screen
        assert isinstance(screen, HostDetailScreen)
        await pilot.pause()
        text = screen_text(app)
        assert "✖ unreachable" in text
        assert "Connection refused" in text
        assert screen.query_one(GpuTable).row_count == 0


async def test_the_detail_follows_new_snapshots_and_keeps_a_host_that_left() -> None:
    first = host_fleet()
    hotter = nvml_host().model_copy(update={"cpu_pct": 99.0})
    second = first.model_copy(update={"taken_at": 2.0, "hosts": (hotter,)})
    third = first.model_copy(update={"taken_at": 3.0, "hosts": ()})
    app, backend = an_app(first)
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, first)
        await open_hosts(pilot)
        screen = await open_host(pilot)
        backend.push(second)
        await until(pilot, lambda: "99% of 64 cores" in screen_text(app))
        backend.push(third)
        await shown(pilot, third)
        box = screen.query_one("#host-summary-box")
        await until(pilot, lambda: "no longer in the fleet" in str(box.border_subtitle))
        assert "99% of 64 cores" in screen_text(app)


async def test_h_only_from_the_fleet_and_deployment_keys_do_nothing_on_hosts() -> None:
    snapshot = host_fleet()
    app, backend = an_app(snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, snapshot)
        hosts = await open_hosts(pilot)
        # `+`, `s`, `x` would act on the fleet screen's cursor row, which is out of sight.
        await pilot.press("h", "plus", "s", "x")
        await pilot.pause()
        assert app.screen is hosts
        assert backend.calls == []
        # Nor are they offered in the footer there.
        assert not {"plus", "minus", "s", "x", "r", "h"} & set(app.active_bindings)


# -- SVG snapshots ------------------------------------------------------------------------
SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
THEMES = {"dark": FLEETDECK_DARK.name, "light": FLEETDECK_LIGHT.name}


def themed(
    theme: str, then: Callable[[Pilot[None]], Awaitable[object]]
) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, FleetdeckApp)
        await until(pilot, lambda: app.snapshot is not None)
        app.theme = theme
        await pilot.pause()
        await then(pilot)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("theme", list(THEMES))
@pytest.mark.parametrize("size", list(SIZES))
def test_hosts_screen_snapshot(snap_compare: Callable[..., bool], size: str, theme: str) -> None:
    app, _backend = an_app(host_fleet())
    assert snap_compare(
        app, terminal_size=SIZES[size], run_before=themed(THEMES[theme], open_hosts)
    )


@pytest.mark.parametrize("theme", list(THEMES))
@pytest.mark.parametrize("size", list(SIZES))
def test_host_detail_snapshot(snap_compare: Callable[..., bool], size: str, theme: str) -> None:
    app, _backend = an_app(host_fleet())

    async def the_nvml_host(pilot: Pilot[None]) -> None:
        await open_hosts(pilot)
        await open_host(pilot)

    assert snap_compare(
        app, terminal_size=SIZES[size], run_before=themed(THEMES[theme], the_nvml_host)
    )


async def test_the_hidden_fleet_screen_catches_up_on_return_not_on_every_snapshot() -> None:
    first = host_fleet().model_copy(
        update={"deployments": (deployment("alpha", DeploymentStatus.ACTIVE),)}
    )
    later = first.model_copy(
        update={
            "taken_at": first.taken_at + 1,
            "deployments": (
                deployment("alpha", DeploymentStatus.ACTIVE),
                deployment("beta", DeploymentStatus.LOADING),
            ),
        }
    )
    app, backend = an_app(first)
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, first)
        table = app.query_one(DeploymentsTable)
        assert [row.key.value for row in table.ordered_rows] == ["alpha"]
        await open_hosts(pilot)
        backend.push(later)
        await shown(pilot, later)
        # Out of sight, the fleet table was left as it was ...
        assert [row.key.value for row in table.ordered_rows] == ["alpha"]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.screen_stack[0])
        # ... and shows the newest snapshot as soon as it is back, without waiting for one.
        assert [row.key.value for row in table.ordered_rows] == ["alpha", "beta"]
        assert "beta" in screen_text(app)


async def test_the_hosts_screen_is_kept_between_visits_and_catches_up_on_return() -> None:
    first = host_fleet()
    later = host_fleet(taken_at=first.taken_at + 1)
    later = later.model_copy(update={"hosts": later.hosts[:-1]})  # a host left the fleet
    app, backend = an_app(first)
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, first)
        hosts = await open_hosts(pilot)
        table = hosts.query_one(HostListTable)
        await pilot.press("j")
        row = table.cursor_row
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.screen_stack[0])
        backend.push(later)
        await shown(pilot, later)
        assert table.row_count == len(first.hosts), "not redrawn while out of sight"
        again = await open_hosts(pilot)
        assert again is hosts, "the same screen, not a new one"
        assert table.cursor_row == row, "the cursor is where it was left"
        assert table.row_count == len(later.hosts), "the newest snapshot, at once"
