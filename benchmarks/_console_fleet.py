"""Shared by console_frame.py and console_soak.py (not a benchmark itself).

- `build_fleet`: a synthetic FleetSnapshot of any size, every field the console draws
  filled in (GPU temperatures, utilisation, memory, processes; replica and deployment
  metrics with full 120-point sparkline histories), varied by `tick` so that each
  snapshot differs from the last the way a live fleet's do.
- `PushBackend`: a real ConsoleBackend (the protocol of core/intents/console_api.py)
  that yields the snapshots pushed into it, streams a few log lines, and accepts actions.
- `FrameClock`: counts the frames the app renders. Headless, Textual computes each
  frame (the compositor's `render_update`) but skips turning it into terminal text;
  the clock does that step too (`render_segments`, what the Linux driver writes), so a
  frame here costs what it costs in a terminal, less the write() itself.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable

from rich.console import RenderableType
from textual._compositor import CompositorUpdate
from textual.app import App
from textual.screen import Screen

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import (
    BackendSnapshot,
    DeploymentSnapshot,
    DeploymentStatus,
    EndpointSnapshot,
    FleetSnapshot,
    GpuProcessSnapshot,
    GpuSnapshot,
    HostSnapshot,
    HostState,
    LatencyPercentiles,
    MetricsSnapshot,
    ReplicaSnapshot,
    ReplicaStatus,
    ShadowSnapshot,
)
from fleetdeck.core.intents import IntentOutcome
from fleetdeck.core.metrics.ring import SPARKLINE_POINTS

GIB = 1024**3
GPU_MIB = 81559.0
MODELS = (
    "meta-llama/Llama-3.1-8B-Instruct",
    "Qwen/Qwen2.5-7B-Instruct",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "google/gemma-2-9b-it",
)


def _wave(i: int, tick: int, scale: float, period: float = 17.0) -> float:
    return scale * (1.0 + math.sin((i + tick) / period * 2 * math.pi)) / 2


# Sparkline values, computed once: a history is a slice, so that timing `build_fleet`
# times the snapshot's construction, not this module's arithmetic.
_CYCLE = 17 * 23
_RATE = [_wave(p, 0, 1.0) for p in range(_CYCLE + SPARKLINE_POINTS)]
_P95 = [0.4 + _wave(p, 0, 1.5, 23.0) for p in range(_CYCLE + SPARKLINE_POINTS)]


def _metrics(seed: int, tick: int, replicas: int = 1) -> MetricsSnapshot:
    at = (seed + tick) % _CYCLE
    rate = [6.0 * replicas * v for v in _RATE[at : at + SPARKLINE_POINTS]]
    p95 = _P95[at : at + SPARKLINE_POINTS]
    return MetricsSnapshot(
        sampled_at=1000.0 + tick,
        window_s=60.0,
        request_rate=rate[-1],
        error_ratio=0.0,
        prompt_tokens_per_s=rate[-1] * 70,
        generation_tokens_per_s=rate[-1] * 120,
        running=float((seed + tick) % 5),
        waiting=float((seed + tick) % 2),
        kv_cache_usage=_wave(seed, tick, 0.9),
        requests_total=float(1000 * seed + 4 * tick),
        requests_in_window=rate[-1] * 60,
        e2e_latency_s=LatencyPercentiles(p50=p95[-1] / 3, p95=p95[-1]),
        ttft_s=LatencyPercentiles(p50=0.04, p95=0.11),
        inter_token_latency_s=LatencyPercentiles(p50=0.01, p95=0.02),
        queue_time_s=LatencyPercentiles(p50=0.0, p95=0.01),
        request_rate_history=tuple(rate),
        e2e_p95_history=tuple(p95),
    )


def build_fleet(
    deployments: int,
    hosts: int,
    gpus_per_host: int,
    *,
    tick: int = 0,
    replicas: Callable[[int], int] = lambda d: 2 + d % 3,
) -> FleetSnapshot:
    """`deployments` deployments of `replicas(d)` replicas each (2-4 by default), placed
    one replica per GPU round-robin over `hosts` x `gpus_per_host`, with metrics that
    move with `tick`. Every tenth GPU also holds a foreign tenant's process."""
    slots = [(h, g) for g in range(gpus_per_host) for h in range(hosts)]
    on_gpu: dict[tuple[int, int], list[ReplicaSnapshot]] = {}
    deployment_rows = []
    slot = 0
    for d in range(deployments):
        name = f"dep-{d:03d}"
        replica_rows = []
        for r in range(replicas(d)):
            h, g = slots[slot % len(slots)]
            slot += 1
            # One replica in 37 is still starting, so loading phases show too.
            starting = (d * 7 + r) % 37 == 0
            replica = ReplicaSnapshot(
                id=f"{name}/r{r}",
                deployment=name,
                host=f"gpu-{h:02d}",
                port=8100 + r,
                pid=10000 + d * 10 + r,
                status=ReplicaStatus.STARTING if starting else ReplicaStatus.ACTIVE,
                phase="loading weights" if starting else None,
                healthy=not starting,
                gpu_uuids=(f"GPU-{h:02d}-{g}",),
                started_at=900.0,
                spec_hash=f"{d:08x}",
                metrics=None if starting else _metrics(d * 5 + r, tick),
            )
            replica_rows.append(replica)
            on_gpu.setdefault((h, g), []).append(replica)
        ready = sum(r.healthy for r in replica_rows)
        deployment_rows.append(
            DeploymentSnapshot(
                name=name,
                model=MODELS[d % len(MODELS)],
                status=DeploymentStatus.ACTIVE
                if ready == len(replica_rows)
                else DeploymentStatus.LOADING,
                desired=len(replica_rows),
                ready=ready,
                replicas=tuple(replica_rows),
                endpoint=f"http://127.0.0.1:{9000 + d}/v1",
                api_key_masked="sk-d…9f3a",
                metrics=_metrics(d, tick, len(replica_rows)),
            )
        )
    host_rows = []
    for h in range(hosts):
        gpus = []
        for g in range(gpus_per_host):
            procs = [
                GpuProcessSnapshot(
                    pid=r.pid, memory_mib=70000.0, ours=True, replica=r.id, deployment=r.deployment
                )
                for r in on_gpu.get((h, g), [])
            ]
            if (h * gpus_per_host + g) % 10 == 0:
                procs.append(GpuProcessSnapshot(pid=31337, memory_mib=4000.0))
            used = sum(p.memory_mib or 0.0 for p in procs)
            gpus.append(
                GpuSnapshot(
                    index=g,
                    uuid=f"GPU-{h:02d}-{g}",
                    name="NVIDIA H100 80GB HBM3",
                    temperature_c=40.0 + _wave(h * 8 + g, tick, 45.0, 11.0),
                    utilization_pct=_wave(h * 8 + g, tick, 100.0, 7.0) if procs else 0.0,
                    memory_used_mib=min(used, GPU_MIB),
                    memory_total_mib=GPU_MIB,
                    power_w=80.0 + _wave(h + g, tick, 600.0, 13.0),
                    power_limit_w=700.0,
                    processes=tuple(procs),
                )
            )
        host_rows.append(
            HostSnapshot(
                name=f"gpu-{h:02d}",
                address=f"10.0.{h // 200}.{h % 200 + 10}",
                state=HostState.UP,
                gpus=tuple(gpus),
                cpu_pct=_wave(h, tick, 80.0, 9.0),
                cpu_count=64,
                load_1m=_wave(h, tick, 16.0, 9.0),
                load_5m=8.0,
                load_15m=6.0,
                memory_used_mib=200000.0 + 1000 * (tick % 7),
                memory_total_mib=515072.0,
                disk_path="/var/lib/fleetdeck",
                disk_used_bytes=600 * GIB,
                disk_total_bytes=1800 * GIB,
                disk_free_bytes=1100 * GIB,
                net_rx_bytes_s=_wave(h, tick, 50e6),
                net_tx_bytes_s=_wave(h, tick, 5e6),
                lease_holder="bench@console:1",
                lease_expires_at=1030.0 + tick,
                observed_at=1000.0 + tick,
                gpu_source="nvml",
            )
        )
    return FleetSnapshot(
        fleet="bench",
        taken_at=1000.0 + tick,
        hosts=tuple(host_rows),
        deployments=tuple(deployment_rows),
        endpoints=_endpoints(deployments, tick),
    )


