"""Every message between the host program and the console, declared once.

The host program builds its replies from these classes and sends them with `encode`, so
it cannot send a field that is not declared here; the console (hosts/observations.py)
validates each message against the same classes on arrival. Both sides ship together
(the program is re-sent whenever its content hash changes), so the wire format is free
to change with this file.

Runs on the hosts' python3: stdlib only, Python 3.8 (typing.Optional/Tuple/Dict, no
PEP 604 unions, no builtin generics: annotations here are evaluated at import).
"""

import json
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Dict, Optional, Tuple


class Message:
    """Base of every wire message.

    `__pydantic_config__` is read by pydantic on the console (a plain dict here, so this
    module stays stdlib-only): a field the console does not know is an error, never
    silently dropped, so the two sides cannot drift apart unnoticed.
    """

    __pydantic_config__: ClassVar[Dict[str, str]] = {"extra": "forbid"}


# --- the observation ------------------------------------------------------------------


@dataclass(frozen=True)
class ExitRecord(Message):
    """One exit of a replica's vLLM, as the supervisor recorded it."""

    code: int  # as sh's `wait` reports it: 128 + N when killed by signal N
    at: float  # the host's clock, whole seconds
    # It ended after a stop request (the supervisor did not restart it); None: recorded
    # by the supervisor of an older fleetdeck, which does not say.
    stopped: Optional[bool] = False
    # How long the run lasted, in whole seconds; None: recorded by an older supervisor.
    ran_s: Optional[float] = None


@dataclass(frozen=True)
class ReplicaObservation(Message):
    deployment: str
    replica: str
    port: Optional[int]
    bind_host: str
    spec_hash: str
    gpu_uuids: Tuple[str, ...]
    pid: Optional[int]
    alive: bool
    wrapper_alive: bool
    healthy: bool
    stop_requested: bool
    exits: Tuple[ExitRecord, ...]
    started_at: Optional[float]
    created_at: Optional[float]
    log_size: int
    log_tail: Tuple[str, ...]
    meta: Dict[str, Any] = field(default_factory=dict)
    ready_at: Optional[float] = None  # first seen healthy since its last start
    start_failures: int = 0  # runs that exited since it was last seen ready
    failed_reason: Optional[str] = None  # set when the engine gave up on it
    first_failure: Tuple[str, ...] = ()  # the log's tail at the first failing exit

    @property
    def replica_id(self) -> str:
        return "%s/%s" % (self.deployment, self.replica)


@dataclass(frozen=True)
class GpuProcess(Message):
    pid: Optional[int]
    memory_mib: Optional[float]  # None where the driver cannot tell (NVML_VALUE_NOT_AVAILABLE)
    ours: bool = False  # in one of our replicas' process groups, or carrying our marker
    replica: Optional[str] = None  # "deployment/replica" when ours


@dataclass(frozen=True)
class GpuReading(Message):
    """One GPU; a field it does not report ("[N/A]", Not Supported) is None."""

    index: int
    uuid: str
    name: str
    temperature_c: Optional[float]
    utilization_pct: Optional[float]
    memory_used_mib: Optional[float]
    memory_total_mib: Optional[float]
    power_w: Optional[float]
    power_limit_w: Optional[float]
    processes: Tuple[GpuProcess, ...] = ()

    @property
    def foreign_memory_mib(self) -> float:
        """GPU memory held by processes that are not ours (foreign tenants)."""
        return sum(p.memory_mib or 0.0 for p in self.processes if not p.ours)


@dataclass(frozen=True)
class HostLoad(Message):
    cpu_pct: Optional[float]
    load_1m: Optional[float]
    memory_used_mib: Optional[float]
    memory_total_mib: Optional[float]
    load_5m: Optional[float] = None
    load_15m: Optional[float] = None
    cpu_count: Optional[int] = None
    disk_path: Optional[str] = None  # the state_dir (or its nearest existing parent)
    disk_used_bytes: Optional[int] = None
    disk_total_bytes: Optional[int] = None
    disk_free_bytes: Optional[int] = None  # free to an unprivileged user, as df shows
    net_rx_bytes_s: Optional[float] = None  # every interface but lo
    net_tx_bytes_s: Optional[float] = None


@dataclass(frozen=True)
class OrphanProcess(Message):
    """A process carrying our replica marker that no running replica's state names."""

    pid: int
    marker: str  # the FLEETDECK_REPLICA value: the replica directory it was started for
    replica: str  # "deployment/replica", from the marker
    reason: str
    pgid: Optional[int] = None


