"""The inventory as typed, immutable models: what the rest of fleetdeck reads.

Field docstrings are user documentation: `fleetdeck schema` turns them into editor help.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from fleetdeck.core.inventory.durations import Duration, format_duration, parse_duration
from fleetdeck.core.inventory.fields import (
    MAX_REPLICAS,
    EnvMap,
    InventoryModel,
    Labels,
    LocalPath,
    check_address,
    check_currency,
    check_fleet_name,
    check_metrics_address,
    check_name,
    check_user,
    key_error,
)
from fleetdeck.core.inventory.problems import show_value
from fleetdeck.core.inventory.secrets import SecretRef
from fleetdeck.core.inventory.vllm_options import VllmOptions

__all__ = [
    "Autoscale",
    "Canary",
    "Deployment",
    "Endpoint",
    "EndpointBackend",
    "EndpointShadow",
    "Fleet",
    "Host",
    "HostSettings",
    "Inventory",
    "Placement",
    "SecretRef",
    "SimulatedGpus",
    "VllmOptions",
]


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _command(value: str) -> str:
    try:
        argv = shlex.split(value)
    except ValueError as exc:  # e.g. an unclosed quote
        raise ValueError(f"cannot split into words: {exc}") from None
    if not argv:
        raise ValueError('must name a command, e.g. "vllm serve"')
    return value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError('must be more than zero, e.g. "10s"')
    return value


def _at_most(limit: float) -> BeforeValidator:
    """A duration's upper bound: a longer one is a typo (or would overflow on the host).

    Checked before the value is converted, so the message shows it as it was written."""

    def check(value: Any) -> Any:
        try:
            seconds = parse_duration(value)
        except ValueError:
            return value  # the duration type itself says what is wrong
        if seconds > limit:
            raise ValueError(f"must be at most {format_duration(limit)}, got {show_value(value)}")
        return value

    return BeforeValidator(check)


def _port_range(value: tuple[int, int]) -> tuple[int, int]:
    low, high = value
    if low > high:
        raise ValueError(f"[{low}, {high}] is reversed; write [low, high]")
    if low < 1024 or high > 65535:
        raise ValueError(f"ports must lie within 1024..65535, got [{low}, {high}]")
    return value


NonEmpty = Annotated[str, AfterValidator(_non_empty)]
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
ReplicaCount = Annotated[int, Field(ge=0, le=MAX_REPLICAS)]
GpuCount = Annotated[int, Field(ge=0, le=1024)]
MAX_NODES = 64  # hosts in one replica's Ray cluster
Command = Annotated[str, AfterValidator(_command)]
MAX_GPU_HOUR_PRICE = 1_000_000
"""A GPU-hour dearer than this is a typo, in any currency (an H100 hour is about 400,000
Indonesian rupiah)."""


def _price(value: float) -> float:
    if value < 0:
        raise ValueError(f"must be 0 or more (a price per GPU-hour), got {show_value(value)}")
    if value > MAX_GPU_HOUR_PRICE:
        raise ValueError(
            f"must be at most {MAX_GPU_HOUR_PRICE:,} per GPU-hour, got {show_value(value)}"
        )
    return value


GpuHourPrice = Annotated[float, AfterValidator(_price)]
PortRange = Annotated[tuple[int, int], Field(strict=False), AfterValidator(_port_range)]


class Fleet(InventoryModel):
    """The [fleet] table: what this inventory is called."""

    name: Annotated[str, AfterValidator(check_fleet_name)]
    """Fleet name, shown in the title bar and in `status --json`: A-Z, a-z, 0-9, ".", "_"
    and "-", at most 63 characters (it names fleetdeck's state directory)."""
    metrics_address: Annotated[str, AfterValidator(check_metrics_address)] | None = None
    """Serve Prometheus metrics at http://ADDRESS/metrics while `fleetdeck run` or the
    console runs: "127.0.0.1:9464", or a port alone (127.0.0.1); off when unset.
    `--metrics ADDR` wins over it."""
    currency: Annotated[str, AfterValidator(check_currency)] = "USD"
    """ISO 4217 code of the currency `gpu_hour_price` is written in, e.g. "USD", "EUR":
    three capital letters, shown beside every cost figure."""


class SimulatedGpus(InventoryModel):
    """Pretend GPUs, for demo and test hosts that have none."""

    gpus: GpuCount
    """How many GPUs the host reports (at most 1024)."""
    gpu_name: str = "NVIDIA H100 80GB HBM3"
    """The model name each simulated GPU reports."""
    memory_gib: Annotated[float, Field(gt=0)] = 80.0
    """Memory per simulated GPU, in GiB."""


class HostSettings(InventoryModel):
    """Host keys that [defaults] may set for every host (a host's own value wins)."""

    TEXT_FIELDS = frozenset({"env"})

    transport: Literal["ssh", "local"] = "ssh"
    """"ssh": reach the host over SSH; "local": this machine, no sshd (demo, tests)."""
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    """SSH port; when left out, ~/.ssh/config's Port for this address, else 22."""
    user: Annotated[str, AfterValidator(check_user)] | None = None
    """SSH user; your SSH default when unset."""
    identity_file: LocalPath | None = None
    """Private key for SSH (~ expanded); SSH agent and default keys when unset."""
    known_hosts: LocalPath = Field(default_factory=lambda: Path("~/.ssh/known_hosts").expanduser())
    """known_hosts file used to verify the host's key (~ expanded); only `fleetdeck trust`
    ever writes to it."""
    connect_timeout: Annotated[PositiveDuration, _at_most(10 * MINUTE)] = 10.0
    """How long to wait for SSH (TCP, handshake and login) before the host counts as
    unreachable (at most 10m)."""
    keepalive_interval: Annotated[PositiveDuration, _at_most(HOUR)] = 5.0
    """Silence on the SSH connection after which fleetdeck probes it, and again each
    interval while it stays silent (at most 1h)."""
    keepalive_count: Annotated[int, Field(ge=1, le=100)] = 3
    """Unanswered probes after which the connection counts as lost and is rebuilt: a
    host silent for (keepalive_count + 1) x keepalive_interval, 20 s by default, is
    unreachable (sooner while a console or `fleetdeck run` watches it)."""
    vllm: Command = "vllm serve"
    """Command that starts vLLM on the host; fleetdeck appends the model and flags."""
    python: NonEmpty = "python3"
    """Python interpreter on the host (3.8+, stdlib only) that runs fleetdeck's agent."""
    state_dir: NonEmpty = "~/.fleetdeck"
    """Directory ON THE HOST where fleetdeck keeps replica state (expanded there)."""
    port_range: PortRange = (8100, 8199)
    """[low, high] ports on the host that replicas may listen on (1024..65535)."""
    labels: Labels = Field(default_factory=dict)
    """Free-form labels that deployments' placement.labels select hosts by."""
    env: EnvMap = Field(default_factory=dict)
    """Environment variables for every replica on this host (not for secrets)."""
    simulate: SimulatedGpus | None = None
    """Pretend this host has GPUs (demo/test hosts only)."""
    gpu_hour_price: GpuHourPrice | None = None
    """What one GPU of this host costs per hour, in [fleet] currency (0 to 1000000, e.g.
    2.10): cost figures multiply the GPU-hours replicas hold here by it. Unset: the
    GPU-hours are counted, their cost is unknown."""


class Host(HostSettings):
    """One [[hosts]] entry: a machine that runs replicas."""

    name: Annotated[str, AfterValidator(lambda value: check_name(value, "host", 63))]
    """Unique host name: a-z, 0-9 and "-"."""
    address: Annotated[str, AfterValidator(check_address)]
    """Hostname, ~/.ssh/config Host alias or IP address to connect to (required for ssh;
    "localhost" for local)."""

    @model_validator(mode="before")
    @classmethod
    def _local_needs_no_address(cls, data: Any) -> Any:
        # Only ssh needs an address. A misspelt transport ("sssh") is reported as such,
        # not hidden behind a missing address on an earlier line.
        if isinstance(data, dict) and data.get("transport", "ssh") != "ssh":
            return {"address": "localhost", **data}
        return data

    @property
    def vllm_argv(self) -> tuple[str, ...]:
        """The launch command as argv words, e.g. ("vllm", "serve")."""
        return tuple(shlex.split(self.vllm))


class Placement(InventoryModel):
    """Which hosts a deployment's replicas may run on, and how they are spread."""

    labels: Labels = Field(default_factory=dict)
    """Only hosts having all these labels are used."""
    strategy: Literal["spread", "binpack"] = "spread"
    """"spread": fewest replicas per host first; "binpack": fill a host before the next."""


class Autoscale(InventoryModel):
    """Scale replicas between min and max by the number of requests in flight."""

    min: ReplicaCount
    """Fewest replicas (0 lets an idle deployment stop entirely)."""
    max: Annotated[int, Field(ge=1, le=MAX_REPLICAS)]
    """Most replicas (at most 1024)."""
    target_running_per_replica: Annotated[float, Field(gt=0)] = 8.0
    """Running + waiting requests per replica to aim for."""
    scale_up_delay: Annotated[Duration, _at_most(HOUR)] = 30.0
    """How long load must stay above target before adding a replica (at most 1h)."""
    scale_down_delay: Annotated[Duration, _at_most(DAY)] = 300.0
    """How long load must stay below target before removing a replica (at most 1d)."""
    window: Annotated[Duration, _at_most(HOUR)] = 60.0
    """Averaging window for the load signal (at most 1h)."""

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Autoscale:
        if self.min > self.max:
            raise key_error("min", f"min ({self.min}) is greater than max ({self.max})")
        return self


class Deployment(InventoryModel):
    """One [[deployments]] entry: a model served by a number of vLLM replicas."""

    TEXT_FIELDS = frozenset({"env"})

    name: Annotated[str, AfterValidator(lambda value: check_name(value, "deployment", 40))]
    """Unique deployment name: a-z, 0-9 and "-", at most 40 characters."""
    model: NonEmpty
    """Hugging Face model id, or a model directory on the hosts."""
    replicas: ReplicaCount | None = None
    """Fixed number of replicas (default 1, at most 1024); leave out when [autoscale] is
    set."""
    gpus_per_replica: GpuCount | None = None
    """GPUs per replica; 0 = CPU build of vLLM; default tensor x pipeline parallel size."""
    nodes: Annotated[int, Field(ge=1, le=MAX_NODES)] = 1
    """Hosts each replica spans (at most 64): above 1, a replica is a Ray cluster of that
    many hosts, each holding gpus / nodes of its GPUs, and vLLM runs on the first with
    --distributed-executor-backend ray."""
    placement: Placement = Field(default_factory=Placement)
    """Where replicas may run."""
    api_key: SecretRef | None = None
    """API key clients must send; passed to vLLM as VLLM_API_KEY, never in argv."""
    hf_token: SecretRef | None = None
    """Hugging Face token for gated models; passed as HF_TOKEN."""
    idle_timeout: Annotated[Duration, _at_most(30 * DAY)] | None = None
    """Scale to autoscale.min (or stop) after this long without requests (at most 30d)."""
    start_timeout: Annotated[Duration, _at_most(7 * DAY)] = 900.0
    """How long a replica may take to become ready before it counts as failed (at most
    7d)."""
    endpoint_port: Annotated[int, Field(ge=1024, le=65535)] | None = None
    """Port on 127.0.0.1 where the console (and `fleetdeck run`) serves this deployment's
    load-balanced endpoint; a free port is chosen when unset."""
    restart_backoff: Annotated[Duration, _at_most(5 * MINUTE)] = 10.0
    """First delay before the host's supervisor restarts a crashed replica; doubles up to
    5 minutes (so at most 5m), and resets after 10 minutes up."""
    replace_unreachable_after: Annotated[Duration, _at_most(DAY)] = 180.0
    """How long a host may stay unreachable before its replicas of this deployment are
    replaced on other hosts (at most 1d); until then they still count toward `replicas`,
    so a dropped connection does not run a second copy on more GPUs. "0s" replaces at
    once."""
    max_start_failures: Annotated[int, Field(ge=1, le=1000)] = 3
    """Failed starts in a row (never ready) after which a replica is stopped, not retried."""
    update_strategy: Literal["rolling", "recreate"] = "rolling"
    """On a spec change: "rolling" starts a new replica and waits until it is ready before
    stopping an old one (one extra at a time); "recreate" stops the old ones first."""
    env: EnvMap = Field(default_factory=dict)
    """Environment variables for this deployment's replicas (override the host's)."""
    vllm: VllmOptions = Field(default_factory=VllmOptions)
    """Typed vLLM options; unknown keys are errors."""
    autoscale: Autoscale | None = None
    """Scale with load instead of a fixed replica count."""

    @model_validator(mode="before")
    @classmethod
    def _one_replica_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and "replicas" not in data and "autoscale" not in data:
            return {**data, "replicas": 1}
        return data

    @model_validator(mode="after")
    def _consistent_counts(self) -> Deployment:
        if self.replicas is not None and self.autoscale is not None:
            raise key_error(
                "replicas",
                "set either replicas or an [autoscale] table, not both"
                " (autoscale.min is the floor)",
            )
        parallel = self.vllm.tensor_parallel_size * self.vllm.pipeline_parallel_size
        if self.gpus_per_replica is not None and 0 < self.gpus_per_replica < parallel:
            raise key_error(
                "gpus_per_replica",
                f"{self.gpus_per_replica} is fewer than tensor_parallel_size x"
                f" pipeline_parallel_size = {parallel}",
            )
        if self.nodes > 1:
            self._check_split_over_nodes()
        return self

    def _check_split_over_nodes(self) -> None:
        """A replica over several hosts takes the same number of GPUs on each of them."""
        need = self.gpus_needed
        if need == 0:
            raise key_error(
                "nodes",
                f"nodes = {self.nodes} needs GPUs: a CPU build (gpus_per_replica = 0) runs"
                " on one host; remove nodes or give the replica GPUs",
            )
        if need % self.nodes != 0 or need < self.nodes:
            raise key_error(
                "nodes",
                f"{need} GPU{'s' if need != 1 else ''} per replica do not split evenly over"
                f" {self.nodes} hosts; make tensor_parallel_size x pipeline_parallel_size"
                f" (or gpus_per_replica) a multiple of nodes",
            )

    @property
    def gpus_per_node(self) -> int:
        """GPUs each of a replica's hosts holds: gpus_needed / nodes."""
        return self.gpus_needed // self.nodes

    @property
    def gpus_needed(self) -> int:
        """GPUs each replica needs: gpus_per_replica, else tensor x pipeline parallel size."""
        if self.gpus_per_replica is not None:
            return self.gpus_per_replica
        return self.vllm.tensor_parallel_size * self.vllm.pipeline_parallel_size

    @property
    def desired_replicas(self) -> int:
        """Replicas wanted at start: `replicas`, or autoscale.min."""
        if self.replicas is not None:
            return self.replicas
        return self.autoscale.min if self.autoscale is not None else 1


ROUTING_POLICIES = (
    "round_robin",
    "least_outstanding",
    "power_of_two",
    "prefix_affinity",
    "session_affinity",
)
DeploymentName = Annotated[str, AfterValidator(lambda value: check_name(value, "deployment", 40))]


class EndpointBackend(InventoryModel):
    """One deployment an endpoint sends requests to, and its share of them."""

    deployment: DeploymentName
    """The [[deployments]] entry, by name."""
    weight: Annotated[float, Field(ge=0, le=1_000_000)] = 1.0
    """Its share among the backends serving the same model (90 and 10: 90% and 10%); 0
    sends it nothing."""


class EndpointShadow(InventoryModel):
    """A deployment that gets a copy of a fraction of the requests; its answers are only
    measured, never sent to the client."""

    deployment: DeploymentName
    """The [[deployments]] entry, by name."""
    fraction: Annotated[float, Field(ge=0, le=1)]
    """Share of requests copied to it, 0 to 1 (0.2: every fifth)."""


class Canary(InventoryModel):
    """Move weight from the first backend (the baseline) to the second (the canary) step by
    step while the canary stays as good as the baseline; roll it back when it is not."""

    step: Annotated[float, Field(gt=0, le=100)]
    """Percentage points of weight moved per step."""
    interval: Annotated[PositiveDuration, _at_most(DAY)] = 300.0
    """Time between steps, during which the canary is measured (at most 1d)."""
    max_error_rate: Annotated[float, Field(ge=0, le=1)] = 0.01
    """Highest share of failed requests (0 to 1) the canary may show."""
    max_p95_ratio: Annotated[float, Field(gt=0, le=1000)] = 1.2
    """Highest ratio of the canary's p95 latency to the baseline's."""


class Endpoint(InventoryModel):
    """One [[endpoints]] entry: a router on 127.0.0.1 in front of one or more deployments."""

    name: Annotated[str, AfterValidator(lambda value: check_name(value, "endpoint", 40))]
    """Unique endpoint name: a-z, 0-9 and "-", at most 40 characters."""
    port: Annotated[int, Field(ge=1024, le=65535)]
    """Port on 127.0.0.1 where the console (and `fleetdeck run`) serves it."""
    api_key: SecretRef | None = None
    """API key the endpoint requires on every path outside /v1 (where the replicas check
    their own); {env = ...} or {file = ...}."""
    policy: Literal[ROUTING_POLICIES] = "round_robin"  # type: ignore[valid-type]
    """How a backend's replica is chosen: round_robin, least_outstanding, power_of_two,
    prefix_affinity or session_affinity."""
    backends: Annotated[tuple[EndpointBackend, ...], Field(strict=False, min_length=1)]
    """The deployments it sends requests to, e.g. [{ deployment = "llama-v1", weight = 90
    }, { deployment = "llama-v2", weight = 10 }]. A request goes to those serving the model
    it names; among them, by weight."""
    shadow: EndpointShadow | None = None
    """A deployment that also gets a copy of a fraction of the requests."""
    sticky: Literal["session", "user", "none"] = "none"
    """Keep a client on one backend: "session" by its X-Session-Id header, "user" by the
    request's `user` field, "none" not at all."""
    canary: Canary | None = None
    """Shift weight from the first backend (baseline) to the second (canary) step by step
    while it stays healthy; needs exactly two backends. Their weights are the canary's."""
    engine: Literal["builtin", "vllm-router"] = "builtin"
    """"builtin": fleetdeck's router; "vllm-router": vLLM's router (one backend, no shadow
    or split)."""

    @model_validator(mode="after")
    def _consistent_routing(self) -> Endpoint:
        seen: set[str] = set()
        for index, backend in enumerate(self.backends):
            if backend.deployment in seen:
                raise key_error(
                    ("backends", index, "deployment"),
                    f'"{backend.deployment}" is listed twice; give it one entry and weight',
                )
            seen.add(backend.deployment)
        if all(backend.weight == 0 for backend in self.backends):
            raise key_error("backends", "every weight is 0; give at least one backend a weight")
        if self.shadow is not None and self.shadow.deployment in seen:
            raise key_error(
                ("shadow", "deployment"),
                f'"{self.shadow.deployment}" is also a backend; a shadow gets copies of'
                " requests another deployment answers",
            )
        if self.engine == "vllm-router":
            if len(self.backends) > 1:
                raise key_error(
                    "engine", 'weighted backends are builtin-only; use engine = "builtin"'
                )
            if self.shadow is not None:
                raise key_error("engine", 'shadow is builtin-only; use engine = "builtin"')
            if self.canary is not None:
                raise key_error("engine", 'canary is builtin-only; use engine = "builtin"')
        if self.canary is not None and len(self.backends) != 2:
            raise key_error(
                "canary",
                "a canary moves weight from the first backend (the baseline) to the second"
                " (the canary): list exactly two backends",
            )
        return self


class Inventory(InventoryModel):
    """A loaded inventory: [defaults] already merged into every host."""

    source: Path
    """The file it was loaded from."""
    fleet: Fleet
    """The [fleet] table."""
    hosts: Annotated[tuple[Host, ...], Field(strict=False)] = ()
    """Every [[hosts]] entry, in file order."""
    deployments: Annotated[tuple[Deployment, ...], Field(strict=False)] = ()
    """Every [[deployments]] entry, in file order."""
    endpoints: Annotated[tuple[Endpoint, ...], Field(strict=False)] = ()
    """Every [[endpoints]] entry, in file order."""

    def host(self, name: str) -> Host | None:
        """The host called `name`, if any."""
        return next((host for host in self.hosts if host.name == name), None)

    def deployment(self, name: str) -> Deployment | None:
        """The deployment called `name`, if any."""
        return next((item for item in self.deployments if item.name == name), None)

    def endpoint(self, name: str) -> Endpoint | None:
        """The [[endpoints]] entry called `name`, if any."""
        return next((item for item in self.endpoints if item.name == name), None)
