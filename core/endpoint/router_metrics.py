"""A router endpoint's own /metrics page: what it measured per backend and for its shadow,
in Prometheus text, read from the proxy at scrape time.

Only [[endpoints]] entries (routers) answer /metrics themselves; a deployment's own
endpoint passes it on to a replica, whose vLLM page is what a scraper expects there.
Latency quantiles are over the arm's recent requests (arm_stats.WINDOW), not all time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from fleetdeck.core.endpoint.arm_stats import ArmSummary

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _ShadowLike(Protocol):
    @property
    def deployment(self) -> str: ...
    @property
    def sent(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def stats(self) -> ArmSummary: ...


class MeasuredRouter(Protocol):
    """What the page reads: EndpointProxy's numbers."""

    name: str

    def arms(self) -> tuple[ArmSummary, ...]: ...

    def shadow(self) -> _ShadowLike | None: ...


class RouterCollector:
    def __init__(self, router: MeasuredRouter) -> None:
        self._router = router

    def collect(self) -> Iterator[Metric]:
        endpoint = self._router.name
        labels = ["endpoint", "backend"]
        requests = CounterMetricFamily(
            "fleetdeck_router_requests", "Requests sent to the backend", labels=labels
        )
        errors = CounterMetricFamily(
            "fleetdeck_router_errors",
            "Requests that failed: a 5xx or a body cut short",
            labels=labels,
        )
        in_flight = GaugeMetricFamily(
            "fleetdeck_router_in_flight", "Requests running on the backend", labels=labels
        )
        weight = GaugeMetricFamily(
            "fleetdeck_router_weight", "The backend's traffic weight", labels=labels
        )
        latency = GaugeMetricFamily(
            "fleetdeck_router_latency_seconds",
            "Request latency quantile over the backend's recent requests",
            labels=[*labels, "quantile"],
        )
        for arm in self._router.arms():
            names = [endpoint, arm.deployment]
            requests.add_metric(names, arm.requests)
            errors.add_metric(names, arm.errors)
            in_flight.add_metric(names, arm.in_flight)
            weight.add_metric(names, arm.weight)
            for quantile, value in (("0.5", arm.p50_ms), ("0.95", arm.p95_ms)):
                if value is not None:
                    latency.add_metric([*names, quantile], value / 1000)
        yield from (requests, errors, in_flight, weight, latency)
        shadow = self._router.shadow()
        if shadow is None:
            return
        names = [endpoint, shadow.deployment]
        sent = CounterMetricFamily(
            "fleetdeck_router_shadow_sent", "Request copies sent to the shadow", labels=labels
        )
        sent.add_metric(names, shadow.sent)
        skipped = CounterMetricFamily(
            "fleetdeck_router_shadow_skipped",
            "Copies due but not sent: no ready replica, or too many in flight",
            labels=labels,
        )
        skipped.add_metric(names, shadow.skipped)
        shadow_errors = CounterMetricFamily(
            "fleetdeck_router_shadow_errors", "Shadow copies that failed", labels=labels
        )
        shadow_errors.add_metric(names, shadow.stats.errors)
        yield from (sent, skipped, shadow_errors)


def metrics_page(router: MeasuredRouter) -> bytes:
    """The page as of now. A registry per call: nothing global, nothing kept."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RouterCollector(router))
    return generate_latest(registry)
