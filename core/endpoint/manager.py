"""The endpoints on 127.0.0.1, one server each, kept in step with the inventory and the
ready replicas while a console or `fleetdeck run` is open.

Two kinds: each deployment's own (named after it, on its endpoint_port or a free port,
one backend), and each [[endpoints]] entry (a router over several deployments: weights,
shadow, stickiness, policy). A route set by `fleetdeck route --to` (read from the
overrides each round, so a switch made by another process is taken) replaces an
endpoint's weights in one step: the chosen backend gets everything, requests already
running finish where they are.

Replicas are reached through their hosts' port forwards. Before a replica is stopped the
engine drains it in every endpoint that sends it requests: no new requests, in-flight
ones finish. That is what lets a rolling update replace every replica without a failed
request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from fleetdeck.core.endpoint.canary_run import CanaryRun
from fleetdeck.core.endpoint.routing import Backend, Route, Shadow
from fleetdeck.core.errors import SecretError
from fleetdeck.core.fleet.snapshot import (
    READY,
    BackendSnapshot,
    CanarySnapshot,
    EndpointSnapshot,
    FleetSnapshot,
    ShadowSnapshot,
)
from fleetdeck.core.inventory import Deployment, Endpoint, Inventory, SecretRef
from fleetdeck.core.policy.canary import CanaryConfig
from fleetdeck.core.state.serving import ServingRecord
from fleetdeck.hosts.errors import HostError

if TYPE_CHECKING:
    from fleetdeck.core.endpoint.proxy import EndpointProxy


@dataclass(frozen=True)
class EndpointPlan:
    """What one endpoint should be."""

    name: str
    port: int  # 0: a free one
    route: Route
    api_key: SecretRef | None
    key_path: str  # where the key is written, for the error if it cannot be read
    own: bool  # a deployment's own endpoint
    routed_to: str | None = None
    canary: CanaryConfig | None = None  # first backend the baseline, second the canary


def served_names(deployment: Deployment) -> tuple[str, ...]:
    """The model names a deployment answers to: what vLLM serves first, then the other."""
    served = deployment.vllm.served_model_name
    return tuple(dict.fromkeys(n for n in (served, deployment.model) if n))


def endpoint_plans(inventory: Inventory, routes: Mapping[str, str]) -> list[EndpointPlan]:
    plans = [
        EndpointPlan(
            name=d.name,
            port=d.endpoint_port or 0,
            route=Route((Backend(d.name, 1.0, served_names(d)),)),
            api_key=d.api_key,
            key_path=f"deployments.{d.name}.api_key",
            own=True,
        )
        for d in inventory.deployments
    ]
    for endpoint in inventory.endpoints:
        routed_to = routes.get(endpoint.name)
        plans.append(
            EndpointPlan(
                name=endpoint.name,
                port=endpoint.port,
                route=_route(inventory, endpoint, routed_to),
                api_key=endpoint.api_key,
                key_path=f"endpoints.{endpoint.name}.api_key",
                own=False,
                routed_to=routed_to,
                canary=_canary_config(endpoint),
            )
        )
    return plans


def _route(inventory: Inventory, endpoint: Endpoint, routed_to: str | None) -> Route:
    def names(deployment: str) -> tuple[str, ...]:
        found = inventory.deployment(deployment)
        return served_names(found) if found is not None else ()

    backends = tuple(
        Backend(
            b.deployment,
            b.weight if routed_to is None else (100.0 if b.deployment == routed_to else 0.0),
            names(b.deployment),
        )
        for b in endpoint.backends
    )
    shadow = None
    if endpoint.shadow is not None:
        deployment = endpoint.shadow.deployment
        shadow = Shadow(deployment, endpoint.shadow.fraction, names(deployment))
    return Route(backends, shadow, endpoint.sticky, endpoint.policy)


def _canary_config(endpoint: Endpoint) -> CanaryConfig | None:
    canary = endpoint.canary
    if canary is None or len(endpoint.backends) != 2:
        return None
    return CanaryConfig(
        step=max(1, min(100, round(canary.step))),
        interval_s=canary.interval,
        max_error_rate=canary.max_error_rate,
        max_p95_ratio=canary.max_p95_ratio,
    )


class EndpointManager:
    def __init__(
        self,
        emit: Callable[[str, str, str, str], None],
        serving: ServingRecord,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self._clock = clock  # the canaries' time: a test may pass its own
        self._canaries: dict[str, CanaryRun] = {}
        self._proxies: dict[str, EndpointProxy] = {}
        self._plans: dict[str, EndpointPlan] = {}
        self._serving = serving
        self._published: tuple[dict[str, str], list[dict[str, object]]] | None = None
        # sync is called from the engine's serving round and from `route` at once: one at
        # a time, or a round that read the routes before a switch would set them back.
        self._syncing = asyncio.Lock()

    @property
    def serving(self) -> bool:
        """Whether this process serves endpoints (a console, `fleetdeck run`)."""
        return bool(self._proxies)

    def url(self, deployment: str) -> str | None:
        proxy = self._proxies.get(deployment)
        plan = self._plans.get(deployment)
        return f"{proxy.url}/v1" if proxy is not None and plan is not None and plan.own else None

    def _own_urls(self) -> dict[str, str]:
        return {
            name: f"{proxy.url}/v1"
            for name, proxy in self._proxies.items()
            if self._plans[name].own
        }

    def urls(self) -> dict[str, str]:
        """Deployment -> its own endpoint's URL: this process's, else a live controller's."""
        return self._own_urls() or self._serving.endpoints()

    def views(self) -> tuple[EndpointSnapshot, ...]:
        """Every endpoint with its route and numbers: this process's, else a live
        controller's on this machine (from its serving record)."""
        if self._proxies:
            return tuple(self._view(name, proxy) for name, proxy in self._proxies.items())
        views = []
        for router in self._serving.routers():
            with contextlib.suppress(ValueError):
                views.append(EndpointSnapshot.model_validate(router))
        return tuple(views)

    def _view(self, name: str, proxy: EndpointProxy) -> EndpointSnapshot:
        plan = self._plans[name]
        backends = tuple(BackendSnapshot(**arm.to_json()) for arm in proxy.arms())
        shadow = proxy.shadow()
        shadow_view = None
        if shadow is not None:
            shadow_view = ShadowSnapshot(
                **shadow.stats.to_json(),
                sent=shadow.sent,
                skipped=shadow.skipped,
                output_bytes=shadow.output_bytes,
            )
        return EndpointSnapshot(
            name=name,
            port=proxy.port,
            url=f"{proxy.url}/v1",
            policy=plan.route.policy,
            sticky=plan.route.sticky,
            own=plan.own,
            routed_to=plan.routed_to,
            backends=backends,
            shadow=shadow_view,
            canary=self._canary_view(name),
        )

    def _canary_view(self, name: str) -> CanarySnapshot | None:
        run = self._canaries.get(name)
        if run is None:
            return None
        view = run.view()
        return CanarySnapshot(
            baseline=view.baseline,
            canary=view.canary,
            phase=view.phase,
            weight=view.weight,
            reason=view.reason,
        )

    async def sync(
        self,
        inventory: Inventory,
        snapshot: FleetSnapshot,
        transports: Mapping[str, object],
        routes: Mapping[str, str] | None = None,
    ) -> None:
        async with self._syncing:
            await self._sync(inventory, snapshot, transports, routes)

    async def _sync(
        self,
        inventory: Inventory,
        snapshot: FleetSnapshot,
        transports: Mapping[str, object],
        routes: Mapping[str, str] | None,
    ) -> None:
        plans = {plan.name: plan for plan in endpoint_plans(inventory, routes or {})}
        upstreams: dict[str, dict[str, str]] = {}
        for name, plan in plans.items():
            proxy = await self._proxy_for(plan)
            if proxy is None:
                continue
            previous = self._plans.get(name)
            plan = self._with_canary(plan, proxy)
            self._plans[name] = plan
            if proxy.route != plan.route:
                proxy.set_route(plan.route)  # one step: running requests finish where they are
                if previous is not None and previous.routed_to != plan.routed_to:
                    to = plan.routed_to or "the inventory's weights"
                    self._emit("endpoint.routed", name, f"all traffic to {to}", "info")
            proxy.set_api_key(_api_key(plan))
            for deployment in plan.route.deployments:
                if deployment not in upstreams:
                    upstreams[deployment] = await _ready_upstreams(snapshot, deployment, transports)
                proxy.set_upstreams(upstreams[deployment], deployment)
                proxy.set_load(deployment, _scraped_load(snapshot, deployment))
        for name in [n for n in self._canaries if plans.get(n) is None or not plans[n].canary]:
            del self._canaries[name]
        for name in [n for n in self._proxies if n not in plans]:
            self._plans.pop(name, None)
            await self._proxies.pop(name).close()
        published = (
            self._own_urls(),
            [view.model_dump(mode="json") for view in self.views()] if self._proxies else [],
        )
        if published != self._published:
            # For one-shot commands: `status` reports the URLs and the routers' numbers.
            self._serving.publish(published[0], published[1])
            self._published = published

    def _with_canary(self, plan: EndpointPlan, proxy: EndpointProxy) -> EndpointPlan:
        """`plan` with its canary's weights, after this round's analysis (which may step
        or roll back); unchanged without a canary or while `fleetdeck route` overrides."""
        if plan.canary is None:
            return plan
        baseline, canary = (b.deployment for b in plan.route.backends[:2])
        run = self._canaries.get(plan.name)
        now = self._clock()
        if run is None or not run.matches(plan.canary, baseline, canary):
            run = self._canaries[plan.name] = CanaryRun(
                plan.name, plan.canary, baseline, canary, now
            )
            self._emit(
                "endpoint.canary-started",
                plan.name,
                f"{canary} gets {run.state.weight}% of the traffic, {baseline} the rest",
                "info",
            )
        run.tick(proxy, now, self._emit, plan.routed_to)
        if plan.routed_to is not None:
            return plan  # the override wins
        return replace(plan, route=run.route(plan.route))

    async def _proxy_for(self, plan: EndpointPlan) -> EndpointProxy | None:
        proxy = self._proxies.get(plan.name)
        if proxy is not None and plan.port not in (0, proxy.port):
            await self._proxies.pop(plan.name).close()  # its port changed in the inventory
            proxy = None
        if proxy is not None:
            return proxy
        # Imported with the first endpoint: it brings aiohttp, which a one-shot command
        # never needs.
        from fleetdeck.core.endpoint.proxy import EndpointProxy

        proxy = EndpointProxy(
            plan.name, port=plan.port, route=plan.route, router_metrics=not plan.own
        )
        try:
            await proxy.start()
        except OSError as exc:
            self._emit(
                "endpoint.failed",
                plan.name,
                f"cannot listen on 127.0.0.1:{plan.port}: {exc}",
                "error",
            )
            return None
        self._proxies[plan.name] = proxy
        self._emit("endpoint.serving", plan.name, f"{proxy.url}/v1", "info")
        return proxy

    async def drain(self, replica_id: str, timeout_s: float) -> None:
        deployment = replica_id.split("/", 1)[0]
        serving = [p for p in self._proxies.values() if p.serves(deployment)]
        await asyncio.gather(*(proxy.drain(replica_id, timeout_s) for proxy in serving))

    async def close(self) -> None:
        async with self._syncing:
            await self._close()

    async def _close(self) -> None:
        for proxy in self._proxies.values():
            with contextlib.suppress(OSError):
                await proxy.close()
        self._proxies.clear()
        self._plans.clear()
        self._canaries.clear()
        self._serving.withdraw()
        self._published = None


