"""Per-deployment endpoints: one local URL in front of a deployment's ready replicas.

`proxy` and `upstreams` bring httpx, and the engine imports `manager` on every command
(`status --json` included), so this package imports them only when one of their names
is asked for here."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetdeck.core.endpoint.proxy import EndpointProxy
    from fleetdeck.core.endpoint.upstreams import ProxyStats, UpstreamStats

__all__ = ["EndpointProxy", "ProxyStats", "UpstreamStats"]

_HOMES = {"EndpointProxy": "proxy", "ProxyStats": "upstreams", "UpstreamStats": "upstreams"}


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
