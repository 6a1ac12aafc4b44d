"""One endpoint: an HTTP router on 127.0.0.1 in front of one or more deployments.

Built on aiohttp, server and client (one library for both ends, both streaming). Each
request is answered in three steps:

1. Answered here: /health (ready or not, nothing more) and, when the endpoint has an API
   key, every path vLLM leaves open (/metrics, /version, ...) without the key. vLLM checks
   the key only under /v1, so no replica's page leaves through the endpoint without it.
   A router ([[endpoints]] entry) also answers /metrics itself, behind that same check:
   its per-backend numbers (router_metrics.py), not one replica's page.
2. A backend (deployment) is chosen by the route (routing.py: the model asked for, the
   weights, a sticky key), and a replica of it by the backend's ReplicaPolicy. A fraction
   of requests is also sent to the shadow deployment, whose answer only goes to the stats.
3. The request is relayed and its response sent on as it arrives, so a `stream: true`
   completion flows event by event.

A request is sent again to another replica when its connection fails before any response
byte came back: refused, reset, or closed with no answer (what a local SSH port forward
does when the replica behind it is gone). That makes a replica dying mid-rollout invisible
to clients; a POST may then reach two replicas, which for inference only costs the first
one's partial work. Once a response has started nothing is retried: a body cut short is
cut short for the client too (the connection closes without the last chunk, so the client
sees an error, never a truncated answer that looks whole). A client that goes away
cancels its request, and closing the upstream connection makes vLLM abort the generation.

Authorization headers are forwarded untouched, since vLLM checks the key, and never
logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import posixpath
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from fleetdeck.core.endpoint.arm_stats import ArmMark, ArmStats, ArmSummary
from fleetdeck.core.endpoint.headers import (
    error_response,
    forwarded_headers,
    json_response,
    relayed_headers,
)
from fleetdeck.core.endpoint.router_metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from fleetdeck.core.endpoint.router_metrics import metrics_page
from fleetdeck.core.endpoint.routing import (
    Backend,
    RequestFacts,
    Route,
    Splitter,
    inspect,
    with_model,
)
from fleetdeck.core.endpoint.upstreams import (
    Lease,
    Outcome,
    ProxyStats,
    UpstreamPool,
    UpstreamStats,
)
from fleetdeck.core.policy.replica_choice import RoutingKey, make_replica_policy
from fleetdeck.core.policy.traffic_split import shadow_due

_log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024
# Where vLLM checks the API key itself; everything else is open on a replica.
_CHECKED_BY_VLLM = "/v1/"
CLOSE_GRACE_S = 1.0
# Shadow requests in flight at most: past that a shadow is skipped, never the primary slowed.
MAX_SHADOWS_IN_FLIGHT = 32
# A JSON answer this small is kept to read its usage (tokens) once relayed.
_USAGE_BODY_BYTES = 4 * 1024 * 1024


class _CutShort(Exception):
    """The replica's body broke off after the client got the head."""


@dataclass(frozen=True)
class ShadowSummary:
    deployment: str
    fraction: float
    sent: int
    skipped: int  # due but not sent: no ready replica, or too many shadows in flight
    stats: ArmSummary
    output_bytes: int


@dataclass
class _Measured:
    """What one relayed answer showed, for the arm's stats."""

    status: int = 0
    ttft_s: float | None = None
    tokens: int | None = None
    output_bytes: int = 0


