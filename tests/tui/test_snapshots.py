"""SVG snapshots of both screens at 100x30: fixed data, no clock, no spinner, so they are
byte-stable. Event times are shown in local time, so the zone is pinned to UTC here."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import (
    CostFigures,
    DeploymentCost,
    DeploymentStatus,
    FleetSnapshot,
    HostSnapshot,
    HostState,
)
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.deployment_access import ClientHint
from fleetdeck.tui.widgets.events_panel import EventsPanel
from fleetdeck.tui.widgets.log_pane import LogPane
from tests.tui.fleet_data import (
    busy_metrics,
    deployment,
    h100_host,
    llama,
    open_detail,
    shown,
    until,
)
from tests.tui.scripted_backend import ScriptedBackend

SIZE = (100, 30)

EVENTS = (
    Event(time=3600.0, kind="replica.started", subject="llama8b/r1",
          message="started on gpu-b port 8101 (scale up)"),
    Event(time=3605.0, kind="replica.exited", subject="llama8b/r0",
          message="exited with code 137 on gpu-a (crashed); restart 1", level="warning"),
    Event(time=3610.0, kind="placement.blocked", subject="mistral",
          message="no host with zone=us has 2 free GPUs", level="error"),
)  # fmt: skip

LOG_LINES = (
    "INFO 05-02 10:00:01 [api_server.py:1090] vLLM API server version 0.33.0",
    "INFO 05-02 10:00:04 [model_runner.py:1110] Loading model weights took 14.99 GiB",
    "INFO 05-02 10:00:09 [gpu_worker.py:220] Available KV cache memory: 52.31 GiB",
    "INFO 05-02 10:00:12 [launcher.py:28] Available routes are: /health, /v1/chat/completions",
    "INFO:     Application startup complete.",
    'INFO:     127.0.0.1:51234 - "POST /v1/chat/completions HTTP/1.1" 200 OK',
)


def the_fleet() -> FleetSnapshot:
    return FleetSnapshot(
        fleet="lab",
        taken_at=1.0,
        hosts=(
            h100_host("gpu-a"),
            HostSnapshot(name="gpu-b", address="10.0.0.12", state=HostState.CONNECTING),
            HostSnapshot(name="gpu-c", address="10.0.0.13", state=HostState.UNREACHABLE),
        ),
        deployments=(
            llama(),
            deployment("qwen", DeploymentStatus.LOADING, ready=0),
            deployment("mistral", DeploymentStatus.DEGRADED, hosts=("gpu-a", "gpu-c")).model_copy(
                update={"metrics": busy_metrics()}
            ),
            deployment("phi", DeploymentStatus.IDLE),
            deployment("gpt2", DeploymentStatus.STOPPED, ready=0, hosts=()),
        ),
    )


class TestScreens:
    def test_fleet_at_100x30(self, snap_compare: Callable[..., bool], utc: None) -> None:
        snapshot = the_fleet()
        backend = ScriptedBackend(snapshot)
        app = FleetdeckApp(backend, title="fleetdeck · lab", refresh_s=0.01)

        async def shown_with_events(pilot: Pilot[None]) -> None:
            await shown(pilot, snapshot)
            for event in EVENTS:
                backend.emit(event)
            panel = app.query_one(EventsPanel)
            await until(pilot, lambda: len(panel.events) == len(EVENTS))
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=shown_with_events)

    def test_deployment_at_100x30(self, snap_compare: Callable[..., bool], utc: None) -> None:
        snapshot = the_fleet()
        backend = ScriptedBackend(snapshot)
        backend.write_log("llama8b/r0", *LOG_LINES)
        hint = ClientHint(served_model="llama-8b", has_api_key=True, key_variable="LLAMA_KEY")
        app = FleetdeckApp(
            backend,
            title="fleetdeck · lab",
            refresh_s=0.01,
            hints={"llama8b": hint},
            log_flush_s=0.01,
        )

        async def details_with_logs(pilot: Pilot[None]) -> None:
            await shown(pilot, snapshot)
            await open_detail(pilot)
            log = app.screen.query_one(LogPane)
            await until(pilot, lambda: log.line_count == len(LOG_LINES))
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=details_with_logs)


def llama_cost() -> DeploymentCost:
    """Two replicas hold 1 GPU each at 2.10 USD; 40 minutes watched."""
    hour = CostFigures(
        window_s=2400.0,
        gpu_hours=1.2,
        idle_gpu_hours=0.3,
        prompt_tokens=1_500_000.0,
        output_tokens=420_000.0,
        total_tokens=1_920_000.0,
        cost=2.52,
        idle_cost=0.63,
        cost_per_million_output_tokens=6.0,
        cost_per_million_total_tokens=1.3125,
    )
    return DeploymentCost(
        currency="USD",
        replicas_holding=2,
        gpus_held=2,
        price_per_hour=4.20,
        since=0.0,
        last_hour=hour,
        since_start=hour,
    )


def fleet_with_costs() -> FleetSnapshot:
    fleet = the_fleet()
    costs = {"llama8b": llama_cost(), "phi": DeploymentCost("USD", 1, 1, None)}
    return fleet.model_copy(
        update={
            "deployments": tuple(
                d.model_copy(update={"cost": costs.get(d.name)}) for d in fleet.deployments
            )
        }
    )


class TestCost:
    """The cost column (a price per hour, or a dash where a host has no price) and the
    detail screen's two cost lines, at the narrowest size the detail screen takes."""

    def test_fleet_with_costs_at_120x40(self, snap_compare: Callable[..., bool]) -> None:
        snapshot = fleet_with_costs()
        app = FleetdeckApp(ScriptedBackend(snapshot), title="fleetdeck · lab", refresh_s=0.01)

        async def fleet(pilot: Pilot[None]) -> None:
            await shown(pilot, snapshot)
            await pilot.pause()

        assert snap_compare(app, terminal_size=(120, 40), run_before=fleet)

    def test_deployment_with_cost_at_80x24(self, snap_compare: Callable[..., bool]) -> None:
        snapshot = fleet_with_costs()
        backend = ScriptedBackend(snapshot)
        backend.write_log("llama8b/r0", *LOG_LINES)
        app = FleetdeckApp(backend, title="fleetdeck · lab", refresh_s=0.01, log_flush_s=0.01)

        async def details(pilot: Pilot[None]) -> None:
            await shown(pilot, snapshot)
            await open_detail(pilot)
            log = app.screen.query_one(LogPane)
            await until(pilot, lambda: log.line_count == len(LOG_LINES))
            await pilot.pause()

        assert snap_compare(app, terminal_size=(80, 24), run_before=details)
