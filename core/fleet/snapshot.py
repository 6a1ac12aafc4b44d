"""Immutable fleet snapshots: the one shape that the TUI and `status --json` both read.

The engine is the only writer; it publishes a new `FleetSnapshot` after every observation.
Field names here are the JSON contract of DESIGN.md (`fleet`, `hosts[].name/state/gpus`,
`deployments[].name/status/desired/replicas[].id/host/port/pid/status`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class ReplicaStatus(str, Enum):
    PENDING = "pending"
    STARTING = "starting"
    ACTIVE = "active"
    IDLE = "idle"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    UNKNOWN = "unknown"


# A replica that answers /health: it counts as ready and receives requests.
READY = frozenset({ReplicaStatus.ACTIVE, ReplicaStatus.IDLE})


class DeploymentStatus(str, Enum):
    ACTIVE = "active"
    LOADING = "loading"
    IDLE = "idle"
    STOPPED = "stopped"
    DEGRADED = "degraded"
    FAILED = "failed"


class HostState(str, Enum):
    CONNECTING = "connecting"
    UP = "up"
    UNREACHABLE = "unreachable"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GpuProcessSnapshot(Frozen):
    """A process holding memory on a GPU: one of our replicas' or a foreign tenant's."""

    pid: int | None = None
    memory_mib: float | None = None  # None where the driver cannot tell
    ours: bool = False
    replica: str | None = None  # "deployment/replica" when ours
    deployment: str | None = None  # the replica's deployment, so nobody splits the id


class GpuSnapshot(Frozen):
    index: int
    uuid: str
    name: str
    temperature_c: float | None = None
    utilization_pct: float | None = None
    memory_used_mib: float | None = None
    memory_total_mib: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    processes: tuple[GpuProcessSnapshot, ...] = ()


class HostSnapshot(Frozen):
    name: str
    address: str
    state: HostState
    labels: dict[str, str] = Field(default_factory=dict)  # the inventory's, for filters
    error: str | None = None
    gpus: tuple[GpuSnapshot, ...] = ()
    cpu_pct: float | None = None
    load_1m: float | None = None
    memory_used_mib: float | None = None
    memory_total_mib: float | None = None
    lease_holder: str | None = None  # the controller in charge of this host, if any
    # Added for the hosts screens; all optional so older readers and JSON keep working.
    load_5m: float | None = None
    load_15m: float | None = None
    cpu_count: int | None = None
    disk_path: str | None = None  # where the host keeps its state (what fills up)
    disk_used_bytes: int | None = None
    disk_total_bytes: int | None = None
    disk_free_bytes: int | None = None  # free to an unprivileged user, as df shows
    net_rx_bytes_s: float | None = None  # every interface but lo
    net_tx_bytes_s: float | None = None
    # Both on the host's clock, so "expires in" is their difference, whatever our clock.
    lease_expires_at: float | None = None
    observed_at: float | None = None  # the host's time of the observation shown
    gpu_source: str | None = None  # nvml, nvidia-smi, simulated or none; None: not observed
    gpu_error: str | None = None  # why no GPU source answered
    # Why the host's state dir counts as full (free space below the host program's
    # threshold), None while it has room; also shown as `error` while the host is up.
    disk_full: str | None = None


class LatencyPercentiles(Frozen):
    """Seconds; None when no request finished in the window."""

    p50: float | None = None
    p95: float | None = None


class HistogramSnapshot(Frozen):
    """A latency histogram's cumulative counts since this fleetdeck process began reading
    the deployment's replicas (what `/metrics` exposes to Prometheus). Only grows while
    the process runs: each replica's scrape-to-scrape deltas are added, so a replica that
    restarts or goes away takes nothing back."""

    bounds: tuple[float, ...]  # finite upper bounds, ascending; +Inf is `count`
    cumulative: tuple[float, ...]  # observations <= each bound
    count: float = 0.0
    sum: float = 0.0


METRICS_INTERVAL_S = 2.0
"""The engine reads /metrics this often, so a history's points are this far apart."""


class MetricsSnapshot(Frozen):
    """What a replica's (or a deployment's summed) /metrics pages said lately.

    Rates are per second over the short rate window, percentiles over `window_s`, both
    from counter and bucket deltas between scrapes. None means not known yet (fewer than
    two scrapes, or the family is missing from the page).
    """

    sampled_at: float
    window_s: float
    request_rate: float | None = None  # finished requests/s, every finished_reason
    error_ratio: float | None = None  # aborted + errored / finished, over window_s
    prompt_tokens_per_s: float | None = None
    generation_tokens_per_s: float | None = None
    running: float | None = None
    waiting: float | None = None
    kv_cache_usage: float | None = None  # 0..1; mean over engines and replicas
    requests_total: float | None = None  # finished since each process started
    requests_in_window: float = 0.0
    e2e_latency_s: LatencyPercentiles = LatencyPercentiles()
    ttft_s: LatencyPercentiles = LatencyPercentiles()
    inter_token_latency_s: LatencyPercentiles = LatencyPercentiles()
    queue_time_s: LatencyPercentiles = LatencyPercentiles()
    # Sparklines, oldest first, one point per scrape (every METRICS_INTERVAL_S; 0.0 while
    # unknown).
    request_rate_history: tuple[float, ...] = ()
    e2e_p95_history: tuple[float, ...] = ()
    # Added for the detail screen; empty from older writers (and JSON) that lack them.
    e2e_p50_history: tuple[float, ...] = ()
    ttft_p95_history: tuple[float, ...] = ()
    generation_tokens_history: tuple[float, ...] = ()  # generation tokens/s
    waiting_history: tuple[float, ...] = ()  # requests queued
    kv_cache_history: tuple[float, ...] = ()  # 0..1
    # Added for Prometheus (core/export): a deployment's buckets since this process
    # started, None for a replica and before two scrapes.
    e2e_latency_histogram: HistogramSnapshot | None = None
    ttft_histogram: HistogramSnapshot | None = None


