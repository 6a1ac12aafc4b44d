"""The endpoint as a router in front of several deployments' real fleetdeck-sim-vllm
replicas: weighted split, stickiness, shadow, several models behind one URL.

What each deployment answered is read from its simulators' own /metrics, never from the
router's view of itself (that is checked against them).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from fleetdeck.core.endpoint import Backend, EndpointProxy, Route, Shadow
from tests.harness.ports import slot_allocator
from tests.integration.test_endpoint_proxy import FAST, Sim

pytestmark = pytest.mark.integration

Start = Callable[..., list[Sim]]


@pytest.fixture
def start_sims(tmp_path: Path) -> Iterator[Start]:
    started: list[Sim] = []

    def start(count: int, model: str = "sim/m", *extra: str) -> list[Sim]:
        first, _ = slot_allocator().take_block(count)
        sims = []
        for i in range(count):
            port = first + i
            args = (*FAST, *extra)
            sim = Sim(port, tmp_path / f"sim-{port}.log", args, {}, model=model)
            sims.append(sim)
        started.extend(sims)
        for sim in sims:
            sim.wait_ready()
        return sims

    yield start
    for sim in started:
        sim.kill()


@pytest.fixture
async def router() -> AsyncIterator[EndpointProxy]:
    endpoint = EndpointProxy("chat", suspend_s=0.5)
    await endpoint.start()
    yield endpoint
    await endpoint.close()


def chat(model: str = "sim/m", **extra: object) -> dict[str, object]:
    messages = [{"role": "user", "content": "Where is Paris?"}]
    return {"model": model, "messages": messages, "max_tokens": 1, **extra}


async def send_all(
    url: str, bodies: list[dict[str, object]], headers: list[dict[str, str]] | None = None
) -> list[httpx.Response]:
    """Every body, 8 at a time; the answers in order."""
    answers: list[httpx.Response | None] = [None] * len(bodies)
    cursor = iter(range(len(bodies)))
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def worker() -> None:
            for i in cursor:
                extra = headers[i] if headers else {}
                answers[i] = await client.post(
                    "/v1/chat/completions", json=bodies[i], headers=extra
                )

        await asyncio.gather(*(worker() for _ in range(8)))
    return [a for a in answers if a is not None]


async def test_a_90_10_split_lands_within_3_points(
    start_sims: Start, router: EndpointProxy
) -> None:
    (v1,) = start_sims(1)
    (v2,) = start_sims(1)
    router.set_route(Route((Backend("v1", 90, ("sim/m",)), Backend("v2", 10, ("sim/m",)))))
    router.set_upstreams({"v1/r0": v1.url}, "v1")
    router.set_upstreams({"v2/r0": v2.url}, "v2")
    answers = await send_all(router.url, [chat() for _ in range(2000)])
    assert {a.status_code for a in answers} == {200}
    served = v1.served(), v2.served()
    assert sum(served) == 2000
    assert abs(served[1] / 2000 - 0.10) <= 0.03, served
    arms = {arm.deployment: arm for arm in router.arms()}
    assert (arms["v1"].requests, arms["v2"].requests) == served
    assert arms["v1"].errors == 0 and arms["v1"].p95_ms is not None


async def test_a_sticky_session_keeps_its_backend(start_sims: Start, router: EndpointProxy) -> None:
    (v1,) = start_sims(1)
    (v2,) = start_sims(1)
    backends = (Backend("v1", 50, ("sim/m",)), Backend("v2", 50, ("sim/m",)))
    router.set_route(Route(backends, sticky="session"))
    router.set_upstreams({"v1/r0": v1.url}, "v1")
    router.set_upstreams({"v2/r0": v2.url}, "v2")
    # 20 sessions, 10 requests each: each session's requests all land on one backend.
    bodies = [chat() for _ in range(200)]
    headers = [{"X-Session-Id": f"s-{i % 20}"} for i in range(200)]
    answers = await send_all(router.url, bodies, headers)
    assert {a.status_code for a in answers} == {200}
    served = v1.served(), v2.served()
    assert sum(served) == 200
    assert served[0] % 10 == 0 and served[1] % 10 == 0, served  # whole sessions only
    assert 0 < served[0] < 200  # and the sessions spread over both


async def test_the_shadow_gets_its_fraction_and_the_client_only_the_primary(
    start_sims: Start, router: EndpointProxy
) -> None:
    (primary,) = start_sims(1, "sim/primary")
    (shadow,) = start_sims(1, "sim/shadow")
    route = Route(
        (Backend("prod", 1, ("sim/primary",)),), shadow=Shadow("next", 0.2, ("sim/shadow",))
    )
    router.set_route(route)
    router.set_upstreams({"prod/r0": primary.url}, "prod")
    router.set_upstreams({"next/r0": shadow.url}, "next")
    answers = await send_all(router.url, [chat("sim/primary") for _ in range(100)])
    assert {a.status_code for a in answers} == {200}
    # Every answer is the primary's (the shadow answers as model sim/shadow).
    assert {a.json()["model"] for a in answers} == {"sim/primary"}
    for _ in range(100):  # the shadow copies finish on their own
        if shadow.served() == 20 and not router.shadow().stats.in_flight:  # type: ignore[union-attr]
            break
        await asyncio.sleep(0.05)
    assert (primary.served(), shadow.served()) == (100, 20)
    summary = router.shadow()
    assert summary is not None
    assert (summary.sent, summary.skipped, summary.stats.requests) == (20, 0, 20)
    assert summary.stats.errors == 0 and summary.stats.output_tokens == 20
    assert summary.output_bytes > 0 and summary.stats.p95_ms is not None


async def test_each_model_goes_to_its_deployment_and_v1_models_lists_all(
    start_sims: Start, router: EndpointProxy
) -> None:
    (small,) = start_sims(1, "sim/small")
    (large,) = start_sims(1, "sim/large")
    router.set_route(
        Route((Backend("small", 1, ("sim/small",)), Backend("large", 1, ("sim/large",))))
    )
    router.set_upstreams({"small/r0": small.url}, "small")
    router.set_upstreams({"large/r0": large.url}, "large")
    bodies = [chat("sim/small") for _ in range(3)] + [chat("sim/large") for _ in range(5)]
    answers = await send_all(router.url, bodies)
    assert [a.json()["model"] for a in answers] == ["sim/small"] * 3 + ["sim/large"] * 5
    assert (small.served(), large.served()) == (3, 5)
    async with httpx.AsyncClient(base_url=router.url, timeout=10) as client:
        listed = (await client.get("/v1/models")).json()
        unknown = await client.post("/v1/chat/completions", json=chat("sim/none"))
    assert sorted(m["id"] for m in listed["data"]) == ["sim/large", "sim/small"]
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "model_not_found"
    assert "it serves: sim/small, sim/large" in unknown.json()["error"]["message"]


def shared_prefix_chat(group: int, question: int) -> dict[str, object]:
    """A chat whose ~260-token system prompt is shared by every request of its group."""
    rules = " ".join(f"Rule {i} of group {group}: keep answers short." for i in range(22))
    messages = [
        {"role": "system", "content": f"You are assistant {group}. {rules}"},
        {"role": "user", "content": f"Question {question}?"},
    ]
    return {"model": "sim/m", "messages": messages, "max_tokens": 1}


def prefix_hit_rate(sims: list[Sim]) -> tuple[float, float]:
    """(cached prompt tokens, prompt tokens) summed over the simulators' own /metrics."""
    hits = queries = 0.0
    for sim in sims:
        for line in httpx.get(f"{sim.url}/metrics", timeout=5).text.splitlines():
            if line.startswith("vllm:prefix_cache_hits_total{"):
                hits += float(line.rsplit(" ", 1)[1])
            elif line.startswith("vllm:prefix_cache_queries_total{"):
                queries += float(line.rsplit(" ", 1)[1])
    return hits, queries