@dataclass(frozen=True)
class Lease(Message):
    """Which controller may act on a host, until when (<state_dir>/lease.json)."""

    holder: str
    expires_at: float
    renewed_at: Optional[float] = None


@dataclass(frozen=True)
class FleetOverrides(Message):
    """The fleet's desired-count overrides as its home host keeps them
    (<state_dir>/.fleet/<fleet>/overrides.json); `revision` grows with each write."""

    revision: int
    entries: Dict[str, Any]
    written_at: float = 0.0
    written_by: str = ""  # the operator (user@machine) of the last write

    @property
    def order(self) -> Tuple[int, float]:
        """Which of two documents is newer: by revision, then (two hosts that each took
        a write while the other was away) by the time it was written."""
        return (self.revision, self.written_at)


@dataclass(frozen=True)
class HostObservation(Message):
    """`observe`'s reply, and each line of `watch`."""

    time: float
    replicas: Tuple[ReplicaObservation, ...]
    gpus: Tuple[GpuReading, ...]
    gpu_source: str  # simulated, nvml, nvidia-smi or none
    load: HostLoad
    lease: Optional[Lease] = None  # as found, expired or not: compare expires_at with time
    gpu_error: Optional[str] = None  # why no GPU source answered (e.g. driver not loaded)
    ports_in_use: Tuple[int, ...] = ()  # every listening TCP port on the host
    orphans: Tuple[OrphanProcess, ...] = ()
    # Why the state dir's filesystem counts as full (records.low_space), None while it
    # has room: replicas' records and logs may be lost, restarts cannot be recorded.
    disk_full: Optional[str] = None
    # The fleet's shared state (hosts/remote/fleet_state.py), when the request named the
    # fleet and this host keeps it: the overrides document, and the journal's lines
    # after the offset the request gave (its id, and the offset after the last line).
    fleet_overrides: Optional[FleetOverrides] = None
    fleet_events: Tuple[str, ...] = ()
    fleet_events_id: str = ""
    fleet_events_end: int = 0

    @property
    def foreign_gpu_memory_mib(self) -> Dict[str, float]:
        """GPU UUID -> memory held there by processes that are not ours."""
        return {gpu.uuid: gpu.foreign_memory_mib for gpu in self.gpus}


# --- replies to commands --------------------------------------------------------------


@dataclass(frozen=True)
class LaunchReply(Message):
    """`launch`: started (wrapper_pid set), adopted a running one, or not (error set)."""

    ok: bool
    adopted: bool = False
    port: Optional[int] = None
    error: Optional[str] = None
    wrapper_pid: Optional[int] = None


@dataclass(frozen=True)
class StopReply(Message):
    """`stop`: ok is False only when the replica's process group outlived SIGKILL."""

    ok: bool
    found: bool
    killed: bool = False  # it needed SIGKILL after the grace period
    left_running: bool = False


@dataclass(frozen=True)
class LeaseReply(Message):
    """`lease`: whether we hold it now, and the lease as it stands (None: nobody's)."""

    ok: bool
    acquired: bool
    lease: Optional[Lease] = None


@dataclass(frozen=True)
class FleetWriteReply(Message):
    """`fleet-write`: the overrides document as written, and who held the lease then."""

    ok: bool
    overrides: Optional[FleetOverrides] = None
    lease_holder: Optional[str] = None
    error: Optional[str] = None


@dataclass(frozen=True)
class LogLineMessage(Message):
    """One line of `logs`' stream; `offset` is just after it: resume from there."""

    offset: int
    line: str


@dataclass(frozen=True)
class LogErrorMessage(Message):
    """`logs`' last line when there is no log to read (the replica is unknown or gone)."""

    error: str


# --- encoding -------------------------------------------------------------------------

_FIELD_NAMES: Dict[type, Tuple[str, ...]] = {}


def _declared(value: object) -> Dict[str, Any]:
    """A message's declared fields, and nothing else; json encodes what they hold."""
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        if not isinstance(value, Message):
            raise TypeError("%s is not a wire message" % kind.__name__)
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(value))  # type: ignore[arg-type]
    return {name: getattr(value, name) for name in names}


# Not dataclasses.asdict: it deep-copies every value first, 5x slower (0.7 ms against
# 0.13 ms for 10 replicas on 8 GPUs, Python 3.8) and `watch` sends one each second. The
# encoder asks `_declared` for each message it meets, nested ones too.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_declared)


def encode(message: Message) -> str:
    """One message as a line of compact JSON (tuples become lists)."""
    return _ENCODER.encode(message)
