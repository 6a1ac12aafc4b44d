"""An endpoint's route: its backends (deployments, weighted), its shadow, its stickiness,
and the choice of a backend for one request.

Multi-model: a request goes to the backends that serve the model its body names. Among
those, the split follows the weights (policy/traffic_split.py), by a sticky key when the
endpoint has one. When the only backends serving that model have weight 0 (traffic was
switched away, as `fleetdeck route --to` does between deployments of different models),
the request follows the weights over every backend and its `model` is rewritten to the
chosen backend's name, so a client keeps one model name across a blue-green switch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fleetdeck.core.policy.replica_choice import RoutingKey, routing_key_from_request
from fleetdeck.core.policy.traffic_split import next_arm, sticky_arm

Sticky = Literal["session", "user", "none"]
SESSION_HEADER = "X-Session-Id"
MAX_INSPECTED_BYTES = 16 * 1024 * 1024  # larger bodies are forwarded without a look inside


@dataclass(frozen=True)
class Backend:
    deployment: str
    weight: float = 1.0
    models: tuple[str, ...] = ()  # the name vLLM serves first, then the other one matched

    @property
    def served_name(self) -> str | None:
        return self.models[0] if self.models else None


@dataclass(frozen=True)
class Shadow:
    deployment: str
    fraction: float
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    backends: tuple[Backend, ...]
    shadow: Shadow | None = None
    sticky: Sticky = "none"
    policy: str = "round_robin"

    @property
    def deployments(self) -> tuple[str, ...]:
        names = [backend.deployment for backend in self.backends]
        if self.shadow is not None:
            names.append(self.shadow.deployment)
        return tuple(dict.fromkeys(names))

    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b.served_name for b in self.backends if b.served_name))

    @property
    def inspects_bodies(self) -> bool:
        """Whether a request's JSON body must be read to route it."""
        return (
            len(self.backends) > 1
            or self.shadow is not None
            or self.sticky == "user"
            or self.policy != "round_robin"
        )


@dataclass(frozen=True)
class RequestFacts:
    """What routing reads from one request."""

    body: dict[str, Any] | None  # the JSON object sent, when it was read
    model: str | None
    sticky_key: str | None
    key: RoutingKey


def inspect(
    route: Route, method: str, path: str, headers: Mapping[str, str], raw: bytes
) -> RequestFacts:
    body: dict[str, Any] | None = None
    if (
        route.inspects_bodies
        and method == "POST"
        and path.startswith("/v1/")
        and 0 < len(raw) <= MAX_INSPECTED_BYTES
    ):
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None  # vLLM answers it
        body = parsed if isinstance(parsed, dict) else None
    model = body.get("model") if body is not None else None
    user = body.get("user") if body is not None else None
    user = user if isinstance(user, str) and user else None
    session = headers.get(SESSION_HEADER) or None
    sticky_key = {"session": session, "user": user}.get(route.sticky)
    if body is not None:
        key = routing_key_from_request(body, headers)
    else:
        key = RoutingKey(prefix="", session=session)
    return RequestFacts(
        body=body,
        model=model if isinstance(model, str) else None,
        sticky_key=sticky_key,
        key=key,
    )


@dataclass
class Choice:
    backend: Backend | None
    rewrite_model: str | None = None  # the model name to put in the body, if it changes
    not_served: str | None = None  # the model no backend serves


@dataclass
class Splitter:
    """The weighted round robin's credits, one set per group of backends."""

    credits: dict[tuple[str, ...], dict[str, float]] = field(default_factory=dict)

    def choose(self, route: Route, facts: RequestFacts) -> Choice:
        backends = route.backends
        if len(backends) == 1:  # the shorthand endpoint: no look at the model
            return Choice(backends[0] if backends[0].weight > 0 else None)
        live = [b for b in backends if b.weight > 0]
        if facts.model is None:
            group = live
        else:
            serving = [b for b in backends if facts.model in b.models]
            group = [b for b in serving if b.weight > 0]
            if not serving:
                return Choice(None, not_served=facts.model)
            if not group:
                group = live  # switched away from this model's deployment
        chosen = self._pick(group, facts.sticky_key)
        if chosen is None:
            return Choice(None)
        rewrite = None
        if facts.model is not None and facts.model != chosen.served_name and chosen.served_name:
            rewrite = chosen.served_name
        return Choice(chosen, rewrite_model=rewrite)

    def _pick(self, group: list[Backend], sticky_key: str | None) -> Backend | None:
        if len(group) == 1:
            return group[0]
        weights = [(b.deployment, b.weight) for b in group]
        if sticky_key is not None:
            name = sticky_arm(weights, sticky_key)
        else:
            names = tuple(b.deployment for b in group)
            name, self.credits[names] = next_arm(weights, self.credits.get(names, {}))
        return next((b for b in group if b.deployment == name), None)


def with_model(body: dict[str, Any], model: str) -> bytes:
    return json.dumps({**body, "model": model}).encode()
