"""Per replica: its status (one series per status, 1 for the current one), restarts,
loading phase, readiness and last exit code. Labels: deployment, replica, host."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric

from fleetdeck.core.export.family_group import PREFIX, Gauges, flag
from fleetdeck.core.fleet.snapshot import FleetSnapshot, ReplicaStatus

LABELS = ("deployment", "replica", "host")


def families(snapshot: FleetSnapshot) -> Iterator[Metric]:
    gauges = Gauges(LABELS)
    gauges.declare(
        "replica_status",
        "1 for the replica's current status, 0 for every other (pending, starting, active, "
        "idle, stopping, stopped, failed, unknown)",
        ["status"],
    )
    gauges.declare("replica_ready", "1 while the replica answers /health")
    gauges.declare(
        "replica_loading_phase",
        "1 for the loading phase a starting replica's log shows (initialising, loading "
        "weights, profiling memory, compiling/capturing, starting API); absent otherwise",
        ["phase"],
    )
    gauges.declare("replica_last_exit_code", "exit code of the replica's last run, once known")
    restarts = CounterMetricFamily(
        PREFIX + "replica_restarts", "times fleetdeck restarted the replica", labels=list(LABELS)
    )
    for deployment in snapshot.deployments:
        for replica in deployment.replicas:
            labels = [deployment.name, replica.id, replica.host]
            for status in ReplicaStatus:
                gauges.add(
                    "replica_status", [*labels, status.value], flag(replica.status is status)
                )
            gauges.add("replica_ready", labels, flag(replica.healthy))
            if replica.phase is not None:
                gauges.add("replica_loading_phase", [*labels, replica.phase], 1.0)
            gauges.add("replica_last_exit_code", labels, replica.last_exit_code)
            restarts.add_metric(labels, float(replica.restarts))
    yield from gauges
    yield restarts
