"""Endpoints: one local URL in front of one or more deployments' ready replicas.

`proxy` brings aiohttp, and the engine imports `manager` on every command (`status
--json` included), so this package imports it only when one of its names is asked for
here: a one-shot command that serves no endpoint never loads the HTTP stack."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

_HOMES = {
    "Backend": "routing",
    "EndpointProxy": "proxy",
    "ProxyStats": "upstreams",
    "Route": "routing",
    "Shadow": "routing",
    "ShadowSummary": "proxy",
    "UpstreamStats": "upstreams",
}


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
