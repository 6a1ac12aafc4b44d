"""Endpoints: one local URL in front of one or more deployments' ready replicas."""

from fleetdeck.core.endpoint.proxy import EndpointProxy, ShadowSummary
from fleetdeck.core.endpoint.routing import Backend, Route, Shadow
from fleetdeck.core.endpoint.upstreams import ProxyStats, UpstreamStats

__all__ = [
    "Backend",
    "EndpointProxy",
    "ProxyStats",
    "Route",
    "Shadow",
    "ShadowSummary",
    "UpstreamStats",
]
