"""Serves `/metrics` while a controller runs: `fleetdeck run --metrics` and the console.

prometheus_client's own HTTP server, on a registry of our own that holds only the
SnapshotCollector (never the default registry: no process-wide state, two servers in
one process do not see each other's families). The collector is fed by following
`FleetIntents.snapshots`, the stream the console renders and `--record` records.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from fleetdeck.core.errors import UsageError
from fleetdeck.core.export.address import MetricsAddress, parse_metrics_address
from fleetdeck.core.export.collector import SnapshotCollector
from fleetdeck.core.fleet.snapshot import FleetSnapshot

FOLLOW_INTERVAL_S = 1.0
"""The console's own refresh: a scrape sees what the console shows at most this late."""


class SnapshotSource(Protocol):
    def snapshots(self, interval_s: float) -> AsyncIterator[FleetSnapshot]: ...


@dataclass(frozen=True)
class MetricsSetting:
    """The address to serve, and where it was set: a flag or an inventory key, named in
    every error about it."""

    address: MetricsAddress
    origin: str  # "--metrics" or "fleet.toml: [fleet] metrics_address"


def metrics_setting(
    flag: str | None, inventory_value: str | None, inventory_source: object
) -> MetricsSetting | None:
    """`--metrics` wins over the inventory's key; None when neither asks (the default)."""
    if flag is not None:
        try:
            return MetricsSetting(parse_metrics_address(flag), "--metrics")
        except ValueError as exc:
            raise UsageError(
                f"--metrics {flag}: not an address to serve /metrics on",
                str(exc),
                "give HOST:PORT, e.g. --metrics 127.0.0.1:9464, or a port alone",
            ) from None
    if inventory_value is not None:
        # The loader checked it already (core/inventory/models.py).
        origin = f"{inventory_source}: [fleet] metrics_address"
        return MetricsSetting(parse_metrics_address(inventory_value), origin)
    return None


@dataclass
class MetricsServer:
    collector: SnapshotCollector
    setting: MetricsSetting
    httpd: WSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return MetricsAddress(str(host), int(port)).url

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5.0)


def start_metrics_server(setting: MetricsSetting) -> MetricsServer:
    """Binds at once, so that a port in use is a usage error before anything runs."""
    collector = SnapshotCollector()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    address = setting.address
    try:
        httpd, thread = start_http_server(address.port, address.host, registry=registry)
    except OSError as exc:
        raise UsageError(
            f"cannot serve /metrics on {address} (from {setting.origin})",
            _why(exc, address),
            f"{_another_port(setting.origin)}, or stop what listens there "
            f"(`ss -ltnp 'sport = :{address.port}'` names it)",
        ) from None
    return MetricsServer(collector, setting, httpd, thread)


@contextlib.asynccontextmanager
async def serving_metrics(
    source: SnapshotSource, setting: MetricsSetting | None
) -> AsyncIterator[MetricsServer | None]:
    """`/metrics` for the duration of the block, nothing when `setting` is None."""
    if setting is None:
        yield None
        return
    server = start_metrics_server(setting)

    async def follow() -> None:
        async for snapshot in source.snapshots(FOLLOW_INTERVAL_S):
            server.collector.latest = snapshot

    task = asyncio.create_task(follow(), name=f"metrics {setting.address}")
    try:
        yield server
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.to_thread(server.close)  # shutdown() waits up to a poll interval


def _another_port(origin: str) -> str:
    if origin == "--metrics":
        return "give --metrics another port"
    return f"set another port in {origin} (or give --metrics one)"


def _why(exc: OSError, address: MetricsAddress) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {address.port} is in use by another process"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{address.host} is not an address of this machine"
    if exc.errno == errno.EACCES:
        return f"port {address.port} needs privileges (ports below 1024 do)"
    return exc.strerror or str(exc)
