"""Per-deployment endpoints: one local URL in front of a deployment's ready replicas."""

from fleetdeck.core.endpoint.proxy import EndpointProxy
from fleetdeck.core.endpoint.upstreams import ProxyStats, UpstreamStats

__all__ = ["EndpointProxy", "ProxyStats", "UpstreamStats"]
