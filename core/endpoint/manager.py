"""One load-balanced endpoint per deployment on 127.0.0.1, kept in step with its ready
replicas, while a console or `fleetdeck run` is open.

Replicas are reached through their hosts' port forwards. Before a replica is stopped the
engine drains it here: no new requests, in-flight ones finish. That is what lets a
rolling update replace every replica without a failed request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from fleetdeck.core.errors import SecretError
from fleetdeck.core.fleet.snapshot import READY, FleetSnapshot
from fleetdeck.core.inventory import Deployment, Inventory
from fleetdeck.core.state.serving import ServingRecord
from fleetdeck.hosts.errors import HostError

if TYPE_CHECKING:
    from fleetdeck.core.endpoint.proxy import EndpointProxy


class EndpointManager:
    def __init__(self, emit: Callable[[str, str, str, str], None], serving: ServingRecord) -> None:
        self._emit = emit
        self._proxies: dict[str, EndpointProxy] = {}
        self._serving = serving
        self._published: dict[str, str] = {}

    def url(self, deployment: str) -> str | None:
        proxy = self._proxies.get(deployment)
        return f"{proxy.url}/v1" if proxy is not None else None

    def urls(self) -> dict[str, str]:
        """Deployment -> endpoint URL: this process's, else a live controller's here."""
        own = {name: f"{proxy.url}/v1" for name, proxy in self._proxies.items()}
        return own or self._serving.endpoints()

    async def sync(
        self, inventory: Inventory, snapshot: FleetSnapshot, transports: Mapping[str, object]
    ) -> None:
        for deployment in inventory.deployments:
            proxy = self._proxies.get(deployment.name)
            if proxy is None:
                # Imported with the first endpoint: it brings httpx, which a one-shot
                # command never needs.
                from fleetdeck.core.endpoint.proxy import EndpointProxy

                proxy = EndpointProxy(deployment.name, port=deployment.endpoint_port or 0)
                try:
                    await proxy.start()
                except OSError as exc:
                    self._emit(
                        "endpoint.failed",
                        deployment.name,
                        f"cannot listen on 127.0.0.1:{deployment.endpoint_port}: {exc}",
                        "error",
                    )
                    continue
                self._proxies[deployment.name] = proxy
                self._emit("endpoint.serving", deployment.name, f"{proxy.url}/v1", "info")
            proxy.set_api_key(_api_key(deployment))
            seen = snapshot.deployment(deployment.name)
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
            proxy.set_upstreams(upstreams)
        for name in [n for n in self._proxies if inventory.deployment(n) is None]:
            await self._proxies.pop(name).close()
        own = {name: f"{proxy.url}/v1" for name, proxy in self._proxies.items()}
        if own != self._published:
            self._serving.publish(own)  # for one-shot commands: `status` reports them
            self._published = own

    async def drain(self, replica_id: str, timeout_s: float) -> None:
        proxy = self._proxies.get(replica_id.split("/", 1)[0])
        if proxy is not None:
            await proxy.drain(replica_id, timeout_s)

    async def close(self) -> None:
        for proxy in self._proxies.values():
            with contextlib.suppress(OSError):
                await proxy.close()
        self._proxies.clear()
        self._serving.withdraw()
        self._published = {}


def _api_key(deployment: Deployment) -> str | None:
    """The key the endpoint checks on paths vLLM leaves open; "" (nothing matches) when
    the deployment has one that cannot be read: fail closed, the launch reports why."""
    if deployment.api_key is None:
        return None
    try:
        return deployment.api_key.resolve(f"deployments.{deployment.name}.api_key")
    except SecretError:
        return ""
