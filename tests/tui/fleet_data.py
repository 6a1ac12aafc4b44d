"""Fixed fleet snapshots and pilot helpers shared by the console's tests."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence

from rich.console import Console
from textual.message import Message
from textual.notifications import Notification, Notify
from textual.pilot import Pilot
from textual.widgets import Input

from fleetdeck.core.fleet.snapshot import (
    BackendSnapshot,
    DeploymentSnapshot,
    DeploymentStatus,
    EndpointSnapshot,
    FleetSnapshot,
    GpuSnapshot,
    HostSnapshot,
    HostState,
    LatencyPercentiles,
    MetricsSnapshot,
    ReplicaSnapshot,
    ReplicaStatus,
    ShadowSnapshot,
)
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.screens.deployment import DeploymentScreen

SIZE = (100, 30)


def deployment(
    name: str,
    status: DeploymentStatus,
    *,
    ready: int = 1,
    hosts: Sequence[str] = ("gpu-a",),
    desired: int | None = None,
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
        desired=len(hosts) if desired is None else desired,
        ready=ready,
        replicas=replicas,
        endpoint=endpoint,
    )


def busy_metrics() -> MetricsSnapshot:
    """A deployment serving traffic, with a rising request rate and a latency bump."""
    return MetricsSnapshot(
        sampled_at=100.0,
        window_s=60.0,
        request_rate=4.2,
        prompt_tokens_per_s=310.0,
        generation_tokens_per_s=512.0,
        running=3,
        waiting=1,
        kv_cache_usage=0.27,
        e2e_latency_s=LatencyPercentiles(p50=0.41, p95=1.32),
        ttft_s=LatencyPercentiles(p50=0.05, p95=0.12),
        request_rate_history=(0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 3.8, 4.0, 4.2, 4.2),
        e2e_p95_history=(0.9, 0.9, 1.0, 1.1, 1.6, 1.4, 1.3, 1.3, 1.2, 1.3, 1.3, 1.32),
        e2e_p50_history=(0.3, 0.3, 0.35, 0.4, 0.6, 0.5, 0.45, 0.4, 0.4, 0.42, 0.41, 0.41),
        ttft_p95_history=(0.05, 0.06, 0.08, 0.1, 0.3, 0.2, 0.14, 0.12, 0.1, 0.12, 0.12, 0.12),
        generation_tokens_history=(0, 60, 120, 180, 240, 300, 360, 420, 460, 490, 505, 512),
        waiting_history=(0, 0, 0, 0, 2, 3, 1, 1, 0, 0, 1, 1),
        kv_cache_history=(0.0, 0.02, 0.05, 0.08, 0.12, 0.15, 0.18, 0.2, 0.22, 0.25, 0.26, 0.27),
    )


def llama_replicas() -> tuple[ReplicaSnapshot, ...]:
    """One replica in each state the detail screen shows differently."""
    return (
        ReplicaSnapshot(
            id="llama8b/r0", deployment="llama8b", host="gpu-a", port=8100, pid=4242,
            status=ReplicaStatus.ACTIVE, healthy=True, restarts=1, last_exit_code=137,
            reason="crashed",
        ),
        ReplicaSnapshot(
            id="llama8b/r1", deployment="llama8b", host="gpu-b", port=8101, pid=5151,
            status=ReplicaStatus.STARTING, phase="loading weights",
        ),
        ReplicaSnapshot(
            id="llama8b/r2", deployment="llama8b", host="gpu-a", port=8102, pid=None,
            status=ReplicaStatus.FAILED, restarts=3, last_exit_code=1, reason="out of memory",
        ),
    )  # fmt: skip


def llama(**changes: object) -> DeploymentSnapshot:
    base = DeploymentSnapshot(
        name="llama8b",
        model="meta-llama/Llama-3.1-8B-Instruct",
        status=DeploymentStatus.DEGRADED,
        desired=3,
        ready=1,
        replicas=llama_replicas(),
        api_key_masked="sk-d…9f3a",
        metrics=busy_metrics(),
    )
    return base.model_copy(update=changes)


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


def chat_endpoint(llama_requests: int = 812) -> EndpointSnapshot:
    """llama8b 90 / mistral 10, with phi as a 20% shadow: every number differs per arm."""
    return EndpointSnapshot(
        name="chat",
        port=9000,
        url="http://127.0.0.1:9000/v1",
        policy="least_outstanding",
        sticky="session",
        backends=(
            BackendSnapshot(
                deployment="llama8b", weight=90, requests=llama_requests, errors=3,
                in_flight=4, p50_ms=120.0, p95_ms=240.0, ttft_p50_ms=41.0,
                tokens_per_s=55.2, output_tokens=90_000,
            ),
            BackendSnapshot(
                deployment="mistral", weight=10, requests=90, errors=0, in_flight=1,
                p50_ms=180.0, p95_ms=1350.0, ttft_p50_ms=62.0, tokens_per_s=48.7,
                output_tokens=9_800,
            ),
        ),
        shadow=ShadowSnapshot(
            deployment="phi", weight=0.2, requests=170, errors=1, p50_ms=95.0,
            p95_ms=210.0, ttft_p50_ms=30.0, tokens_per_s=140.0, sent=180, skipped=2,
        ),
    )  # fmt: skip


def routed_endpoints(llama_requests: int = 812) -> tuple[EndpointSnapshot, ...]:
    """`chat` (weights and a shadow), `code` (all of it routed to mistral), and a
    deployment's own endpoint, which the routes view leaves out."""
    code = EndpointSnapshot(
        name="code",
        port=9001,
        url="http://127.0.0.1:9001/v1",
        policy="prefix_affinity",
        routed_to="mistral",
        backends=(
            BackendSnapshot(deployment="phi", weight=50, requests=40, errors=0),
            BackendSnapshot(
                deployment="mistral", weight=50, requests=61, errors=2, p50_ms=150.0,
                p95_ms=400.0, ttft_p50_ms=55.0, tokens_per_s=47.0,
            ),
        ),
    )  # fmt: skip
    own = EndpointSnapshot(
        name="llama8b",
        port=9700,
        url="http://127.0.0.1:9700/v1",
        policy="round_robin",
        own=True,
        backends=(BackendSnapshot(deployment="llama8b", weight=1, requests=5),),
    )
    return (chat_endpoint(llama_requests), code, own)


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the app did not get there in time"
        await pilot.pause(0.01)


