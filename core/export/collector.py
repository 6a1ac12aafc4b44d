"""A prometheus_client Collector that reads the latest FleetSnapshot at scrape time.

The snapshot is set from the event loop (server.py follows `FleetIntents.snapshots`)
and read from the HTTP server's thread: replacing one reference to an immutable
snapshot is atomic, so no lock is needed and a scrape never sees half a fleet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from fleetdeck.core.export.family_group import PREFIX, FamilyGroup
from fleetdeck.core.export.groups import GROUPS
from fleetdeck.core.fleet.snapshot import FleetSnapshot


class SnapshotCollector(Collector):
    def __init__(self, groups: Iterable[FamilyGroup] = GROUPS) -> None:
        self.groups = tuple(groups)
        self.latest: FleetSnapshot | None = None

    def collect(self) -> Iterator[Metric]:
        snapshot = self.latest  # one read: every group sees the same snapshot
        if snapshot is None:
            return  # before the first observation: an empty page, not zeros
        info = GaugeMetricFamily(
            PREFIX + "snapshot_timestamp_seconds",
            "when the snapshot served was taken (Unix time); labels name the fleet",
            labels=["fleet"],
        )
        info.add_metric([snapshot.fleet], snapshot.taken_at)
        yield info
        for group in self.groups:
            yield from group(snapshot)
