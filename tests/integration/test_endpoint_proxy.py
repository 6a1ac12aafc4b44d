"""The per-deployment endpoint in front of real fleetdeck-sim-vllm processes.

Each simulator runs in a session of its own on a port from this process's test slot and
is killed by group at teardown. What the upstreams saw is read from their own /metrics
and access logs, never from the proxy's view of itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from fleetdeck.core.endpoint import EndpointProxy, ProxyStats
from fleetdeck.hosts.sim_vllm.sample_text import count_tokens
from tests.harness.ports import slot_allocator
from tests.unit.test_sim_metrics import parse_families

pytestmark = pytest.mark.integration

SIM = Path(sys.executable).with_name("fleetdeck-sim-vllm")
MODEL = "sim/m"
FAST = ("--sim-load-seconds", "0.2", "--sim-token-latency-ms", "5", "--sim-ttft-ms", "5")


class Sim:
    def __init__(
        self,
        port: int,
        log_path: Path,
        args: tuple[str, ...],
        env: dict[str, str],
        model: str = MODEL,
    ):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        argv = [str(SIM), "serve", model, "--host", "127.0.0.1", "--port", str(port), *args]
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **env},
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 8.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise AssertionError(f"sim on {self.port} not ready:\n{self.log()}")

    def served(self) -> float:
        """Requests this simulator finished, from its own /metrics."""
        page = parse_families(httpx.get(f"{self.url}/metrics", timeout=5).text)
        return sum(
            value
            for (name, _labels), value in page["vllm:request_success_total"].samples.items()
            if name == "vllm:request_success_total"
        )

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)


Launch = Callable[..., list[Sim]]


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    started: list[Sim] = []

    def start(count: int, *args: str, env: dict[str, str] | None = None) -> list[Sim]:
        first, _ = slot_allocator().take_block(count)
        sims = [
            Sim(first + i, tmp_path / f"sim-{first + i}.log", args or FAST, env or {})
            for i in range(count)
        ]
        started.extend(sims)
        for sim in sims:
            sim.wait_ready()
        return sims

    yield start
    for sim in started:
        sim.kill()


@pytest.fixture
async def proxy() -> AsyncIterator[EndpointProxy]:
    endpoint = EndpointProxy("llama", suspend_s=0.5)
    await endpoint.start()
    yield endpoint
    await endpoint.close()


def upstreams(sims: list[Sim]) -> dict[str, str]:
    return {f"r{i}": sim.url for i, sim in enumerate(sims)}


def chat_body(max_tokens: int = 2, **extra: object) -> dict[str, object]:
    messages = [{"role": "user", "content": "Where is Paris?"}]
    return {"model": MODEL, "messages": messages, "max_tokens": max_tokens, **extra}


async def test_round_robin_spreads_requests_over_every_replica(
    launch: Launch, proxy: EndpointProxy
) -> None:
    sims = launch(3)
    proxy.set_upstreams(upstreams(sims))
    async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as client:
        for _ in range(12):
            answer = await client.post("/v1/chat/completions", json=chat_body())
            assert answer.status_code == 200, answer.text
    assert [sim.served() for sim in sims] == [4, 4, 4]
    stats = proxy.stats()
    assert (stats.requests, stats.failures, stats.retries) == (12, 0, 0)
    assert {u.replica_id: u.requests for u in stats.upstreams} == {"r0": 4, "r1": 4, "r2": 4}
    assert dict(stats.in_flight) == {"r0": 0, "r1": 0, "r2": 0}


async def test_a_stream_flows_event_by_event(launch: Launch, proxy: EndpointProxy) -> None:
    (sim,) = launch(1, "--sim-load-seconds", "0.2", "--sim-token-latency-ms", "10")
    proxy.set_upstreams({"r0": sim.url})
    arrivals: list[float] = []
    events: list[str] = []
    async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as client:
        started = time.monotonic()
        body = chat_body(40, stream=True)
        async with client.stream("POST", "/v1/chat/completions", json=body) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["transfer-encoding"] == "chunked"
            async for line in stream.aiter_lines():
                if line:
                    arrivals.append(time.monotonic() - started)
                    events.append(line)
        whole = await client.post("/v1/chat/completions", json=chat_body(40))
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-1]]
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert streamed == whole.json()["choices"][0]["message"]["content"]
    # 40 tokens 10 ms apart: ~0.4 s from the first event to the last when relayed as
    # they come, ~0 when buffered.
    assert arrivals[-1] - arrivals[0] > 0.3, arrivals
    assert arrivals[0] < 0.25, arrivals
    assert len({round(t, 3) for t in arrivals}) > 20


async def test_the_api_key_passes_through_to_the_replica(
    launch: Launch, proxy: EndpointProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sims = launch(2, *FAST, env={"VLLM_API_KEY": "s3cret-key"})
    proxy.set_upstreams(upstreams(sims))
    good = {"Authorization": "Bearer s3cret-key"}
    async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as client:
        refused = await client.get("/v1/models")
        assert (refused.status_code, refused.json()) == (401, {"error": "Unauthorized"})
        wrong = await client.post(
            "/v1/chat/completions", json=chat_body(), headers={"Authorization": "Bearer no"}
        )
        assert wrong.status_code == 401
        for _ in range(2):  # both replicas
            ok = await client.post("/v1/chat/completions", json=chat_body(), headers=good)
            assert ok.status_code == 200
        assert (await client.get("/health")).status_code == 200
    assert [sim.served() for sim in sims] == [1, 1]
    assert "s3cret" not in caplog.text


async def test_without_the_key_no_replica_page_leaves_through_the_endpoint(
    launch: Launch, proxy: EndpointProxy
) -> None:
    """vLLM checks the key only under /v1: /metrics, /version... are the endpoint's to guard,
    and /health is the endpoint's own answer, never a replica's page."""
    sims = launch(1, *FAST, env={"VLLM_API_KEY": "s3cret-key"})
    proxy.set_upstreams(upstreams(sims))
    good = {"Authorization": "Bearer s3cret-key"}
    async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as client:
        # No key on the deployment: passed on, as a replica would answer.
        assert (await client.get("/metrics")).status_code == 200
        proxy.set_api_key("s3cret-key")
        for path in ("/metrics", "/version", "/v1/../metrics", "/v1/%2e%2e/metrics", "/load"):
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                refused = await client.get(path, headers=headers)
                assert refused.status_code == 401, path
                assert "vllm:" not in refused.text
        metrics = await client.get("/metrics", headers=good)
        assert metrics.status_code == 200 and "vllm:num_requests_running" in metrics.text
        health = await client.get("/health")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        assert health.headers["content-type"] == "application/json"
        head = await client.head("/health")
        assert (head.status_code, head.content) == (200, b"")
        assert (await client.get("/v1/models")).status_code == 401  # vLLM's own check
        proxy.set_api_key("")  # a key that cannot be read: nothing matches
        assert (await client.get("/metrics", headers=good)).status_code == 401
    assert sims[0].served() == 0


async def test_no_ready_replica_is_a_503_in_openai_shape(
    launch: Launch, proxy: EndpointProxy
) -> None:
    async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as client:
        answer = await client.post("/v1/chat/completions", json=chat_body())
        assert answer.status_code == 503
        assert answer.json() == {
            "error": {"message": "no ready replica of deployment llama", "type": "unavailable"}
        }
        (sim,) = launch(1)
        proxy.set_upstreams({"r0": sim.url})
        assert (await client.post("/v1/chat/completions", json=chat_body())).status_code == 200
        assert await proxy.drain("r0", 1)
        assert (await client.get("/health")).status_code == 503  # only a draining one left
        proxy.undrain("r0")
        assert (await client.get("/health")).status_code == 200
        proxy.set_upstreams({})
        assert (await client.get("/health")).status_code == 503
    # The endpoint answers /health itself: only the refused completion failed.
    assert proxy.stats().failures == 1


async def test_drain_waits_for_requests_in_flight_while_new_ones_go_elsewhere(
    launch: Launch, proxy: EndpointProxy
) -> None:
    a, b = launch(2)
    proxy.set_upstreams({"a": a.url})
    async with httpx.AsyncClient(base_url=proxy.url, timeout=20) as client:
        slow = asyncio.create_task(client.post("/v1/chat/completions", json=chat_body(200)))
        while proxy.stats().in_flight.get("a") != 1:
            await asyncio.sleep(0.01)
        proxy.set_upstreams({"a": a.url, "b": b.url})
        drain = asyncio.create_task(proxy.drain("a", 10))
        await asyncio.sleep(0.01)
        # The engine re-sends its ready set while a rollout drains: "a" stays drained.
        proxy.set_upstreams({"a": a.url, "b": b.url})
        for _ in range(6):
            answer = await client.post("/v1/chat/completions", json=chat_body())
            assert answer.status_code == 200
        assert not drain.done(), "drain returned while a request was still running on a"
        assert not slow.done()
        assert await drain is True
        assert slow.done()
        finished = await slow
        assert finished.status_code == 200
        assert finished.json()["usage"]["completion_tokens"] == 200
        assert (a.served(), b.served()) == (1, 6)

        # A drain that runs out of time says so, and its replica still finishes.
        proxy.set_upstreams({"b": b.url})
        slow = asyncio.create_task(client.post("/v1/chat/completions", json=chat_body(100)))
        while proxy.stats().in_flight.get("b") != 1:
            await asyncio.sleep(0.01)
        assert await proxy.drain("b", 0.05) is False
        assert (await slow).status_code == 200
    assert dict(proxy.stats().in_flight) == {"b": 0}


async def test_kill_9_of_a_replica_under_load_fails_no_request(
    launch: Launch, proxy: EndpointProxy
) -> None:
    sims = launch(3)
    victim = sims[0]
    proxy.set_upstreams(upstreams(sims))
    statuses: list[int] = []
    total = 200

    async def worker(client: httpx.AsyncClient) -> None:
        while len(statuses) < total:
            answer = await client.post("/v1/chat/completions", json=chat_body(3))
            statuses.append(answer.status_code)
            if len(statuses) == total // 4:
                victim.kill()  # leader and engine core at once, like kill -9 of the group

    async with httpx.AsyncClient(base_url=proxy.url, timeout=20) as client:
        await asyncio.gather(*(worker(client) for _ in range(4)))
    assert victim.proc.returncode == -signal.SIGKILL
    assert len(statuses) >= total
    assert set(statuses) == {200}, [s for s in statuses if s != 200]
    stats = proxy.stats()
    assert stats.failures == 0
    assert stats.retries > 0
    # Every answer came from exactly one replica: the survivors' own counters plus what
    # the victim answered before it died (it has no /metrics left to ask).
    assert sum(sim.served() for sim in sims[1:]) + answered_by(stats, "r0") == len(statuses)


def answered_by(stats: ProxyStats, replica_id: str) -> int:
    (upstream,) = (u for u in stats.upstreams if u.replica_id == replica_id)
    return upstream.requests - upstream.failures


async def test_request_body_and_query_string_arrive_intact(
    launch: Launch, proxy: EndpointProxy
) -> None:
    (sim,) = launch(1, *FAST, "--max-model-len", "1000000")
    proxy.set_upstreams({"r0": sim.url})
    prompt = "Grüße aus Köln, 東京 → Paris! " * 12_000  # ~400 KB of UTF-8
    body = json.dumps({"model": MODEL, "prompt": prompt, "max_tokens": 3}).encode()
    target = "/v1/completions?trace=a%20b&slash=%2F&empty=&plus=1+2"
    headers = {"Content-Type": "application/json", "X-Request-Tag": "tag-1"}

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    async with httpx.AsyncClient(base_url=proxy.url, timeout=20) as client:
        plain = await client.post(target, content=body, headers=headers)
        # A body the client sends chunked is de-chunked and forwarded whole.
        rechunked = await client.post(target, content=chunked(), headers=headers)
    direct = httpx.post(f"{sim.url}/v1/completions", content=body, headers=headers, timeout=20)
    for answer in (plain, rechunked):
        assert answer.status_code == 200, answer.text
        assert answer.json()["usage"]["prompt_tokens"] == count_tokens(prompt) > 50_000
        assert answer.json()["choices"][0]["text"] == direct.json()["choices"][0]["text"]
    assert sim.log().count(f'"POST {target} HTTP/1.1" 200 OK') == 2


async def test_a_megabyte_answer_arrives_intact(launch: Launch, proxy: EndpointProxy) -> None:
    (sim,) = launch(
        1,
        *("--sim-load-seconds", "0.2", "--sim-token-latency-ms", "0", "--sim-ttft-ms", "0"),
        *("--max-model-len", "1000000"),
    )
    proxy.set_upstreams({"r0": sim.url})
    whole = {"model": MODEL, "prompt": "hello", "max_tokens": 220_000}
    streamed = {"model": MODEL, "prompt": "hello", "max_tokens": 5_000, "stream": True}
    async with httpx.AsyncClient(base_url=proxy.url, timeout=30) as client:
        via_proxy = await client.post("/v1/completions", json=whole)
        async with client.stream("POST", "/v1/completions", json=streamed) as stream:
            proxied_events = [line async for line in stream.aiter_lines() if line]
    async with httpx.AsyncClient(base_url=sim.url, timeout=30) as client:
        direct = await client.post("/v1/completions", json=whole)
        async with client.stream("POST", "/v1/completions", json=streamed) as stream:
            direct_events = [line async for line in stream.aiter_lines() if line]
    assert via_proxy.status_code == 200
    assert via_proxy.headers["content-length"] == str(len(via_proxy.content))
    assert len(via_proxy.content) > 1_000_000
    assert via_proxy.json()["choices"] == direct.json()["choices"]

    def text(events: list[str]) -> str:
        pieces = [json.loads(e.removeprefix("data: ")) for e in events if e != "data: [DONE]"]
        return "".join(p["choices"][0]["text"] for p in pieces)

    assert sum(len(e) for e in proxied_events) > 1_000_000
    assert len(proxied_events) == len(direct_events) == 5_000 + 2
    assert text(proxied_events) == text(direct_events)


async def test_an_answer_cut_short_upstream_is_cut_short_for_the_client(
    launch: Launch, proxy: EndpointProxy
) -> None:
    sims = launch(2, "--sim-load-seconds", "0.2", "--sim-token-latency-ms", "20")
    proxy.set_upstreams(upstreams(sims))
    events: list[str] = []
    async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as client:
        body = chat_body(100, stream=True)
        with pytest.raises(httpx.RemoteProtocolError):
            async with client.stream("POST", "/v1/chat/completions", json=body) as stream:
                async for line in stream.aiter_lines():
                    events.append(line)
                    if len(events) == 10:
                        sims[0].kill()
    assert "data: [DONE]" not in events
    stats = proxy.stats()
    assert (stats.failures, stats.retries) == (1, 0)


async def raw_exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)  # until the proxy closes
    writer.close()
    await writer.wait_closed()
    return answer


async def test_client_connections_keep_alive_and_http_1_0_is_close_delimited(
    launch: Launch, proxy: EndpointProxy
) -> None:
    (sim,) = launch(1)
    proxy.set_upstreams({"r0": sim.url})
    two = (
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /version?x=1 HTTP/1.1\r\nhost: x\r\nConnection: close\r\n\r\n"
    )
    answer = await raw_exchange(proxy.port, two)
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert answer.endswith(b'{"version":"0.32.0"}')
    second = answer.rindex(b"HTTP/1.1 200 OK")
    assert b"Connection: close\r\n" in answer[second:]
    assert b"Connection" not in answer[:second]  # the first one kept the connection open

    body = json.dumps(chat_body(4, stream=True)).encode()
    old = (
        b"POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
    )
    answer = await raw_exchange(proxy.port, old)
    head, _, rest = answer.partition(b"\r\n\r\n")
    # HTTP/1.0 has no chunks: the body ends where the endpoint closes the connection.
    assert head.startswith(b"HTTP/1.0 200 OK\r\n") and b"Transfer-Encoding" not in head
    assert rest.rstrip().endswith(b"data: [DONE]")

    # Refused before any replica sees them: by aiohttp's parser (plain text; the framing
    # ones would be request smuggling) or by the endpoint (versions it does not speak).
    for bad, status, by_endpoint in (
        (b"GET /health\r\n\r\n", b"400", True),
        (b"GET /health HTTP/2.0\r\n\r\n", b"505", True),
        (b"GET /health HTTP/1.1\r\nBad Header: x\r\n\r\n", b"400", False),
        (
            b"POST /v1/completions HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
            b"400",
            False,
        ),
        (
            b"POST /v1/completions HTTP/1.1\r\nContent-Length: 2\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            b"400",
            False,
        ),
    ):
        answer = await raw_exchange(proxy.port, bad)
        assert answer.split(b" ", 2)[1] == status, answer
        if by_endpoint:
            assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["type"]
    assert sim.served() == 1


async def test_a_router_serves_its_own_metrics_behind_the_key(launch: Launch) -> None:
    """An [[endpoints]] router answers /metrics itself (its backends' numbers), and only
    with the endpoint's key; the replicas' pages stay behind it."""
    from prometheus_client.parser import text_string_to_metric_families

    from fleetdeck.core.endpoint.routing import Backend, Route

    sims = launch(1, *FAST, env={"VLLM_API_KEY": "s3cret-key"})
    route = Route((Backend("a", 100, (MODEL,)), Backend("b", 0, (MODEL,))))
    router = EndpointProxy("chat", route=route, router_metrics=True)
    await router.start()
    try:
        router.set_upstreams(upstreams(sims), "a")
        router.set_api_key("s3cret-key")
        good = {"Authorization": "Bearer s3cret-key"}
        async with httpx.AsyncClient(base_url=router.url, timeout=10) as client:
            for _ in range(3):
                answer = await client.post("/v1/chat/completions", json=chat_body(), headers=good)
                assert answer.status_code == 200
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                assert (await client.get("/metrics", headers=headers)).status_code == 401
            page = await client.get("/metrics", headers=good)
        assert page.status_code == 200 and "vllm:" not in page.text
        requests = {
            sample.labels["backend"]: sample.value
            for family in text_string_to_metric_families(page.text)
            for sample in family.samples
            if sample.name == "fleetdeck_router_requests_total"
        }
        assert requests == {"a": 3, "b": 0}
        assert sims[0].served() == 3  # /metrics never reached the replica
    finally:
        await router.close()