async def open_detail(pilot: Pilot[None], *keys: str) -> DeploymentScreen:
    """Press `keys` (Enter by default) on the deployments table; the detail screen, shown."""
    await pilot.press(*(keys or ("enter",)))
    await until(pilot, lambda: isinstance(pilot.app.screen, DeploymentScreen))
    screen = pilot.app.screen
    assert isinstance(screen, DeploymentScreen)
    return screen


async def shown(pilot: Pilot[None], snapshot: FleetSnapshot) -> None:
    app = pilot.app
    assert isinstance(app, FleetdeckApp)
    await until(pilot, lambda: app.snapshot is snapshot)
    await pilot.pause()


class Notes:
    """A message hook that keeps every notification the app raised."""

    def __init__(self) -> None:
        self.all: list[Notification] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.all.append(message.notification)

    def titled(self, title: str) -> list[Notification]:
        return [note for note in self.all if note.title == title]


def still_cursors(app: FleetdeckApp) -> None:
    """Stop the blinking of every text cursor on screen, for an SVG snapshot: a blink
    toggles on a timer, so a snapshot taken under load could catch either phase."""
    for field in app.screen.query(Input):
        field.cursor_blink = False


def screen_text(app: FleetdeckApp) -> str:
    """What the terminal shows now, as plain text (the SVG export's source, unstyled)."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), force_terminal=True, record=True
    )
    # The same render that App.export_screenshot records, before it is turned into SVG.
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text(styles=False)
