"""Which deployments the fleet table shows, and in what order (pure, tested as data).

The filter matches a deployment's name, model, hosts or status (case-insensitive, every
word must match somewhere); a `key=value` word matches a label of a host the deployment
has a replica on (`zone=eu`), as the inventory's host labels say.

Sorting is by one table column. Rows without a value for it (no metrics yet) go last in
either direction, so flipping the order does not bury the figures under dashes; ties
keep name order so rows do not jump between snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from fleetdeck.core.fleet.snapshot import DeploymentSnapshot, DeploymentStatus
from fleetdeck.core.metrics.cost_text import money
from fleetdeck.core.policy.rollout_phase import rollout_phase
from fleetdeck.tui.deployment_access import api_base

SortValue = str | float | int | tuple[int, int]

# Worst first when sorted ascending: sorting by status is how you find trouble.
_STATUS_RANK: dict[DeploymentStatus, int] = {
    DeploymentStatus.FAILED: 0,
    DeploymentStatus.DEGRADED: 1,
    DeploymentStatus.LOADING: 2,
    DeploymentStatus.ACTIVE: 3,
    DeploymentStatus.IDLE: 4,
    DeploymentStatus.STOPPED: 5,
}


def replica_hosts(deployment: DeploymentSnapshot) -> str:
    """Hosts the replicas run on, each once, in replica order."""
    hosts = dict.fromkeys(replica.host for replica in deployment.replicas)
    return ", ".join(hosts)


def cost_per_hour(deployment: DeploymentSnapshot) -> str | None:
    """What its GPUs cost per hour now with the currency ("4.20 USD"); None: unknown."""
    cost = deployment.cost
    if cost is None or cost.price_per_hour is None:
        return None
    return f"{money(cost.price_per_hour)} {cost.currency}"


def _price_per_hour(d: DeploymentSnapshot) -> float | None:
    return d.cost.price_per_hour if d.cost else None


def _haystack(deployment: DeploymentSnapshot) -> str:
    parts = [
        deployment.name,
        deployment.model,
        deployment.status.value,
        *(replica.host for replica in deployment.replicas),
        rollout_phase(deployment) or "",
    ]
    return "\n".join(parts).lower()


HostLabels = Mapping[str, Mapping[str, str]]


def matches(
    deployment: DeploymentSnapshot, query: str, host_labels: HostLabels | None = None
) -> bool:
    """True when every word of `query` occurs in the name, model, a host or the status,
    and every `key=value` word is a label of one of its replicas' hosts."""
    haystack = _haystack(deployment)
    labels = [
        {k.lower(): v.lower() for k, v in (host_labels or {}).get(r.host, {}).items()}
        for r in deployment.replicas
    ]
    for word in query.lower().split():
        key, equals, value = word.partition("=")
        if equals and key:
            if not any(host.get(key) == value for host in labels):
                return False
        elif word not in haystack:
            return False
    return True


def filter_deployments(
    deployments: Sequence[DeploymentSnapshot], query: str, host_labels: HostLabels | None = None
) -> tuple[DeploymentSnapshot, ...]:
    return tuple(d for d in deployments if matches(d, query, host_labels))


def _rate(d: DeploymentSnapshot) -> float | None:
    return d.metrics.request_rate if d.metrics else None


def _p95(d: DeploymentSnapshot) -> float | None:
    return d.metrics.e2e_latency_s.p95 if d.metrics else None


SORT_KEYS: dict[str, Callable[[DeploymentSnapshot], SortValue | None]] = {
    "status": lambda d: _STATUS_RANK[d.status],
    "name": lambda d: d.name.lower(),
    "ready": lambda d: (d.ready, d.desired),
    "rate": _rate,
    "p95": _p95,
    "cost": _price_per_hour,
    "hosts": lambda d: replica_hosts(d).lower() or None,
    "model": lambda d: d.model.lower(),
    "endpoint": lambda d: api_base(d),
}
"""Column key -> the value a row sorts by (None: no value, always last)."""


def sort_deployments(
    deployments: Sequence[DeploymentSnapshot], column: str, *, descending: bool = False
) -> tuple[DeploymentSnapshot, ...]:
    key = SORT_KEYS[column]
    by_name = sorted(deployments, key=lambda d: d.name)
    valued = [d for d in by_name if key(d) is not None]
    missing = [d for d in by_name if key(d) is None]
    # sorted() is stable in both directions, so equal values stay in name order.
    ordered = sorted(valued, key=lambda d: key(d), reverse=descending)  # type: ignore[arg-type, return-value]
    return (*ordered, *missing)