class EndpointProxy:
    def __init__(
        self,
        name: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        route: Route | None = None,
        request_timeout_s: float = 600,
        connect_timeout_s: float = 5.0,
        client_idle_timeout_s: float = 60.0,
        suspend_s: float = 2.0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        router_metrics: bool = False,
    ) -> None:
        self.name = name
        # A router ([[endpoints]]) answers /metrics with its own numbers; a deployment's
        # own endpoint passes it on to a replica.
        self._router_metrics = router_metrics
        self.deployment = name  # the shorthand endpoint is named after its deployment
        self._host = host
        self._port = port
        self._request_timeout_s = request_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._client_idle_timeout_s = client_idle_timeout_s
        self._suspend_s = suspend_s
        self._max_body_bytes = max_body_bytes
        self._route = route if route is not None else Route((Backend(name),))
        self._pools: dict[str, UpstreamPool] = {}
        self._arm_stats: dict[str, ArmStats] = {}
        self._shadow_stats: dict[str, ArmStats] = {}
        self._shadow_counts: dict[str, list[int]] = {}  # deployment -> [sent, skipped, bytes]
        self._shadow_owed = 0.0
        self._shadows: set[asyncio.Task[None]] = set()
        self._splitter = Splitter()
        self._runner: web.AppRunner | None = None
        self._site_port: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._requests = 0
        self._failures = 0
        self._retries = 0
        self._api_key: str | None = None
        self.set_route(self._route)

    # -- configuration ---------------------------------------------------------------
    @property
    def route(self) -> Route:
        return self._route

    def set_route(self, route: Route) -> None:
        """Take a new route in one step: requests already running finish where they are."""
        for deployment in route.deployments:
            if deployment not in self._pools:
                policy = make_replica_policy(route.policy)
                self._pools[deployment] = UpstreamPool(suspend_s=self._suspend_s, policy=policy)
            elif route.policy != self._route.policy:
                self._pools[deployment].set_policy(make_replica_policy(route.policy))
        for backend in route.backends:
            self._arm_stats.setdefault(backend.deployment, ArmStats(backend.deployment))
        if route.shadow is not None:
            deployment = route.shadow.deployment
            self._shadow_stats.setdefault(deployment, ArmStats(deployment))
            self._shadow_counts.setdefault(deployment, [0, 0, 0])
        self._route = route

    def set_api_key(self, key: str | None) -> None:
        """The endpoint's API key, which paths vLLM does not guard then require.

        None: no key, everything is passed on. "": one that cannot be read now; nothing but
        /v1 (which vLLM refuses) and /health gets through.
        """
        self._api_key = key

    def set_upstreams(self, upstreams: Mapping[str, str], deployment: str | None = None) -> None:
        """replica id -> base URL for `deployment` (the endpoint's own name when None);
        replicas left out get no new requests."""
        self._pool(deployment).update(upstreams)

    def set_load(
        self, deployment: str, load: Mapping[str, tuple[float | None, float | None]]
    ) -> None:
        """Replica id -> (queue depth, KV cache usage) last scraped, for the policies."""
        self._pool(deployment).set_load(load)

    def _pool(self, deployment: str | None) -> UpstreamPool:
        name = deployment if deployment is not None else self.deployment
        pool = self._pools.get(name)
        if pool is None:
            policy = make_replica_policy(self._route.policy)
            pool = self._pools[name] = UpstreamPool(suspend_s=self._suspend_s, policy=policy)
        return pool

    def serves(self, deployment: str) -> bool:
        return deployment in self._pools

    async def drain(self, replica_id: str, timeout_s: float) -> bool:
        """Stop sending ``replica_id`` new requests; True once its in-flight ones finished."""
        results = [await pool.drain(replica_id, timeout_s) for pool in self._pools.values()]
        return all(results)

    def undrain(self, replica_id: str) -> None:
        """Put a drained replica back into the rotation (a rollout that was called off)."""
        for pool in self._pools.values():
            pool.undrain(replica_id)

    # -- what it measured ------------------------------------------------------------
    def stats(self) -> ProxyStats:
        in_flight: dict[str, int] = {}
        upstreams: list[UpstreamStats] = []
        for pool in self._pools.values():
            in_flight.update(pool.in_flight())
            upstreams.extend(pool.stats())
        return ProxyStats(
            deployment=self.name,
            url=self.url if self._runner is not None else "",
            requests=self._requests,
            failures=self._failures,
            retries=self._retries,
            in_flight=in_flight,
            upstreams=tuple(upstreams),
        )

    def arms(self) -> tuple[ArmSummary, ...]:
        """Per backend of the current route: weight, requests, errors, latencies."""
        return tuple(self._arm_stats[b.deployment].summary(b.weight) for b in self._route.backends)

    def arm_mark(self, deployment: str) -> ArmMark:
        """Where `deployment`'s counters stand now: a canary window starts here."""
        return self._arm_stats.setdefault(deployment, ArmStats(deployment)).mark()

    def arm_since(self, deployment: str, mark: ArmMark) -> tuple[int, int, float | None]:
        """(requests, errors, p95 ms) of `deployment` since `mark`."""
        return self._arm_stats.setdefault(deployment, ArmStats(deployment)).since(mark)

    def shadow(self) -> ShadowSummary | None:
        shadow = self._route.shadow
        if shadow is None:
            return None
        sent, skipped, output_bytes = self._shadow_counts[shadow.deployment]
        stats = self._shadow_stats[shadow.deployment].summary(shadow.fraction)
        return ShadowSummary(shadow.deployment, shadow.fraction, sent, skipped, stats, output_bytes)

    # -- serving ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._site_port is None:
            raise RuntimeError(f"endpoint {self.name} is not started")
        return self._site_port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self._connect_timeout_s, sock_read=self._request_timeout_s
        )
        self._session = aiohttp.ClientSession(
            # Long streams are normal here: no cap on concurrent upstream connections.
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
            timeout=timeout,
            # Shared by every client of the endpoint: keep no cookies.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # bytes pass through as the replica encoded them
            # Only what the client sent: no added Accept-Encoding, User-Agent, Content-Type.
            skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
            trust_env=False,  # a user's HTTP_PROXY must not capture 127.0.0.1 traffic
        )
        app = web.Application(client_max_size=self._max_body_bytes)
        app.router.add_route("*", "/{path:.*}", self._handle)
        runner = web.AppRunner(
            app,
            handler_cancellation=True,  # a client that goes away cancels its request
            access_log=None,
            keepalive_timeout=self._client_idle_timeout_s,
            # Closing (the controller stops, the endpoint left the inventory) gives running
            # requests a moment, then cuts them: not aiohttp's default of a minute.
            shutdown_timeout=CLOSE_GRACE_S,
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, backlog=1024)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            await self._session.close()
            raise
        self._runner = runner
        self._site_port = int(runner.addresses[0][1])

    async def close(self) -> None:
        """Stop listening, cut open client connections, close upstream connections."""
        for task in list(self._shadows):
            task.cancel()
        await asyncio.gather(*self._shadows, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self._requests += 1
        if request.version.major != 1:
            # aiohttp parses HTTP/0.9 and HTTP/2.0 request lines; replicas speak HTTP/1.x.
            status = 400 if request.version.major == 0 else 505
            version = f"HTTP/{request.version.major}.{request.version.minor}"
            message = f"{version} is not supported; use HTTP/1.1"
            refusal = self._fail(status, message, "invalid_request_error")
            refusal.force_close()
            return refusal
        path = request.raw_path.split("?", 1)[0]
        local = self._answer_locally(request, path)
        if local is not None:
            return local
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            message = f"the request body is larger than {self._max_body_bytes} bytes"
            return self._fail(413, message, "invalid_request_error")
        route = self._route  # one route for the whole request, whatever changes meanwhile
        facts = inspect(route, request.method, path, request.headers, raw)
        if path == "/v1/models" and request.method == "GET" and len(route.backends) > 1:
            return await self._list_models(request, route)
        choice = self._splitter.choose(route, facts)
        if choice.not_served is not None:
            served = ", ".join(route.models()) or "none"
            message = f"model {choice.not_served!r} is not served by endpoint {self.name}"
            return self._fail(404, f"{message}; it serves: {served}", "model_not_found")
        if choice.backend is None:
            message = f"endpoint {self.name} has no backend with a weight above 0"
            return self._fail(503, message, "unavailable")
        body = raw
        if choice.rewrite_model is not None and facts.body is not None:
            body = with_model(facts.body, choice.rewrite_model)
        headers = forwarded_headers(request.headers)
        self._maybe_shadow(route, request, headers, facts, raw)
        return await self._forward(request, choice.backend.deployment, headers, body, facts.key)

    def _answer_locally(self, request: web.Request, path: str) -> web.Response | None:
        """/health, and a refused key, answered here; None for requests a replica answers."""
        if path == "/health":
            ready = any(
                self._pools[b.deployment].eligible() > 0
                for b in self._route.backends
                if b.weight > 0
            )
            return json_response(
                200 if ready else 503, {"status": "ok" if ready else "unavailable"}
            )
        if (
            self._api_key is not None
            and not _checked_by_vllm(path)
            and not self._authorized(request)
        ):
            message = "this path needs the endpoint's API key: send Authorization: Bearer KEY"
            return error_response(401, message, "authentication_error")
        if self._router_metrics and path == "/metrics" and request.method in ("GET", "HEAD"):
            return web.Response(
                body=metrics_page(self), headers={"Content-Type": METRICS_CONTENT_TYPE}
            )
        return None

    def _authorized(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "").encode()
        return bool(self._api_key) and hmac.compare_digest(
            given, f"Bearer {self._api_key}".encode()
        )

    def _fail(self, status: int, message: str, kind: str) -> web.Response:
        self._failures += 1
        return error_response(status, message, kind)

    # -- the primary request ---------------------------------------------------------
    async def _forward(
        self,
        request: web.Request,
        deployment: str,
        headers: CIMultiDict[str],
        body: bytes,
        key: RoutingKey,
    ) -> web.StreamResponse:
        pool = self._pools[deployment]
        stats = self._arm_stats.setdefault(deployment, ArmStats(deployment))
        started = time.monotonic()
        measured = _Measured()
        stats.started()
        try:
            return await self._attempts(request, deployment, pool, headers, body, key, measured)
        finally:
            ok = measured.status != 0 and measured.status < 500
            stats.finished(
                ok=ok,
                latency_s=time.monotonic() - started,
                ttft_s=measured.ttft_s,
                tokens=measured.tokens,
            )

    async def _attempts(
        self,
        request: web.Request,
        deployment: str,
        pool: UpstreamPool,
        headers: CIMultiDict[str],
        body: bytes,
        key: RoutingKey,
        measured: _Measured,
    ) -> web.StreamResponse:
        assert self._session is not None
        attempts = max(2, pool.eligible())
        tried: set[str] = set()
        started = time.monotonic()
        for attempt in range(attempts):
            lease = pool.acquire(tried, key)
            if lease is None:
                measured.status = 503
                message = f"no ready replica of deployment {deployment}"
                return self._fail(503, message, "unavailable")
            tried.add(lease.replica_id)
            url = URL(lease.base_url + request.raw_path, encoded=True)
            try:
                upstream = await self._session.request(
                    request.method, url, headers=headers, data=body or None, allow_redirects=False
                )
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
                retry = self._refused(lease, "refused", request, error, attempt + 1 < attempts)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:
                retry = self._refused(lease, "dropped", request, error, attempt + 1 < attempts)
            except (aiohttp.SocketTimeoutError, asyncio.TimeoutError):
                lease.release()
                measured.status = 504
                message = f"replica of deployment {deployment} did not answer in time"
                return self._fail(504, message, "timeout")
            except aiohttp.ClientError as error:  # the upstream broke HTTP: nothing to retry
                lease.release("dropped")
                measured.status = 502
                message = f"replica of deployment {deployment} failed: {type(error).__name__}"
                return self._fail(502, message, "upstream_error")
            except BaseException:
                lease.release()
                raise
            else:
                return await self._relay(request, upstream, lease, started, measured)
            if not retry:
                break
            self._retries += 1
        measured.status = 502
        message = f"every replica of deployment {deployment} failed to answer"
        return self._fail(502, message, "upstream_error")

    def _refused(
        self, lease: Lease, outcome: str, request: web.Request, error: Exception, more: bool
    ) -> bool:
        lease.release("refused" if outcome == "refused" else "dropped")
        self._warn(lease.replica_id, request, "failed before answering", error)
        return more

    async def _relay(
        self,
        request: web.Request,
        upstream: aiohttp.ClientResponse,
        lease: Lease,
        started: float,
        measured: _Measured,
    ) -> web.StreamResponse:
        """Send ``upstream`` on as it arrives."""
        measured.status = upstream.status
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        response.headers.extend(relayed_headers(upstream.raw_headers))
        length = upstream.headers.get("Content-Length")
        if length is not None and length.isdigit() and request.method != "HEAD":
            response.content_length = int(length)
        content_type = upstream.headers.get("Content-Type", "")
        streamed = content_type.startswith("text/event-stream")
        kept = bytearray() if content_type.startswith("application/json") else None
        events = 0
        outcome = "ok"
        completed = False
        try:
            await response.prepare(request)
            try:
                async for data in upstream.content.iter_any():
                    if measured.ttft_s is None:
                        measured.ttft_s = time.monotonic() - started
                    measured.output_bytes += len(data)
                    if streamed:
                        events += data.count(b"data: ") - data.count(b"data: [DONE]")
                    elif kept is not None and len(kept) + len(data) <= _USAGE_BODY_BYTES:
                        kept += data
                    await response.write(data)
            except ConnectionResetError:
                # The client left while we wrote to it (aiohttp's ClientConnectionResetError
                # is also a ClientError): not the replica's fault, so not counted against it.
                raise
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                raise _CutShort from error
            await response.write_eof()
            completed = True
        except _CutShort as cut:
            # Bytes already went to the client: no retry. Closing without the last chunk
            # (or short of Content-Length) tells it the answer is incomplete.
            outcome = "dropped"
            measured.status = 502
            self._failures += 1
            assert isinstance(cut.__cause__, Exception)
            self._warn(lease.replica_id, request, "broke off its answer to", cut.__cause__)
            if request.transport is not None:
                request.transport.close()
            return response
        except ConnectionResetError:
            return response  # the client went away (closing upstream aborts vLLM's work)
        finally:
            lease.release(outcome)  # type: ignore[arg-type]
            if completed:
                upstream.release()  # the connection goes back to the pool
            else:
                upstream.close()  # cut, or the client went away: vLLM aborts the request
        measured.tokens = events if streamed else _completion_tokens(kept)
        return response

    # -- the shadow ------------------------------------------------------------------
    def _maybe_shadow(
        self,
        route: Route,
        request: web.Request,
        headers: CIMultiDict[str],
        facts: RequestFacts,
        raw: bytes,
    ) -> None:
        shadow = route.shadow
        if shadow is None or facts.body is None or shadow.fraction <= 0:
            return
        due, self._shadow_owed = shadow_due(shadow.fraction, self._shadow_owed)
        if not due:
            return
        counts = self._shadow_counts[shadow.deployment]
        pool = self._pools[shadow.deployment]
        if len(self._shadows) >= MAX_SHADOWS_IN_FLIGHT or pool.eligible() == 0:
            counts[1] += 1
            return
        body = raw
        if facts.model is not None and facts.model not in shadow.models and shadow.models:
            body = with_model(facts.body, shadow.models[0])
        counts[0] += 1
        task = asyncio.create_task(
            self._shadow_request(
                shadow.deployment, request.method, request.raw_path, headers, body, facts.key
            )
        )
        self._shadows.add(task)
        task.add_done_callback(self._shadows.discard)

    async def _shadow_request(
        self,
        deployment: str,
        method: str,
        raw_path: str,
        headers: CIMultiDict[str],
        body: bytes,
        key: RoutingKey,
    ) -> None:
        """Send one copy to the shadow, read all of its answer, keep only its numbers."""
        assert self._session is not None
        stats = self._shadow_stats[deployment]
        lease = self._pools[deployment].acquire(set(), key)
        if lease is None:
            self._shadow_counts[deployment][1] += 1
            return
        stats.started()
        started = time.monotonic()
        status, ttft, tokens, outcome = 0, None, None, "ok"
        try:
            url = URL(lease.base_url + raw_path, encoded=True)
            async with self._session.request(
                method, url, headers=headers, data=body, allow_redirects=False
            ) as upstream:
                streamed = upstream.headers.get("Content-Type", "").startswith("text/event-stream")
                kept = bytearray()
                events = 0
                async for data in upstream.content.iter_any():
                    ttft = ttft if ttft is not None else time.monotonic() - started
                    self._shadow_counts[deployment][2] += len(data)
                    if streamed:
                        events += data.count(b"data: ") - data.count(b"data: [DONE]")
                    elif len(kept) + len(data) <= _USAGE_BODY_BYTES:
                        kept += data
                status = upstream.status
                tokens = events if streamed else _completion_tokens(kept)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            outcome = "dropped"
            self._warn(lease.replica_id, None, "(shadow) failed", error)
        finally:
            lease.release(outcome)  # type: ignore[arg-type]
            stats.finished(
                ok=0 < status < 500,
                latency_s=time.monotonic() - started,
                ttft_s=ttft,
                tokens=tokens,
            )

    # -- /v1/models over several deployments -----------------------------------------
    async def _list_models(self, request: web.Request, route: Route) -> web.Response:
        """Every backend's models, one list; a refusal (no key, wrong key) is passed on."""
        assert self._session is not None
        headers = forwarded_headers(request.headers)
        listed: dict[str, object] = {}
        for backend in route.backends:
            lease = self._pools[backend.deployment].acquire(set())
            if lease is None:
                continue
            outcome: Outcome = "ok"
            try:
                url = URL(lease.base_url + "/v1/models", encoded=True)
                async with self._session.get(url, headers=headers) as upstream:
                    data = await upstream.read()
                    if upstream.status != 200:
                        return web.Response(
                            status=upstream.status,
                            body=data,
                            headers=relayed_headers(upstream.raw_headers),
                        )
                    for entry in json.loads(data).get("data", []):
                        listed.setdefault(str(entry.get("id")), entry)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, AttributeError):
                outcome = "dropped"
                continue
            finally:
                # Every way out (a refusal passed on, the client leaving) gives the lease
                # back: a lease kept would count as in flight on that replica for good.
                lease.release(outcome)
        if not listed:
            return self._fail(503, f"no ready replica behind endpoint {self.name}", "unavailable")
        return json_response(200, {"object": "list", "data": list(listed.values())})

    def _warn(
        self, replica_id: str, request: web.Request | None, what: str, error: BaseException
    ) -> None:
        # Method and path only: headers carry the API key, the query may carry user data.
        where = f"{request.method} {request.path}" if request is not None else ""
        _log.warning(
            "%s: replica %s %s %s: %s", self.name, replica_id, what, where, type(error).__name__
        )


def _completion_tokens(kept: bytearray | None) -> int | None:
    if not kept:
        return None
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        usage = json.loads(kept).get("usage") or {}
        tokens = usage.get("completion_tokens")
        return int(tokens) if tokens is not None else None
    return None


def _checked_by_vllm(path: str) -> bool:
    """Whether vLLM itself checks the key on `path`, as written and once resolved: a
    client must not reach /metrics as /v1/../metrics or /v1/%2e%2e/metrics."""
    resolved = posixpath.normpath(urllib.parse.unquote(path))
    return path.startswith(_CHECKED_BY_VLLM) and resolved.startswith(_CHECKED_BY_VLLM)
