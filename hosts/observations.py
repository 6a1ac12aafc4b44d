"""Typed, immutable views of what the host program reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExitRecord:
    code: int
    at: float


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
    requests_total: float | None
    started_at: float | None
    created_at: float | None
    log_size: int
    log_tail: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

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
            exits=tuple(ExitRecord(int(c), float(t)) for c, t in data.get("exits", [])),
            requests_total=data.get("requests_total"),
            started_at=data.get("started_at"),
            created_at=data.get("created_at"),
            log_size=int(data.get("log_size", 0)),
            log_tail=tuple(data.get("log_tail", [])),
            meta=dict(data.get("meta", {})),
        )


@dataclass(frozen=True)
class GpuProcess:
    pid: int | None
    memory_mib: float


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
            processes=tuple(
                GpuProcess(p.get("pid"), float(p.get("memory_mib") or 0))
                for p in data.get("processes", [])
            ),
        )


@dataclass(frozen=True)
class HostLoad:
    cpu_pct: float | None
    load_1m: float | None
    memory_used_mib: float | None
    memory_total_mib: float | None


@dataclass(frozen=True)
class HostObservation:
    time: float
    replicas: tuple[ReplicaObservation, ...]
    gpus: tuple[GpuReading, ...]
    gpu_source: str
    load: HostLoad

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostObservation:
        load = data.get("load", {})
        return cls(
            time=float(data.get("time", 0.0)),
            replicas=tuple(ReplicaObservation.from_json(r) for r in data.get("replicas", [])),
            gpus=tuple(GpuReading.from_json(g) for g in data.get("gpus", [])),
            gpu_source=str(data.get("gpu_source", "none")),
            load=HostLoad(
                load.get("cpu_pct"),
                load.get("load_1m"),
                load.get("memory_used_mib"),
                load.get("memory_total_mib"),
            ),
        )
