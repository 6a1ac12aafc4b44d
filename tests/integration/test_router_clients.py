"""Real clients through a router endpoint over real fleetdeck-sim-vllm replicas: the OpenAI
Python SDK (plain and streaming), httpx and curl, each model to its own deployment; and a
client that goes away mid-stream aborts the replica's request."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator

import httpx
import openai
import pytest

from fleetdeck.core.endpoint import Backend, EndpointProxy, Route
from tests.integration.test_router import Start, start_sims  # noqa: F401 - a fixture
from tests.unit.test_sim_metrics import parse_families

pytestmark = pytest.mark.integration

KEY = "sk-router-test"


@pytest.fixture
async def two_models(start_sims: Start) -> AsyncIterator[EndpointProxy]:  # noqa: F811
    """An endpoint over two deployments, sim/a and sim/b, each of one replica."""
    (a,) = start_sims(1, "sim/a", "--sim-token-latency-ms", "20")
    (b,) = start_sims(1, "sim/b")
    endpoint = EndpointProxy("chat")
    endpoint.set_route(Route((Backend("a", 1, ("sim/a",)), Backend("b", 1, ("sim/b",)))))
    await endpoint.start()
    endpoint.set_upstreams({"a/r0": a.url}, "a")
    endpoint.set_upstreams({"b/r0": b.url}, "b")
    endpoint.sims = (a, b)  # type: ignore[attr-defined]
    yield endpoint
    await endpoint.close()


async def test_the_openai_sdk_plain_and_streaming(two_models: EndpointProxy) -> None:
    client = openai.AsyncOpenAI(base_url=f"{two_models.url}/v1", api_key=KEY, max_retries=0)
    async with client:
        models = await client.models.list()
        assert sorted(m.id for m in models.data) == ["sim/a", "sim/b"]
        messages = [{"role": "user", "content": "Where is Paris?"}]
        plain = await client.chat.completions.create(
            model="sim/b",
            messages=messages,  # type: ignore[arg-type]
            max_tokens=5,
        )
        assert plain.model == "sim/b" and plain.choices[0].message.content
        assert plain.usage is not None and plain.usage.completion_tokens == 5
        stream = await client.chat.completions.create(
            model="sim/a",
            messages=messages,  # type: ignore[arg-type]
            max_tokens=8,
            stream=True,
        )
        pieces = [chunk async for chunk in stream]
        assert {chunk.model for chunk in pieces} == {"sim/a"}
        text = "".join(c.choices[0].delta.content or "" for c in pieces if c.choices)
        assert text
        completion = await client.completions.create(model="sim/a", prompt="Hi", max_tokens=3)
        assert completion.model == "sim/a"
    a, b = two_models.sims  # type: ignore[attr-defined]
    assert (a.served(), b.served()) == (2, 1)


async def test_httpx_and_curl(two_models: EndpointProxy) -> None:
    body = {"model": "sim/b", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
    async with httpx.AsyncClient(base_url=two_models.url, timeout=10) as client:
        answer = await client.post("/v1/chat/completions", json=body)
        assert answer.status_code == 200 and answer.json()["model"] == "sim/b"
    streamed = {**body, "model": "sim/a", "stream": True}
    curl = await asyncio.to_thread(
        subprocess.run,
        [
            "curl", "--silent", "--show-error", "--no-buffer", "--max-time", "20",
            "-H", "Content-Type: application/json", "--data", json.dumps(streamed),
            f"{two_models.url}/v1/chat/completions",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    assert curl.returncode == 0, curl.stderr
    events = [line for line in curl.stdout.splitlines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]" and len(events) >= 3
    assert json.loads(events[0].removeprefix("data: "))["model"] == "sim/a"


async def test_a_client_that_goes_away_aborts_the_replicas_request(
    two_models: EndpointProxy,
) -> None:
    a, _ = two_models.sims  # type: ignore[attr-defined]
    body = {"model": "sim/a", "prompt": "Hi", "max_tokens": 500, "stream": True}
    async with (
        httpx.AsyncClient(base_url=two_models.url, timeout=10) as client,
        client.stream("POST", "/v1/completions", json=body) as stream,
    ):
        seen = 0
        async for line in stream.aiter_lines():
            seen += line.startswith("data: ")
            if seen == 5:
                break  # leaving the block closes the connection mid-stream

    def aborted() -> float:
        page = parse_families(httpx.get(f"{a.url}/metrics", timeout=5).text)
        samples = page["vllm:request_success_total"].samples
        return sum(
            v for (name, labels), v in samples.items() if ("finished_reason", "abort") in labels
        )

    for _ in range(100):  # 500 tokens 20 ms apart would take 10 s; the abort comes at once
        if aborted() == 1:
            break
        await asyncio.sleep(0.05)
    assert aborted() == 1
    assert dict(two_models.stats().in_flight) == {"a/r0": 0, "b/r0": 0}
