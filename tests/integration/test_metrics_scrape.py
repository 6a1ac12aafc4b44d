"""Scraping a real simulator process over HTTP, and what fails to scrape."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx
import pytest

from fleetdeck.core.metrics.replica_metrics import ReplicaMetrics
from fleetdeck.core.metrics.scraper import scrape, scrape_all
from tests.integration.test_sim_vllm import FAST, Sim, chat, free_port, launch

pytestmark = pytest.mark.integration
__all__ = ["launch"]  # the fixture, imported for this module's tests


async def test_requests_sent_to_a_simulator_show_in_its_derived_metrics(
    launch: Callable[..., Sim],
) -> None:
    sim = launch(*FAST)
    sim.wait_ready()
    metrics = ReplicaMetrics()
    async with httpx.AsyncClient() as client:
        first = await scrape(client, sim.url, timeout=2.0)
        assert first.ok and first.error is None, first.error
        assert first.url == f"{sim.url}/metrics"
        metrics.add_sample(first.at, first.text or "")
        answers = [chat(sim, max_tokens=4) for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        second = await scrape(client, sim.url + "/", timeout=2.0)
    assert second.ok, second.error
    assert second.at > first.at
    metrics.add_sample(second.at, second.text or "")
    summary = metrics.summary()
    assert summary is not None
    assert summary.requests_total == 5.0
    assert summary.requests_in_window == 5.0
    assert summary.request_rate is not None and summary.request_rate > 0
    assert summary.generation_tokens_per_s is not None and summary.generation_tokens_per_s > 0
    assert summary.error_ratio == 0.0
    for latency in (summary.e2e_latency_s, summary.ttft_s, summary.inter_token_latency_s):
        assert latency.p50 is not None and latency.p50 > 0
        assert latency.p95 is not None and latency.p95 >= latency.p50
    assert metrics.bad_lines == 0


async def test_failed_scrapes_are_results_with_a_reason() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    # A port that accepts connections (the backlog) but never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = f"http://127.0.0.1:{silent.getsockname()[1]}"
        async with httpx.AsyncClient() as client:
            started = time.monotonic()
            refused, hung = await scrape_all(client, [closed, mute], timeout=0.3, concurrency=2)
            took = time.monotonic() - started
    assert not refused.ok and refused.text is None
    assert refused.error is not None and "ConnectError" in refused.error
    assert not hung.ok and hung.error == f"no answer from {mute}/metrics within 0.3 s"
    assert 0.3 <= hung.elapsed_s < 2.0
    assert took < 2.0  # the two ran together, each bounded by its timeout


async def test_scrape_all_keeps_order_and_answers_an_error_status(
    launch: Callable[..., Sim],
) -> None:
    sims = [launch(*FAST) for _ in range(2)]
    for sim in sims:
        sim.wait_ready()
    urls = [sims[0].url, sims[1].url, f"{sims[0].url}/nope"]
    async with httpx.AsyncClient() as client:
        results = await scrape_all(client, urls, timeout=2.0, concurrency=2)
    assert [r.url for r in results] == [f"{url}/metrics" for url in urls]
    assert all(r.ok and "vllm:num_requests_running" in (r.text or "") for r in results[:2])
    assert results[2].error == f"{sims[0].url}/nope/metrics answered HTTP 404"


@pytest.mark.parametrize(("concurrency", "rounds"), [(1, 3), (3, 1)])
async def test_scrape_all_runs_at_most_concurrency_scrapes_at_once(
    concurrency: int, rounds: int
) -> None:
    # Three servers that never answer: each scrape takes its whole 0.2 s timeout, so the
    # total time says how many ran at once.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = f"http://127.0.0.1:{silent.getsockname()[1]}"
        async with httpx.AsyncClient() as client:
            started = time.monotonic()
            results = await scrape_all(client, [mute] * 3, timeout=0.2, concurrency=concurrency)
            took = time.monotonic() - started
    assert not any(r.ok for r in results)
    assert 0.2 * rounds <= took < 0.2 * rounds + 0.35
