"""Scrape every ready replica's /metrics through its host's transport and keep the
rolling per-replica and per-deployment metrics the snapshots carry.

Replicas bind 127.0.0.1 on their hosts, so the console reaches them through a port
forward on the host's one SSH connection (the local transport needs none).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fleetdeck.core.fleet.snapshot import READY, FleetSnapshot, MetricsSnapshot
from fleetdeck.core.metrics import DeploymentMetrics, PageValues, ReplicaMetrics
from fleetdeck.hosts.errors import HostError

if TYPE_CHECKING:
    import httpx

SCRAPE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Target:
    replica_id: str
    deployment: str
    host: str
    port: int


class Telemetry:
    """Owned by the engine; `round()` is called once per scrape interval."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._replicas: dict[str, ReplicaMetrics] = {}
        self._deployments: dict[str, DeploymentMetrics] = {}
        self.replica_summaries: dict[str, MetricsSnapshot] = {}
        self.deployment_summaries: dict[str, MetricsSnapshot] = {}
        self._client: httpx.AsyncClient | None = None

    def targets(self, snapshot: FleetSnapshot) -> list[Target]:
        return [
            Target(r.id, d.name, r.host, r.port)
            for d in snapshot.deployments
            for r in d.replicas
            if r.status in READY and r.port
        ]

    async def round(self, snapshot: FleetSnapshot, forwards: Mapping[str, object]) -> None:
        """One scrape of every ready replica; `forwards` maps host name to its transport."""
        targets = self.targets(snapshot)
        urls: list[str] = []
        reachable: list[Target] = []
        for target in targets:
            transport = forwards.get(target.host)
            try:
                port = await transport.forward_port(target.port)  # type: ignore[attr-defined]
            except (HostError, OSError, AttributeError):
                continue
            urls.append(f"http://127.0.0.1:{port}")
            reachable.append(target)
        # Imported at the first scrape: a one-shot `status --json` never scrapes, and
        # httpx is a good part of a cold command's start-up.
        import httpx

        from fleetdeck.core.metrics.scraper import scrape_all

        if self._client is None:
            self._client = httpx.AsyncClient()
        results = await scrape_all(self._client, urls, SCRAPE_TIMEOUT_S)
        for target, result in zip(reachable, results, strict=True):
            if result.ok and result.text is not None:
                metrics = self._replicas.setdefault(
                    target.replica_id, ReplicaMetrics(window_s=self.window_s)
                )
                metrics.add_sample(result.at, result.text)
        live = {t.replica_id for t in targets}
        for gone in set(self._replicas) - live:
            del self._replicas[gone]
        self._summarise(snapshot, time.time())

    def _summarise(self, snapshot: FleetSnapshot, now: float) -> None:
        self.replica_summaries = {
            rid: summary for rid, m in self._replicas.items() if (summary := m.summary())
        }
        summaries = {}
        for deployment in snapshot.deployments:
            metrics = self._deployments.setdefault(deployment.name, DeploymentMetrics())
            own = [m for rid, m in self._replicas.items() if rid.startswith(deployment.name + "/")]
            summary = metrics.update(now, own, max_age_s=self.window_s)
            if summary is not None:
                summaries[deployment.name] = summary
        self.deployment_summaries = summaries

    def pages(self) -> dict[str, PageValues]:
        """Each scraped replica's latest page, by replica id."""
        return {
            rid: page for rid, m in self._replicas.items() if (page := m.latest_page()) is not None
        }

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