class ReplicaSnapshot(Frozen):
    id: str  # "<deployment>/<replica>", e.g. "llama8b/r0"
    deployment: str
    host: str
    port: int
    pid: int | None = None
    status: ReplicaStatus
    phase: str | None = None  # loading phase read from the log while starting
    healthy: bool = False
    restarts: int = 0
    last_exit_code: int | None = None
    reason: str | None = None
    gpu_uuids: tuple[str, ...] = ()
    started_at: float | None = None
    spec_hash: str = ""
    first_failure: tuple[str, ...] = ()  # the lines explaining its first crash, kept
    metrics: MetricsSnapshot | None = None
    # A failed replica's last run: its last few non-empty log lines, or one line saying it
    # wrote nothing ("exited at once with code 1, no output"). Empty unless failed.
    log_excerpt: tuple[str, ...] = ()


@dataclass(frozen=True)
class CostFigures:
    """What a deployment used and cost over one window (core/metrics/cost.py adds it up).

    GPU-hours: the GPUs its replicas held x time, a replica holding its GPUs from its start
    until it is gone. Idle GPU-hours: those held while it served no request, as
    idle_timeout sees it (core/policy/idle_policy.py). Tokens: the vLLM counters' growth,
    a restarted replica counted from zero again. A cost is None where some of the GPU-hours
    ran on a host without a `gpu_hour_price`; a cost per million tokens is None without
    tokens or without a cost.
    """

    window_s: float = 0.0  # the seconds the figures cover (less than asked while young)
    gpu_hours: float = 0.0
    idle_gpu_hours: float = 0.0
    unpriced_gpu_hours: float = 0.0  # on hosts without a gpu_hour_price
    prompt_tokens: float = 0.0
    output_tokens: float = 0.0
    total_tokens: float = 0.0  # prompt + output
    cost: float | None = 0.0
    idle_cost: float | None = 0.0
    cost_per_million_output_tokens: float | None = None
    cost_per_million_total_tokens: float | None = None


@dataclass(frozen=True)
class DeploymentCost:
    """A deployment's spending: what it holds now, the last hour, and since `since`.

    A plain frozen dataclass, so that an exporter can read it without pydantic. "Since
    start" is since this fleetdeck process began watching the fleet (`since`), not since
    the replicas started: nothing before that was seen.
    """

    currency: str  # the inventory's [fleet] currency
    replicas_holding: int = 0  # replicas that hold GPUs now
    gpus_held: int = 0  # now
    price_per_hour: float | None = 0.0  # what those GPUs cost per hour now; None: unpriced
    since: float | None = None  # when this process started counting; None: not yet
    last_hour: CostFigures = CostFigures()  # a rolling hour, in whole minutes
    since_start: CostFigures = CostFigures()


class DeploymentSnapshot(Frozen):
    name: str
    model: str
    status: DeploymentStatus
    desired: int
    ready: int = 0
    replicas: tuple[ReplicaSnapshot, ...] = ()
    endpoint: str | None = None
    api_key_masked: str | None = None
    metrics: MetricsSnapshot | None = None
    cost: DeploymentCost | None = None  # None where nothing was measured (a replay of old)


class BackendSnapshot(Frozen):
    """One backend (deployment) of an endpoint, as the endpoint measured it."""

    deployment: str
    weight: float
    requests: int = 0
    errors: int = 0
    in_flight: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    ttft_p50_ms: float | None = None
    tokens_per_s: float | None = None
    output_tokens: int = 0


class ShadowSnapshot(BackendSnapshot):
    """The shadow deployment: `weight` is its fraction; `sent` copies, `skipped` ones due
    but not sent (no ready replica, or too many in flight)."""

    sent: int = 0
    skipped: int = 0
    output_bytes: int = 0


class CanarySnapshot(Frozen):
    """An endpoint's automatic canary: `weight` percent to `canary`, the rest to
    `baseline`; `phase` progressing, promoted, rolled_back or paused (a `fleetdeck route`
    override); `reason` the last decision with its numbers."""

    baseline: str
    canary: str
    phase: str
    weight: int
    reason: str


class EndpointSnapshot(Frozen):
    """An endpoint served by this machine's controller: [[endpoints]] and deployments' own."""

    name: str
    port: int
    url: str
    policy: str
    sticky: str = "none"
    own: bool = False  # a deployment's own endpoint (endpoint_port or a free port)
    routed_to: str | None = None  # set by `fleetdeck route --to`
    backends: tuple[BackendSnapshot, ...] = ()
    shadow: ShadowSnapshot | None = None
    canary: CanarySnapshot | None = None


class FleetStateView(Frozen):
    """Where the fleet's desired-count overrides came from (core/engine/shared_state.py)."""

    home: str | None = None  # the host that keeps them: the first reachable by name
    revision: int = 0  # the home host's revision this process follows (0: none yet)
    # Set while they cannot come from, or go to, the home host: this machine's copy is
    # used, and says why ("gpu-a is unreachable: ...").
    note: str | None = None


class FleetSnapshot(Frozen):
    fleet: str
    taken_at: float
    hosts: tuple[HostSnapshot, ...] = ()
    deployments: tuple[DeploymentSnapshot, ...] = Field(default=())
    endpoints: tuple[EndpointSnapshot, ...] = ()
    fleet_state: FleetStateView | None = None

    def deployment(self, name: str) -> DeploymentSnapshot | None:
        return next((d for d in self.deployments if d.name == name), None)
