"""One deployment's endpoint: a reverse proxy on 127.0.0.1 over its ready replicas.

Clients keep one URL while replicas come and go. Each request goes to the next replica
round robin (draining ones skipped) through one shared httpx.AsyncClient, and its
response is relayed as it arrives, so a `stream: true` completion flows event by event.

A request is sent again to another replica when its connection fails before any
response byte came back: refused, reset, or closed with no answer (what a local SSH port
forward does when the replica behind it is gone). That makes a replica dying mid-rollout
invisible to clients. It also means a POST may reach two replicas when the first died
while working on it; for inference that only costs the first one's partial work. Once a
response has started nothing is retried: a body cut short is cut short for the client too
(the connection closes without the last chunk, so the client sees an error, never a
truncated answer that looks whole).

Client connections are kept alive between requests (HTTP/1.1 rules; HTTP/1.0 clients
must ask). Authorization headers are forwarded untouched, since vLLM checks the key, and
never logged.

vLLM checks the key only under /v1; its /metrics, /version and the rest are open. So
when the deployment has an api_key, the endpoint checks the key itself for every other
path, and answers /health itself (ready or not, nothing more): no replica's page leaves
through the endpoint without the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import http.cookiejar
import logging
import posixpath
import urllib.parse
from collections.abc import Mapping

import httpx

from fleetdeck.core.endpoint.http_messages import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    BadRequest,
    RequestHead,
    expected_body,
    read_body,
    read_head,
)
from fleetdeck.core.endpoint.http_responses import (
    CONTINUE,
    LAST_CHUNK,
    Framing,
    choose_framing,
    chunk,
    end_to_end,
    error_response,
    json_response,
    response_head,
)
from fleetdeck.core.endpoint.upstreams import Lease, ProxyStats, UpstreamPool

_log = logging.getLogger(__name__)

# Failures before any response byte: the request can be sent to another replica.
_REFUSED = (httpx.ConnectError, httpx.ConnectTimeout)
_DROPPED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
_RETRIABLE = _REFUSED + _DROPPED
# Where vLLM checks the API key itself; everything else is open on a replica.
_CHECKED_BY_VLLM = "/v1/"


class EndpointProxy:
    def __init__(
        self,
        deployment: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        request_timeout_s: float = 600,
        connect_timeout_s: float = 5.0,
        client_idle_timeout_s: float = 60.0,
        suspend_s: float = 2.0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.deployment = deployment
        self._host = host
        self._port = port
        self._request_timeout_s = request_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._client_idle_timeout_s = client_idle_timeout_s
        self._max_body_bytes = max_body_bytes
        self._pool = UpstreamPool(suspend_s=suspend_s)
        self._server: asyncio.Server | None = None
        self._client: httpx.AsyncClient | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._requests = 0
        self._failures = 0
        self._retries = 0
        self._closing = False
        self._api_key: str | None = None

    def set_api_key(self, key: str | None) -> None:
        """The deployment's API key, which paths vLLM does not guard then require.

        None: the deployment has no key, everything is passed on. "": it has one that
        cannot be read now; nothing but /v1 (which vLLM refuses) and /health gets through.
        """
        self._api_key = key

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"endpoint of {self.deployment} is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        timeout = httpx.Timeout(self._request_timeout_s, connect=self._connect_timeout_s, pool=None)
        self._client = httpx.AsyncClient(
            timeout=timeout,
            # Long streams are normal here: no cap on concurrent upstream connections.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=256),
            trust_env=False,  # a user's HTTP_PROXY must not capture 127.0.0.1 traffic
            follow_redirects=False,
        )
        # The client is shared by every client of the endpoint: keep no cookies.
        self._client.cookies.jar.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._server = await asyncio.start_server(
            self._serve_connection, self._host, self._port, limit=MAX_HEAD_BYTES, backlog=1024
        )

    def set_upstreams(self, upstreams: Mapping[str, str]) -> None:
        """replica id -> base URL; replicas left out get no new requests."""
        self._pool.update(upstreams)

    async def drain(self, replica_id: str, timeout_s: float) -> bool:
        """Stop sending ``replica_id`` new requests; True once its in-flight ones finished."""
        return await self._pool.drain(replica_id, timeout_s)

    def undrain(self, replica_id: str) -> None:
        """Put a drained replica back into the rotation (a rollout that was called off)."""
        self._pool.undrain(replica_id)

    def stats(self) -> ProxyStats:
        return ProxyStats(
            deployment=self.deployment,
            url=self.url if self._server is not None else "",
            requests=self._requests,
            failures=self._failures,
            retries=self._retries,
            in_flight=self._pool.in_flight(),
            upstreams=self._pool.stats(),
        )

    async def close(self) -> None:
        """Stop listening, cut open client connections, close upstream connections."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        if self._client is not None:
            await self._client.aclose()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve_requests(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass  # the client went away or stayed idle too long
        except asyncio.CancelledError:
            # close() cuts connections; asyncio's stream callback would report a
            # cancelled task as an error, so the cancellation ends here.
            if not self._closing:
                raise
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                head = await asyncio.wait_for(read_head(reader), self._client_idle_timeout_s)
                if head is None:
                    return
                if head.expects_continue and expected_body(head, self._max_body_bytes) != 0:
                    writer.write(CONTINUE)
                body = await asyncio.wait_for(
                    read_body(reader, head, self._max_body_bytes), self._client_idle_timeout_s
                )
            except BadRequest as error:
                self._requests += 1
                writer.write(error_response(error.status, str(error), "invalid_request_error"))
                await writer.drain()
                return
            self._requests += 1
            answered = await self._answer_locally(head, writer)
            if answered is None:
                answered = await self._forward(head, body, writer)
            if not answered:
                return

    async def _answer_locally(self, head: RequestHead, writer: asyncio.StreamWriter) -> bool | None:
        """/health, and a refused key, answered here; None for requests a replica answers."""
        path = head.target.split("?", 1)[0]
        if path == "/health":
            ready = self._pool.eligible() > 0
            status = {"status": "ok" if ready else "unavailable"}
            writer.write(
                json_response(
                    200 if ready else 503,
                    status,
                    keep_alive=head.keep_alive,
                    head_only=head.method == "HEAD",
                )
            )
        elif (
            self._api_key is not None and not _checked_by_vllm(path) and not self._authorized(head)
        ):
            message = "this path needs the deployment's API key: send Authorization: Bearer KEY"
            writer.write(
                error_response(401, message, "authentication_error", keep_alive=head.keep_alive)
            )
        else:
            return None
        await writer.drain()
        return head.keep_alive

    def _authorized(self, head: RequestHead) -> bool:
        given = (head.get("authorization") or "").encode()
        return bool(self._api_key) and hmac.compare_digest(
            given, f"Bearer {self._api_key}".encode()
        )

    async def _forward(self, head: RequestHead, body: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; True when the client connection may carry another."""
        assert self._client is not None
        headers = head.forwarded_headers()
        attempts = max(2, self._pool.eligible())
        tried: set[str] = set()
        for attempt in range(attempts):
            lease = self._pool.acquire(tried)
            if lease is None:
                message = f"no ready replica of deployment {self.deployment}"
                return await self._answer_error(writer, head, 503, message, "unavailable")
            tried.add(lease.replica_id)
            url = lease.base_url.copy_with(raw_path=head.target.encode("ascii"))
            request = httpx.Request(head.method, url, headers=headers, content=body)
            try:
                response = await self._client.send(request, stream=True)
            except _RETRIABLE as error:
                lease.release("refused" if isinstance(error, _REFUSED) else "dropped")
                self._warn(lease, head, "failed before answering", error)
                if attempt + 1 < attempts:
                    self._retries += 1
                    continue
                message = f"every replica of deployment {self.deployment} failed to answer"
                return await self._answer_error(writer, head, 502, message, "upstream_error")
            except httpx.TimeoutException:
                lease.release()
                message = f"replica of deployment {self.deployment} did not answer in time"
                return await self._answer_error(writer, head, 504, message, "timeout")
            except httpx.HTTPError as error:  # the upstream broke HTTP: nothing to retry
                lease.release("dropped")
                message = f"replica of deployment {self.deployment} failed: {type(error).__name__}"
                return await self._answer_error(writer, head, 502, message, "upstream_error")
            except BaseException:
                lease.release()
                raise
            try:
                return await self._relay(head, response, writer, lease)
            finally:
                await response.aclose()
        raise AssertionError("unreachable: the last attempt returns")

    async def _relay(
        self,
        head: RequestHead,
        response: httpx.Response,
        writer: asyncio.StreamWriter,
        lease: Lease,
    ) -> bool:
        """Send ``response`` on as it arrives; True when the connection may be reused."""
        framing = choose_framing(
            head.method, response.status_code, "content-length" in response.headers, head.version
        )
        keep_alive = head.keep_alive and framing is not Framing.CLOSE
        headers = end_to_end(response.headers.raw)
        writer.write(
            response_head(
                response.status_code,
                response.reason_phrase,
                headers,
                framing,
                keep_alive,
                head.version,
            )
        )
        failed = False
        try:
            if framing is not Framing.NONE:
                async for data in response.aiter_raw():
                    if data:
                        writer.write(chunk(data) if framing is Framing.CHUNKED else data)
                        await writer.drain()
                if framing is Framing.CHUNKED:
                    writer.write(LAST_CHUNK)
            await writer.drain()
        except httpx.HTTPError as error:
            # Bytes already went to the client: no retry. Closing without the last
            # chunk (or short of Content-Length) tells it the answer is incomplete.
            failed = True
            self._failures += 1
            self._warn(lease, head, "broke off its answer to", error)
            return False
        finally:
            lease.release("dropped" if failed else "ok")
        return keep_alive

    async def _answer_error(
        self, writer: asyncio.StreamWriter, head: RequestHead, status: int, message: str, kind: str
    ) -> bool:
        self._failures += 1
        writer.write(error_response(status, message, kind, keep_alive=head.keep_alive))
        await writer.drain()
        return head.keep_alive

    def _warn(self, lease: Lease, head: RequestHead, what: str, error: Exception) -> None:
        # Method and path only: headers carry the API key, the query may carry user data.
        path = head.target.split("?", 1)[0]
        name = type(error).__name__
        _log.warning(
            "%s: replica %s %s %s %s: %s",
            self.deployment,
            lease.replica_id,
            what,
            head.method,
            path,
            name,
        )


def _checked_by_vllm(path: str) -> bool:
    """Whether vLLM itself checks the key on `path`, as written and once resolved: a
    client must not reach /metrics as /v1/../metrics or /v1/%2e%2e/metrics."""
    resolved = posixpath.normpath(urllib.parse.unquote(path))
    return path.startswith(_CHECKED_BY_VLLM) and resolved.startswith(_CHECKED_BY_VLLM)
