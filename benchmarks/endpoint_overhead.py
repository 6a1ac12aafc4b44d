"""Latency the per-deployment endpoint adds to a request, against going to the replica direct.

One run, side by side: a fleetdeck-sim-vllm replica with no simulated latency (so what is
measured is HTTP and Python, not "inference"; run with TCP_NODELAY on its sockets, as
uvicorn does for a real vLLM, since the simulator's http.server leaves Nagle on and a
response written as head then body would wait ~40 ms for a delayed ACK
on every keep-alive request), the endpoint proxy in a process of its own
(as the console runs it, apart from the clients), and one keep-alive httpx client that
alternates direct and proxied requests so both see the same machine state. Per request
kind: p50/p95 over N requests each way, and the difference. Then throughput with C
concurrent clients, each way.

    .venv/bin/python benchmarks/endpoint_overhead.py [--requests 500] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _processes import free_port, wait_ready  # noqa: E402

from fleetdeck.core.endpoint import EndpointProxy  # noqa: E402

# fleetdeck-sim-vllm's own entry point, with Nagle off like uvicorn.
SIM_NODELAY = (
    "import sys; from fleetdeck.hosts.sim_vllm import server; "
    "server.SimRequestHandler.disable_nagle_algorithm = True; "
    "from fleetdeck.hosts.sim_vllm.cli import main; sys.exit(main())"
)
MODEL = "sim/m"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}

# (client, direct to the replica?) -> one request done
Call = Callable[[httpx.AsyncClient, bool], Awaitable[None]]


async def health(client: httpx.AsyncClient, direct: bool) -> None:
    (await client.get("/health")).raise_for_status()


async def chat(client: httpx.AsyncClient, direct: bool) -> None:
    (await client.post("/v1/chat/completions", json=CHAT)).raise_for_status()


async def chat_stream(client: httpx.AsyncClient, direct: bool) -> None:
    body = {**CHAT, "max_tokens": 8, "stream": True}
    # The simulator closes the connection after a stream without saying so; a client
    # going direct must not reuse it (the endpoint copes by itself: it retries).
    headers = {"Connection": "close"} if direct else {}
    async with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as stream:
        stream.raise_for_status()
        async for _ in stream.aiter_raw():
            pass


CASES: list[tuple[str, Call]] = [
    ("GET /health", health),
    ("chat, 1 token", chat),
    ("chat stream, 8 tokens", chat_stream),
]


async def serve_proxy(upstream: str) -> None:
    """Child process: run the endpoint over ``upstream``; print its URL; run until killed."""
    proxy = EndpointProxy("bench")
    await proxy.start()
    proxy.set_upstreams({"r0": upstream})
    print(proxy.url, flush=True)
    await asyncio.Event().wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def latencies(
    direct: httpx.AsyncClient, proxied: httpx.AsyncClient, call: Call, count: int
) -> tuple[list[float], list[float]]:
    for _ in range(20):  # warm both connection pools
        await call(direct, True)
        await call(proxied, False)
    times: dict[int, list[float]] = {0: [], 1: []}
    for i in range(count * 2):
        which = i % 2
        started = time.perf_counter()
        await call(proxied if which else direct, not which)
        times[which].append((time.perf_counter() - started) * 1000)
    return times[0], times[1]


async def throughput(url: str, direct: bool, call: Call, concurrency: int, count: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await call(client, direct)

        await asyncio.gather(*(worker() for _ in range(concurrency)))  # warm up
        remaining = count
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


async def measure(sim_url: str, proxy_url: str, count: int, concurrency: int) -> None:
    print(f"{count} requests each way per row, alternating; times in ms; {os.cpu_count()} CPUs")
    header = (
        f"{'request':<24}{'direct p50':>11}{'proxy p50':>11}{'+p50':>8}"
        f"{'direct p95':>12}{'proxy p95':>11}{'+p95':>8}"
    )
    print(header)
    print("-" * len(header))
    async with (
        httpx.AsyncClient(base_url=sim_url, timeout=30) as direct,
        httpx.AsyncClient(base_url=proxy_url, timeout=30) as proxied,
    ):
        for name, call in CASES:
            plain, through = await latencies(direct, proxied, call, count)
            p50 = statistics.median(plain), statistics.median(through)
            p95 = percentile(plain, 0.95), percentile(through, 0.95)
            print(
                f"{name:<24}{p50[0]:>11.3f}{p50[1]:>11.3f}{p50[1] - p50[0]:>8.3f}"
                f"{p95[0]:>12.3f}{p95[1]:>11.3f}{p95[1] - p95[0]:>8.3f}"
            )
    print()
    print(f"throughput with {concurrency} concurrent keep-alive clients, requests/s")
    header = f"{'request':<24}{'direct':>10}{'proxy':>10}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name, call in CASES:
        rate = await throughput(sim_url, True, call, concurrency, count)
        rate_via = await throughput(proxy_url, False, call, concurrency, count)
        print(f"{name:<24}{rate:>10.0f}{rate_via:>10.0f}{rate_via / rate:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve-proxy", metavar="UPSTREAM", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_proxy:
        asyncio.run(serve_proxy(args.serve_proxy))
        return
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    sim_args = [
        "--host",
        "127.0.0.1",
        "--sim-load-seconds",
        "0.2",
        "--sim-ttft-ms",
        "0",
        "--sim-token-latency-ms",
        "0",
    ]
    sim = subprocess.Popen(
        [sys.executable, "-c", SIM_NODELAY, "serve", MODEL, "--port", str(port), *sim_args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    proxy = subprocess.Popen(
        [sys.executable, __file__, "--serve-proxy", sim_url],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_ready(sim_url, sim)
        assert proxy.stdout is not None
        proxy_url = proxy.stdout.readline().decode().strip()
        wait_ready(proxy_url, proxy)
        asyncio.run(measure(sim_url, proxy_url, args.requests, args.concurrency))
    finally:
        for child in (proxy, sim):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()


if __name__ == "__main__":
    main()
