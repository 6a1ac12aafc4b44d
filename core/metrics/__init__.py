"""vLLM /metrics: scrape, keep the families in use, derive rates and percentiles.

Everything here but `scraper` is pure. The engine owns one `ReplicaMetrics` per replica
and one `DeploymentMetrics` per deployment and puts their `summary()` in snapshots.
"""

from .deployment_metrics import DeploymentMetrics, aggregate
from .histograms import Histogram, quantile
from .replica_metrics import ReplicaMetrics
from .scraper import ScrapeResult, scrape, scrape_all
from .vllm_page import PageValues, read_page

__all__ = [
    "DeploymentMetrics",
    "Histogram",
    "PageValues",
    "ReplicaMetrics",
    "ScrapeResult",
    "aggregate",
    "quantile",
    "read_page",
    "scrape",
    "scrape_all",
]