def _backend(name: str, weight: float, seed: int, tick: int) -> BackendSnapshot:
    return BackendSnapshot(
        deployment=name,
        weight=weight,
        requests=100 * seed + 7 * tick,
        errors=(seed + tick) % 4,
        in_flight=seed % 5,
        p50_ms=80.0 + _wave(seed, tick, 100.0),
        p95_ms=200.0 + _wave(seed, tick, 400.0),
        ttft_p50_ms=20.0 + _wave(seed, tick, 60.0),
        tokens_per_s=30.0 + _wave(seed, tick, 90.0),
        output_tokens=5000 * seed + 300 * tick,
    )


def _endpoints(deployments: int, tick: int) -> tuple[EndpointSnapshot, ...]:
    """One [[endpoints]] endpoint per ten deployments: two of them weighted 90/10, every
    other endpoint with a third as a 20% shadow; numbers move with `tick`."""
    endpoints = []
    for e in range(deployments // 10):
        first = e * 10
        shadow = (
            ShadowSnapshot(**_backend(f"dep-{first + 2:03d}", 0.2, e + 2, tick).model_dump())
            if e % 2 == 0
            else None
        )
        endpoints.append(
            EndpointSnapshot(
                name=f"chat-{e:02d}",
                port=7000 + e,
                url=f"http://127.0.0.1:{7000 + e}/v1",
                policy="least_outstanding",
                backends=(
                    _backend(f"dep-{first:03d}", 90, e, tick),
                    _backend(f"dep-{first + 1:03d}", 10, e + 1, tick),
                ),
                shadow=shadow,
            )
        )
    return tuple(endpoints)


class PushBackend:
    """Yields what is pushed (`push`), or, with `every_s`, calls `make(tick)` that often."""

    def __init__(
        self,
        make: Callable[[int], FleetSnapshot] | None = None,
        every_s: float = 1.0,
        log_lines: int = 200,
    ) -> None:
        self._queue: asyncio.Queue[FleetSnapshot] = asyncio.Queue()
        self._make = make
        self._every_s = every_s
        self._log_lines = log_lines
        self.listeners: list[Callable[[Event], None]] = []
        self.built_s: list[float] = []  # how long each `make` took

    def push(self, snapshot: FleetSnapshot) -> None:
        self._queue.put_nowait(snapshot)

    async def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]:
        if self._make is None:
            while True:
                yield await self._queue.get()
        tick = 0
        next_at = time.monotonic()
        while True:
            started = time.perf_counter()
            snapshot = self._make(tick)
            self.built_s.append(time.perf_counter() - started)
            yield snapshot
            tick += 1
            next_at += self._every_s
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self.listeners.append(listener)

    async def event_history(
        self, deployment: str | None = None, *, last: int = 0
    ) -> tuple[Event, ...]:
        return ()  # an empty journal: the benchmarks time what is pushed live

    async def follow_logs(self, replica_id: str, *, tail: int = 200) -> AsyncIterator[str]:
        for n in range(min(tail, self._log_lines)):
            yield (
                f"INFO 05-01 12:00:{n % 60:02d} [loggers.py:{100 + n}] {replica_id}: "
                f"Avg prompt throughput: {n * 1.5:.1f} tokens/s, Running: {n % 4} reqs"
            )
        await asyncio.Event().wait()  # then nothing new, until closed

    async def scale(self, deployment: str, replicas: int) -> IntentOutcome:
        return IntentOutcome()

    async def stop(self, deployment: str) -> IntentOutcome:
        return IntentOutcome()

    async def start(self, deployment: str) -> IntentOutcome:
        return IntentOutcome()

    async def restart(self, deployment: str) -> IntentOutcome:
        return IntentOutcome()

    async def route(self, endpoint: str, deployment: str) -> IntentOutcome:
        return IntentOutcome()

    def key_refusals(self) -> tuple[str, ...]:
        # Asked after every snapshot (the app offers to trust a refused host key).
        return ()


class FrameClock:
    """Wraps `app._display` (called once per frame the compositor renders) to time each
    frame and turn it into terminal text as the Linux driver would."""

    def __init__(self, app: App[None]) -> None:
        self.frames: list[float] = []  # perf_counter() when each frame was done
        # id() of app.snapshot at each frame: an id, so that no snapshot is kept alive.
        self.snapshot_at_frame: list[int] = []
        self.chars = 0
        original = app._display

        def display(screen: Screen[object], renderable: RenderableType | None) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return  # Textual draws nothing for these either
            if isinstance(renderable, CompositorUpdate):
                self.chars += len(renderable.render_segments(app.console))
            self.frames.append(time.perf_counter())
            self.snapshot_at_frame.append(id(getattr(app, "snapshot", None)))

        app._display = display  # type: ignore[method-assign]
