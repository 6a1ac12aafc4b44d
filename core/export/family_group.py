"""What a family group is: a function from one FleetSnapshot to metric families.

Every group reads the snapshot only (what the console renders), never the engine, so
what Prometheus sees is what `status --json` says. A group that has nothing to say
yields families without samples, which prometheus_client leaves off the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from fleetdeck.core.fleet.snapshot import FleetSnapshot

FamilyGroup = Callable[[FleetSnapshot], Iterable[Metric]]
"""A module's `families` function; groups.py lists those served."""

PREFIX = "fleetdeck_"


class Gauges:
    """Gauge families of one label set, built side by side; `add` skips unknown values."""

    def __init__(self, labels: Iterable[str]) -> None:
        self.labels = list(labels)
        self.families: dict[str, GaugeMetricFamily] = {}

    def declare(self, name: str, documentation: str, unit_labels: Iterable[str] = ()) -> None:
        self.families[name] = GaugeMetricFamily(
            PREFIX + name, documentation, labels=[*self.labels, *unit_labels]
        )

    def add(self, name: str, labels: Iterable[str], value: float | None) -> None:
        if value is not None:
            self.families[name].add_metric(list(labels), float(value))

    def __iter__(self) -> Iterator[GaugeMetricFamily]:
        return iter(self.families.values())


def flag(value: bool) -> float:
    """Prometheus has no booleans: 1 for true, 0 for false."""
    return 1.0 if value else 0.0
