"""What the cost meter (core/metrics/cost.py) is fed, read from the engine's state.

The engine records one reading per scrape round (`Engine.note_metrics`) and asks the
meter for each snapshot's figures; these functions turn host observations and scraped
pages into the meter's plain inputs.
"""

from __future__ import annotations

from collections.abc import Mapping

from fleetdeck.core.fleet.snapshot import MetricsSnapshot
from fleetdeck.core.inventory import Inventory
from fleetdeck.core.metrics.cost import DeploymentReading, Holding, Prices, TokenCounters
from fleetdeck.core.metrics.vllm_page import PageValues
from fleetdeck.core.policy.plan import holds_gpus
from fleetdeck.hosts.observations import HostObservation

Holdings = dict[str, list[Holding]]


def host_prices(inventory: Inventory) -> Prices:
    """Each host's gpu_hour_price ([defaults] already merged in)."""
    return {host.name: host.gpu_hour_price for host in inventory.hosts}


def gpu_holdings(
    observed: Mapping[str, HostObservation | None],
    last_seen: Mapping[str, HostObservation | None],
) -> Holdings:
    """The replicas holding GPUs, by deployment. A host that does not answer now keeps
    what it ran when last seen (its machines still run, and are still paid for)."""
    holdings: Holdings = {}
    for host in sorted(observed.keys() | last_seen.keys()):
        observation = observed.get(host)
        reachable = observation is not None
        shown = observation if observation is not None else last_seen.get(host)
        for replica in shown.replicas if shown is not None else ():
            if not holds_gpus(replica) or (not reachable and replica.stop_requested):
                continue
            holdings.setdefault(replica.deployment, []).append(
                Holding(
                    replica.replica_id,
                    host,
                    len(replica.gpu_uuids),
                    ready=reachable and replica.alive and replica.healthy,
                )
            )
    return holdings


def token_counters(page: PageValues) -> TokenCounters:
    return TokenCounters(page.prompt_tokens, page.generation_tokens, page.process_marker)


def cost_readings(
    inventory: Inventory,
    holdings: Holdings,
    pages: Mapping[str, PageValues],
    summaries: Mapping[str, MetricsSnapshot],
) -> list[DeploymentReading]:
    """One reading per deployment of the inventory, and per one that still holds GPUs."""
    names = [d.name for d in inventory.deployments]
    names += sorted(holdings.keys() - set(names))
    readings = []
    for name in names:
        held = tuple(holdings.get(name, ()))
        summary = summaries.get(name)
        readings.append(
            DeploymentReading(
                name,
                held,
                {
                    rid: token_counters(page)
                    for rid, page in pages.items()
                    if rid.startswith(name + "/")
                },
                requests_total=summary.requests_total if summary else None,
                in_flight=((summary.running or 0.0) + (summary.waiting or 0.0)) if summary else 0.0,
                ready_replicas=sum(1 for h in held if h.ready),
            )
        )
    return readings
