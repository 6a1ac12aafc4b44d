"""Per-deployment endpoints: one local URL in front of a deployment's ready replicas."""

from .proxy import EndpointProxy
from .upstreams import ProxyStats, UpstreamStats

__all__ = ["EndpointProxy", "ProxyStats", "UpstreamStats"]
