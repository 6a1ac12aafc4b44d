"""Per deployment: desired and ready replicas, status, traffic (requests/s, tokens/s, KV
cache, queue) and the e2e latency and time-to-first-token histograms. Labels:
deployment, model.

The rates and gauges are the engine's, as the console shows them (over its 10 s rate
window). The histograms are vLLM's buckets summed over the deployment's replicas and
counted from when this fleetdeck process started (core/metrics/totals.py), so
`histogram_quantile(0.95, rate(..._bucket[5m]))` works across restarts and scale-downs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from fleetdeck.core.export.family_group import PREFIX, Gauges, flag
from fleetdeck.core.fleet.snapshot import DeploymentStatus, FleetSnapshot, HistogramSnapshot

LABELS = ("deployment", "model")

# prometheus_client's own spelling of a bound ("0.5", "1.0", "+Inf"), as its Histogram
# writes `le`; typed here because the library leaves it untyped.
go_float: Callable[[float], str] = floatToGoString


def families(snapshot: FleetSnapshot) -> Iterator[Metric]:
    gauges = Gauges(LABELS)
    gauges.declare("deployment_desired_replicas", "replicas that should run")
    gauges.declare("deployment_ready_replicas", "replicas that answer /health")
    gauges.declare(
        "deployment_status",
        "1 for the deployment's current status, 0 for every other (active, loading, idle, "
        "stopped, degraded, failed)",
        ["status"],
    )
    gauges.declare("deployment_requests_per_second", "finished requests per second")
    gauges.declare("deployment_error_ratio", "aborted and errored requests / finished, 0..1")
    gauges.declare("deployment_prompt_tokens_per_second", "prompt tokens processed per second")
    gauges.declare("deployment_generation_tokens_per_second", "tokens generated per second")
    gauges.declare("deployment_running_requests", "requests being served now")
    gauges.declare("deployment_waiting_requests", "requests queued now")
    gauges.declare("deployment_kv_cache_usage_ratio", "KV cache in use, 0..1, mean of replicas")
    e2e = HistogramMetricFamily(
        PREFIX + "deployment_e2e_request_latency_seconds",
        "end-to-end request latency (vLLM's buckets, summed over replicas)",
        labels=list(LABELS),
    )
    ttft = HistogramMetricFamily(
        PREFIX + "deployment_time_to_first_token_seconds",
        "time to first token (vLLM's buckets, summed over replicas)",
        labels=list(LABELS),
    )
    for deployment in snapshot.deployments:
        labels = [deployment.name, deployment.model]
        gauges.add("deployment_desired_replicas", labels, deployment.desired)
        gauges.add("deployment_ready_replicas", labels, deployment.ready)
        for status in DeploymentStatus:
            gauges.add(
                "deployment_status", [*labels, status.value], flag(deployment.status is status)
            )
        metrics = deployment.metrics
        if metrics is None:
            continue
        gauges.add("deployment_requests_per_second", labels, metrics.request_rate)
        gauges.add("deployment_error_ratio", labels, metrics.error_ratio)
        gauges.add("deployment_prompt_tokens_per_second", labels, metrics.prompt_tokens_per_s)
        gauges.add(
            "deployment_generation_tokens_per_second", labels, metrics.generation_tokens_per_s
        )
        gauges.add("deployment_running_requests", labels, metrics.running)
        gauges.add("deployment_waiting_requests", labels, metrics.waiting)
        gauges.add("deployment_kv_cache_usage_ratio", labels, metrics.kv_cache_usage)
        _add_histogram(e2e, labels, metrics.e2e_latency_histogram)
        _add_histogram(ttft, labels, metrics.ttft_histogram)
    yield from gauges
    yield e2e
    yield ttft


def _add_histogram(
    family: HistogramMetricFamily, labels: list[str], histogram: HistogramSnapshot | None
) -> None:
    if histogram is None:
        return
    buckets = [
        (go_float(bound), count)
        for bound, count in zip(histogram.bounds, histogram.cumulative, strict=True)
    ]
    family.add_metric(labels, [*buckets, ("+Inf", histogram.count)], histogram.sum)