async def test_prefix_affinity_raises_the_prefix_cache_hit_rate_over_round_robin(
    start_sims: Start, router: EndpointProxy
) -> None:
    """12 groups over 3 replicas whose KV cache (2048 tokens) holds about 7 groups'
    prefixes: spread round robin every replica sees every group and they evict each other;
    kept on one replica per group they fit. The same shuffled workload goes through the
    endpoint once per policy, each time to fresh simulators, which count what vLLM counts."""
    order = [(group, question) for question in range(20) for group in range(12)]
    random.Random(5).shuffle(order)  # not group after group: round robin would be affine
    rates: dict[str, float] = {}
    for policy in ("round_robin", "prefix_affinity"):
        sims = start_sims(3, "sim/m", "--sim-kv-cache-tokens", "2048")
        router.set_route(Route((Backend("d", 1, ("sim/m",)),), policy=policy))
        router.set_upstreams({f"d/r{i}": sim.url for i, sim in enumerate(sims)}, "d")
        answers = await send_all(router.url, [shared_prefix_chat(g, q) for g, q in order])
        assert {a.status_code for a in answers} == {200}
        hits, queries = prefix_hit_rate(sims)
        rates[policy] = hits / queries
        print(f"{policy}: prefix cache hit rate {hits / queries:.1%} of {queries:.0f} tokens")
        for sim in sims:
            sim.kill()
    # Affinity: from its second request on, each group finds its whole prefix cached.
    assert rates["prefix_affinity"] > 0.8, rates
    assert rates["prefix_affinity"] >= rates["round_robin"] + 0.15, rates
