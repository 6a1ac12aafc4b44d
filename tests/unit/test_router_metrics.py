"""A router endpoint's /metrics page, from its arms' and shadow's numbers (no I/O)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from fleetdeck.core.endpoint.arm_stats import ArmStats, ArmSummary
from fleetdeck.core.endpoint.proxy import ShadowSummary
from fleetdeck.core.endpoint.router_metrics import metrics_page


class Router:
    name = "chat"

    def __init__(self, shadow: bool) -> None:
        self.base, self.cand, self.dark = ArmStats("base"), ArmStats("cand"), ArmStats("dark")
        for stats, latencies, failed in ((self.base, (0.1, 0.2, 0.3), 0), (self.cand, (1.0,), 1)):
            for index, latency in enumerate(latencies):
                stats.started()
                stats.finished(ok=index >= failed, latency_s=latency, ttft_s=None, tokens=None)
        self._shadow = shadow

    def arms(self) -> tuple[ArmSummary, ...]:
        return (self.base.summary(90), self.cand.summary(10))

    def shadow(self) -> ShadowSummary | None:
        if not self._shadow:
            return None
        return ShadowSummary(
            "dark", 0.5, sent=4, skipped=2, stats=self.dark.summary(0.5), output_bytes=0
        )


def _samples(page: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(page.decode())
        for s in family.samples
    }


def test_per_backend_counts_weights_and_latency_quantiles() -> None:
    samples = _samples(metrics_page(Router(shadow=False)))
    base = (("backend", "base"), ("endpoint", "chat"))
    cand = (("backend", "cand"), ("endpoint", "chat"))
    assert samples[("fleetdeck_router_requests_total", base)] == 3
    assert samples[("fleetdeck_router_errors_total", cand)] == 1
    assert samples[("fleetdeck_router_weight", base)] == 90
    assert samples[("fleetdeck_router_in_flight", cand)] == 0
    p50 = ("fleetdeck_router_latency_seconds", (*base, ("quantile", "0.5")))
    p95 = ("fleetdeck_router_latency_seconds", (*base, ("quantile", "0.95")))
    assert round(samples[p50], 3) == 0.2 and round(samples[p95], 3) == 0.3
    assert not any(name.startswith("fleetdeck_router_shadow") for name, _ in samples)


def test_shadow_sent_and_skipped() -> None:
    samples = _samples(metrics_page(Router(shadow=True)))
    dark = (("backend", "dark"), ("endpoint", "chat"))
    assert samples[("fleetdeck_router_shadow_sent_total", dark)] == 4
    assert samples[("fleetdeck_router_shadow_skipped_total", dark)] == 2
    assert samples[("fleetdeck_router_shadow_errors_total", dark)] == 0
