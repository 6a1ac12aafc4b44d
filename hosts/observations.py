"""Typed, immutable views of what the host program reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExitRecord:
    """One run of vLLM that ended, as its supervisor recorded it on the host."""

    code: int  # as sh's `wait` reports it: 128 + N when killed by signal N
    at: float  # the host's clock, whole seconds
    # It ended after a stop request (the supervisor did not restart it); None: recorded
    # by the supervisor of an older fleetdeck, which does not say.
    stopped: bool | None = False

    @classmethod
    def from_json(cls, data: list[Any]) -> ExitRecord:
        stopped = data[2] if len(data) > 2 else None
        return cls(int(data[0]), float(data[1]), None if stopped is None else bool(stopped))


@dataclass(frozen=True)
class ReplicaObservation:
    deployment: str
    replica: str
    port: int | None
    bind_host: str
    spec_hash: str
    gpu_uuids: tuple[str, ...]
    pid: int | None
    alive: bool
    wrapper_alive: bool
    healthy: bool
    stop_requested: bool
    exits: tuple[ExitRecord, ...]
    started_at: float | None
    created_at: float | None
    log_size: int
    log_tail: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    ready_at: float | None = None  # first seen healthy since its last start
    start_failures: int = 0  # runs that exited since it was last seen ready
    failed_reason: str | None = None  # set when the engine gave up on it
    first_failure: tuple[str, ...] = ()  # the log's tail at the first failing exit

    @property
    def replica_id(self) -> str:
        return f"{self.deployment}/{self.replica}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplicaObservation:
        return cls(
            deployment=str(data["deployment"]),
            replica=str(data["replica"]),
            port=int(data["port"]) if data.get("port") is not None else None,
            bind_host=str(data.get("bind_host", "127.0.0.1")),
            spec_hash=str(data.get("spec_hash", "")),
            gpu_uuids=tuple(data.get("gpu_uuids", [])),
            pid=data.get("pid"),
            alive=bool(data.get("alive")),
            wrapper_alive=bool(data.get("wrapper_alive")),
            healthy=bool(data.get("healthy")),
            stop_requested=bool(data.get("stop_requested")),
            exits=tuple(ExitRecord.from_json(e) for e in data.get("exits", [])),
            started_at=data.get("started_at"),
            created_at=data.get("created_at"),
            log_size=int(data.get("log_size", 0)),
            log_tail=tuple(data.get("log_tail", [])),
            meta=dict(data.get("meta", {})),
            ready_at=data.get("ready_at"),
            start_failures=int(data.get("start_failures", 0)),
            failed_reason=data.get("failed_reason"),
            first_failure=tuple(data.get("first_failure", [])),
        )


@dataclass(frozen=True)
class GpuProcess:
    pid: int | None
    memory_mib: float
    ours: bool = False  # in one of our replicas' process groups, or carrying our marker
    replica: str | None = None  # "deployment/replica" when ours

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GpuProcess:
        return cls(
            pid=data.get("pid"),
            memory_mib=float(data.get("memory_mib") or 0),
            ours=bool(data.get("ours")),
            replica=data.get("replica"),
        )


@dataclass(frozen=True)
class GpuReading:
    index: int
    uuid: str
    name: str
    temperature_c: float | None
    utilization_pct: float | None
    memory_used_mib: float | None
    memory_total_mib: float | None
    power_w: float | None
    power_limit_w: float | None
    processes: tuple[GpuProcess, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GpuReading:
        return cls(
            index=int(data["index"]),
            uuid=str(data["uuid"]),
            name=str(data["name"]),
            temperature_c=data.get("temperature_c"),
            utilization_pct=data.get("utilization_pct"),
            memory_used_mib=data.get("memory_used_mib"),
            memory_total_mib=data.get("memory_total_mib"),
            power_w=data.get("power_w"),
            power_limit_w=data.get("power_limit_w"),
            processes=tuple(GpuProcess.from_json(p) for p in data.get("processes", [])),
        )

    @property
    def foreign_memory_mib(self) -> float:
        """GPU memory held by processes that are not ours (foreign tenants)."""
        return sum(p.memory_mib for p in self.processes if not p.ours)


@dataclass(frozen=True)
class HostLoad:
    cpu_pct: float | None
    load_1m: float | None
    memory_used_mib: float | None
    memory_total_mib: float | None
    load_5m: float | None = None
    load_15m: float | None = None
    cpu_count: int | None = None
    disk_path: str | None = None  # the state_dir (or its nearest existing parent)
    disk_used_bytes: int | None = None
    disk_total_bytes: int | None = None
    disk_free_bytes: int | None = None  # free to an unprivileged user, as df shows
    net_rx_bytes_s: float | None = None  # every interface but lo
    net_tx_bytes_s: float | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostLoad:
        return cls(
            cpu_pct=data.get("cpu_pct"),
            load_1m=data.get("load_1m"),
            memory_used_mib=data.get("memory_used_mib"),
            memory_total_mib=data.get("memory_total_mib"),
            load_5m=data.get("load_5m"),
            load_15m=data.get("load_15m"),
            cpu_count=data.get("cpu_count"),
            disk_path=data.get("disk_path"),
            disk_used_bytes=data.get("disk_used_bytes"),
            disk_total_bytes=data.get("disk_total_bytes"),
            disk_free_bytes=data.get("disk_free_bytes"),
            net_rx_bytes_s=data.get("net_rx_bytes_s"),
            net_tx_bytes_s=data.get("net_tx_bytes_s"),
        )


@dataclass(frozen=True)
class OrphanProcess:
    """A process carrying our replica marker that no running replica's state names."""

    pid: int
    marker: str  # the FLEETDECK_REPLICA value: the replica directory it was started for
    replica: str  # "deployment/replica", from the marker
    reason: str
    pgid: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrphanProcess:
        return cls(
            pid=int(data["pid"]),
            marker=str(data.get("marker", "")),
            replica=str(data.get("replica", "")),
            reason=str(data.get("reason", "")),
            pgid=data.get("pgid"),
        )


@dataclass(frozen=True)
class HostObservation:
    time: float
    replicas: tuple[ReplicaObservation, ...]
    gpus: tuple[GpuReading, ...]
    gpu_source: str
    load: HostLoad
    lease_holder: str | None = None
    lease_expires_at: float | None = None
    gpu_error: str | None = None  # why no GPU source answered (e.g. driver not loaded)
    ports_in_use: tuple[int, ...] = ()  # every listening TCP port on the host
    orphans: tuple[OrphanProcess, ...] = ()

    @property
    def foreign_gpu_memory_mib(self) -> dict[str, float]:
        """GPU UUID -> memory held there by processes that are not ours."""
        return {gpu.uuid: gpu.foreign_memory_mib for gpu in self.gpus}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostObservation:
        load = data.get("load", {})
        lease = data.get("lease") or {}
        return cls(
            time=float(data.get("time", 0.0)),
            replicas=tuple(ReplicaObservation.from_json(r) for r in data.get("replicas", [])),
            gpus=tuple(GpuReading.from_json(g) for g in data.get("gpus", [])),
            gpu_source=str(data.get("gpu_source", "none")),
            load=HostLoad.from_json(load),
            lease_holder=lease.get("holder"),
            lease_expires_at=lease.get("expires_at"),
            gpu_error=data.get("gpu_error"),
            ports_in_use=tuple(int(p) for p in data.get("ports_in_use", [])),
            orphans=tuple(OrphanProcess.from_json(o) for o in data.get("orphans", [])),
        )
