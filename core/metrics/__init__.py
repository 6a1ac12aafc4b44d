"""vLLM /metrics: scrape, keep the families in use, derive rates and percentiles.

Everything here but `scraper` is pure. `scraper` (httpx) is not imported here: import it
from its module where a scrape happens, so that a command that never scrapes (`status
--json`) does not load httpx. The engine owns one `ReplicaMetrics` per replica
and one `DeploymentMetrics` per deployment and puts their `summary()` in snapshots.
"""

from fleetdeck.core.metrics.deployment_metrics import DeploymentMetrics, aggregate
from fleetdeck.core.metrics.histograms import Histogram, quantile
from fleetdeck.core.metrics.replica_metrics import ReplicaMetrics
from fleetdeck.core.metrics.vllm_page import PageValues, read_page

__all__ = [
    "DeploymentMetrics",
    "Histogram",
    "PageValues",
    "ReplicaMetrics",
    "aggregate",
    "quantile",
    "read_page",
]