async def _ready_upstreams(
    snapshot: FleetSnapshot, deployment: str, transports: Mapping[str, object]
) -> dict[str, str]:
    seen = snapshot.deployment(deployment)
    upstreams = {}
    for replica in seen.replicas if seen else ():
        if replica.status not in READY or not replica.port:
            continue
        transport = transports.get(replica.host)
        try:
            port = await transport.forward_port(replica.port)  # type: ignore[attr-defined]
        except (HostError, OSError, AttributeError):
            continue
        upstreams[replica.id] = f"http://127.0.0.1:{port}"
    return upstreams


def _scraped_load(
    snapshot: FleetSnapshot, deployment: str
) -> dict[str, tuple[float | None, float | None]]:
    """Replica id -> (requests waiting, KV cache usage) from the last /metrics scrape, for
    the policies that weigh them (power_of_two)."""
    seen = snapshot.deployment(deployment)
    return {
        r.id: (r.metrics.waiting, r.metrics.kv_cache_usage)
        for r in (seen.replicas if seen else ())
        if r.metrics is not None
    }


def _api_key(plan: EndpointPlan) -> str | None:
    """The key the endpoint checks on paths vLLM leaves open; "" (nothing matches) when it
    has one that cannot be read: fail closed, the launch reports why."""
    if plan.api_key is None:
        return None
    try:
        return plan.api_key.resolve(plan.key_path)
    except SecretError:
        return ""
