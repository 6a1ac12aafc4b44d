"""Per deployment: what it spends (core/metrics/cost.py's figures on the snapshot).

Labels: deployment, currency, and `window` ("last_hour": a rolling hour in whole
minutes; "since_start": since this fleetdeck process began watching). The figures are
gauges, not counters: "since start" restarts with the process and "last hour" falls as
minutes leave the window. A figure the snapshot does not know (a cost on a host without
`gpu_hour_price`, a cost per token before any token) has no sample.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from fleetdeck.core.export.family_group import Gauges
from fleetdeck.core.fleet.snapshot import CostFigures, FleetSnapshot

LABELS = ("deployment", "currency")

WINDOWS = ("last_hour", "since_start")

# (metric, help, the CostFigures attribute it reads)
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("deployment_gpu_hours", "GPU-hours its replicas held in the window", "gpu_hours"),
    (
        "deployment_idle_gpu_hours",
        "GPU-hours held while it served no request, in the window",
        "idle_gpu_hours",
    ),
    ("deployment_output_tokens", "tokens generated in the window", "output_tokens"),
    ("deployment_total_tokens", "prompt + generated tokens in the window", "total_tokens"),
    ("deployment_cost", "what the held GPU-hours cost in the window", "cost"),
    ("deployment_idle_cost", "what the idle GPU-hours cost in the window", "idle_cost"),
    (
        "deployment_cost_per_million_output_tokens",
        "cost / generated tokens x 1e6, in the window",
        "cost_per_million_output_tokens",
    ),
    (
        "deployment_cost_per_million_total_tokens",
        "cost / (prompt + generated tokens) x 1e6, in the window",
        "cost_per_million_total_tokens",
    ),
)


def families(snapshot: FleetSnapshot) -> Iterator[Metric]:
    gauges = Gauges(LABELS)
    gauges.declare("deployment_gpus_held", "GPUs its replicas hold now")
    gauges.declare("deployment_price_per_hour", "what the GPUs it holds now cost per hour")
    for name, documentation, _ in FIGURES:
        gauges.declare(name, documentation, ["window"])
    for deployment in snapshot.deployments:
        cost = deployment.cost
        if cost is None:
            continue
        labels = [deployment.name, cost.currency]
        gauges.add("deployment_gpus_held", labels, cost.gpus_held)
        gauges.add("deployment_price_per_hour", labels, cost.price_per_hour)
        windows: dict[str, CostFigures] = {
            "last_hour": cost.last_hour,
            "since_start": cost.since_start,
        }
        for window in WINDOWS:
            figures = windows[window]
            for name, _, attribute in FIGURES:
                gauges.add(name, [*labels, window], getattr(figures, attribute))
    yield from gauges
