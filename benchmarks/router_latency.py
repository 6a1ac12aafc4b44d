"""What a router in front of N replicas costs: the builtin endpoint beside vllm-router.

One run, side by side, over N fleetdeck-sim-vllm replicas with no simulated latency (so
what is measured is HTTP and the router, not "inference"; Nagle off as uvicorn does):

- direct: the load client spreads requests round robin over the replicas itself;
- builtin: core/endpoint's EndpointProxy in a process of its own, round robin;
- vllm-router: the PyPI router (scripts/install-router puts it in .venv-router), its
  round_robin policy; "not available" when it is not installed or does not start.

Each target is a small adapter (`Target`: start over replica URLs, give a base URL, stop),
so the endpoint's next implementation is one more adapter. Printed:

1. latency at concurrency 1, 64 and 256 (closed loop, one-token chat completions), with
   the p50/p99 each router adds over direct at the same concurrency;
2. the highest rate each sustains with p99 under 100 ms: an open-loop stepped ramp
   (latency counted from when a request was due, so a stalled client shows);
3. prefix-cache hit rate of round robin vs prefix_affinity on a shared-prefix workload
   over 4 replicas with a small KV cache, choosing with core/policy/replica_choice in the
   benchmark's own mini router loop, read from the replicas' vllm:prefix_cache_* counters,
   with the mean TTFT the replicas measured (a hit shortens the simulated prefill).

The load client is httpx in this process; on a small machine it is a bottleneck of its
own, which the direct row shows. Quote ratios from one run, not absolute numbers.

    scripts/install-router   # once, optional
    .venv/bin/python benchmarks/router_latency.py [--replicas 4] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _processes import free_port, kill_group, wait_ready  # noqa: E402

from fleetdeck.core.endpoint import EndpointProxy  # noqa: E402
from fleetdeck.core.policy.replica_choice import (  # noqa: E402
    ReplicaCandidate,
    make_replica_policy,
    routing_key_from_request,
)

SIM_NODELAY = (
    "import sys; from fleetdeck.hosts.sim_vllm import server; "
    "server.SimRequestHandler.disable_nagle_algorithm = True; "
    "from fleetdeck.hosts.sim_vllm.cli import main; sys.exit(main())"
)
MODEL = "sim/m"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
ROUTER_BIN = ROOT / ".venv-router" / "bin" / "vllm-router"
P99_GOAL_MS = 100.0
NOT_AVAILABLE = "not available"


class Replicas:
    """N simulator processes, each in its own session, killed by group."""

    def __init__(self, count: int, extra: Sequence[str] = ()) -> None:
        self.urls: list[str] = []
        self._procs: list[subprocess.Popen[bytes]] = []
        for _ in range(count):
            port = free_port()
            args = ["--host", "127.0.0.1", "--port", str(port), "--sim-load-seconds", "0.2"]
            args += ["--sim-ttft-ms", "0", "--sim-token-latency-ms", "0"]
            # Later flags win: `extra` may set a TTFT again.
            args += ["--max-num-seqs", "1024", "--sim-log-interval", "0", *extra]
            self._procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", SIM_NODELAY, "serve", MODEL, *args],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
            self.urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(self.urls, self._procs, strict=True):
            wait_ready(url, proc)

    def stop(self) -> None:
        for proc in self._procs:
            kill_group(proc)


# --- targets: what the load client talks to ------------------------------------------


class Target(Protocol):
    name: str

    def start(self, replicas: Sequence[str]) -> None: ...
    def base_urls(self) -> list[str]: ...  # the client spreads round robin over these
    def stop(self) -> None: ...


class Direct:
    name = "direct"

    def start(self, replicas: Sequence[str]) -> None:
        self._urls = list(replicas)

    def base_urls(self) -> list[str]:
        return self._urls

    def stop(self) -> None:
        pass


class ChildProcessTarget:
    """A router in a process of its own (as the console runs the endpoint)."""

    name = "?"
    _proc: subprocess.Popen[bytes] | None = None
    _url = ""

    def base_urls(self) -> list[str]:
        return [self._url]

    def stop(self) -> None:
        if self._proc is not None:
            kill_group(self._proc)
            self._proc = None


class Builtin(ChildProcessTarget):
    """core/endpoint's EndpointProxy as on main (round robin over its upstreams)."""

    name = "builtin"

    def __init__(self, log_path: Path) -> None:
        # Its warnings (a replica failed before answering: retried on another) go here,
        # counted in the goals, not between the tables.
        self.log_path = log_path

    def start(self, replicas: Sequence[str]) -> None:
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, __file__, "--serve-builtin", ",".join(replicas)],
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        assert self._proc.stdout is not None
        self._url = self._proc.stdout.readline().decode().strip()
        wait_ready(self._url, self._proc)


class VllmRouter(ChildProcessTarget):
    name = "vllm-router"

    def start(self, replicas: Sequence[str]) -> None:
        if not ROUTER_BIN.exists():
            raise RuntimeError(
                f"{ROUTER_BIN.relative_to(ROOT)} missing: run scripts/install-router"
            )
        port = free_port()
        argv = [str(ROUTER_BIN), "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--worker-urls", *replicas, "--policy", "round_robin"]
        argv += ["--prometheus-port", str(free_port()), "--log-level", "warning"]
        self._proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        self._url = f"http://127.0.0.1:{port}"
        wait_ready(self._url, self._proc, timeout=60)


async def serve_builtin(upstreams: str) -> None:
    """Child process: the endpoint over the replicas; print its URL; run until killed."""
    proxy = EndpointProxy("bench")
    await proxy.start()
    proxy.set_upstreams({f"r{i}": url for i, url in enumerate(upstreams.split(","))})
    print(proxy.url, flush=True)
    await asyncio.Event().wait()


# --- load ----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def client(concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(limits=limits, timeout=30, trust_env=False)


@dataclass
class Window:
    latencies: list[float]  # ms, answered requests
    errors: int  # failed requests (a closed keep-alive connection, a 5xx, a timeout)


async def post_chat(http: httpx.AsyncClient, url: str) -> bool:
    try:
        response = await http.post(f"{url}/v1/chat/completions", json=CHAT)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def closed_loop(urls: list[str], concurrency: int, seconds: float) -> Window:
    """`concurrency` workers back to back for `seconds`, after a warm-up of a third of it."""
    window = Window([], 0)
    loop = asyncio.get_running_loop()
    warm_until = loop.time() + seconds / 3
    stop_at = warm_until + seconds
    async with client(concurrency) as http:

        async def worker(first: int) -> None:
            index = first
            while (now := loop.time()) < stop_at:
                started = time.perf_counter()
                ok = await post_chat(http, urls[index % len(urls)])
                index += 1
                if now < warm_until:
                    continue
                if ok:
                    window.latencies.append((time.perf_counter() - started) * 1000)
                else:
                    window.errors += 1

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return window


@dataclass(frozen=True)
class Step:
    rate: float
    p99_ms: float
    errors: int  # failed or unanswered
    achieved: float  # requests actually sent per second


async def open_loop_step(urls: list[str], rate: float, seconds: float) -> Step:
    """Send at `rate` for `seconds`; latency counted from each request's due time."""
    latencies: list[float] = []
    async with client(1024) as http:

        async def one(url: str, due: float) -> None:
            if await post_chat(http, url):
                latencies.append((time.perf_counter() - due) * 1000)

        tasks: list[asyncio.Task[None]] = []
        total = int(rate * seconds)
        start = time.perf_counter() + 0.05
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(urls[i % len(urls)], due)))
        sent_in = time.perf_counter() - start
        # Whatever is not answered a little after the last send is far over the goal.
        await asyncio.wait(tasks, timeout=max(1.0, 10 * P99_GOAL_MS / 1000))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    p99 = percentile(latencies, 0.99) if latencies else float("inf")
    # Failed, or not answered within the wait: either way not sustained.
    return Step(rate, p99, total - len(latencies), total / max(sent_in, 1e-9))


async def sustained_rate(urls: list[str], rates: Sequence[float], seconds: float) -> float:
    """The highest step rate with p99 under the goal, no errors, sent on time; 0 if none."""
    best = 0.0
    for rate in rates:
        step = await open_loop_step(urls, rate, seconds)
        if step.errors or step.p99_ms >= P99_GOAL_MS or step.achieved < 0.9 * rate:
            break
        best = rate
    return best


# --- the report ----------------------------------------------------------------------


@dataclass
class Row:
    name: str
    available: str = ""  # why not, when not
    windows: dict[int, Window] | None = None  # concurrency -> what it measured
    sustained: float = 0.0


def measure_target(
    target: Target,
    replicas: Sequence[str],
    levels: Sequence[int],
    level_s: float,
    rates: Sequence[float],
    step_s: float,
) -> Row:
    row = Row(target.name)
    try:
        target.start(replicas)
    except (RuntimeError, OSError) as error:
        row.available = str(error)
        target.stop()
        return row
    try:
        urls = target.base_urls()
        row.windows = {c: asyncio.run(closed_loop(urls, c, level_s)) for c in levels}
        row.sustained = asyncio.run(sustained_rate(urls, rates, step_s))
    finally:
        target.stop()
    return row


def p50_p99(window: Window) -> tuple[float, float]:
    if not window.latencies:
        return float("nan"), float("nan")
    return statistics.median(window.latencies), percentile(window.latencies, 0.99)


def print_latency(rows: list[Row], levels: Sequence[int], level_s: float) -> None:
    direct = rows[0].windows
    assert direct is not None
    print(
        f"latency, one-token chat completions, closed loop {level_s:.1f} s per row, ms "
        "(+ = minus direct at that concurrency)"
    )
    header = (
        f"{'target':<13}{'conc':>5}{'requests':>9}{'errors':>7}"
        f"{'p50':>9}{'p99':>9}{'+p50':>9}{'+p99':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        if row.windows is None:
            print(f"{row.name:<13}{NOT_AVAILABLE:>{len(header) - 13}}")
            continue
        for level in levels:
            window = row.windows[level]
            p50, p99 = p50_p99(window)
            added = ""
            if row.windows is not direct:
                base50, base99 = p50_p99(direct[level])
                added = f"{p50 - base50:>9.2f}{p99 - base99:>9.2f}"
            print(
                f"{row.name:<13}{level:>5}{len(window.latencies):>9}{window.errors:>7}"
                f"{p50:>9.2f}{p99:>9.2f}{added}"
            )


def print_sustained(rows: list[Row], rates: Sequence[float], step_s: float) -> None:
    print()
    print(
        f"highest open-loop rate with p99 < {P99_GOAL_MS:.0f} ms and no errors, {step_s:.1f} s "
        f"steps of {', '.join(f'{r:.0f}' for r in rates)} req/s"
    )
    header = f"{'target':<13}{'req/s':>14}"
    print(header)
    print("-" * len(header))
    for row in rows:
        value = NOT_AVAILABLE if row.windows is None else f"{row.sustained:.0f}"
        print(f"{row.name:<13}{value:>14}")


def print_goals(rows: list[Row], builtin_log: list[str]) -> None:
    by_name = {row.name: row for row in rows}
    direct, builtin, router = by_name["direct"], by_name["builtin"], by_name["vllm-router"]
    print()
    print("goals")
    if builtin.windows is not None and direct.windows is not None:
        added = p50_p99(builtin.windows[1])[0] - p50_p99(direct.windows[1])[0]
        verdict = "met" if added < 1.0 else "NOT met"
        print(f"  builtin adds < 1 ms p50 at concurrency 1: {added:.2f} ms -> {verdict}")
    if router.windows is None:
        print("  builtin sustains >= half of vllm-router's rate: vllm-router not available")
    elif builtin.windows is not None:
        ratio = builtin.sustained / router.sustained if router.sustained else float("inf")
        verdict = "met" if ratio >= 0.5 else "NOT met"
        print(
            f"  builtin sustains >= half of vllm-router's rate: {builtin.sustained:.0f} vs "
            f"{router.sustained:.0f} req/s ({ratio:.2f}x) -> {verdict}"
        )
    for row in rows:
        if row.available:
            print(f"  {row.name}: {NOT_AVAILABLE}: {row.available}")
    if builtin_log:
        print(f"  builtin logged {len(builtin_log)} warnings, e.g. {builtin_log[0]}")


# --- prefix affinity -----------------------------------------------------------------


def system_prompt(tag: str, group: int) -> str:
    # ~260 sim tokens: 16 whole blocks of 16 shared by every request of the group.
    rules = " ".join(f"Rule {i} of {tag} group {group}: keep answers short." for i in range(22))
    return f"You are assistant {group} for {tag}. {rules}"


async def prefix_run(
    policy_name: str, urls: list[str], groups: int, requests: int, concurrency: int
) -> tuple[float, float, float]:
    """(hit rate, mean TTFT ms as the replicas measured it, client p50 ms) of a workload."""
    policy = make_replica_policy(policy_name, random.Random(7))
    rng = random.Random(11)
    outstanding = dict.fromkeys(urls, 0)
    latencies: list[float] = []
    async with client(concurrency) as http:
        before = await prefix_counters(http, urls)
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                group = rng.randrange(groups)
                body = {
                    "model": MODEL,
                    "max_tokens": 1,
                    "messages": [
                        {"role": "system", "content": system_prompt(policy_name, group)},
                        {"role": "user", "content": f"Question {rng.randrange(10**6)}?"},
                    ],
                }
                candidates = [ReplicaCandidate(u, n, None, None) for u, n in outstanding.items()]
                url = policy.choose(candidates, routing_key_from_request(body, {}))
                assert url is not None
                outstanding[url] += 1
                started = time.perf_counter()
                try:
                    response = await http.post(f"{url}/v1/chat/completions", json=body)
                    response.raise_for_status()
                finally:
                    outstanding[url] -= 1
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        after = await prefix_counters(http, urls)
    queries, hits, ttft_sum, ttft_count = (a - b for a, b in zip(after, before, strict=True))
    return (
        hits / queries if queries else 0.0,
        ttft_sum / ttft_count * 1000 if ttft_count else float("nan"),
        statistics.median(latencies),
    )


COUNTED = (
    "vllm:prefix_cache_queries_total{",
    "vllm:prefix_cache_hits_total{",
    "vllm:time_to_first_token_seconds_sum{",
    "vllm:time_to_first_token_seconds_count{",
)


async def prefix_counters(http: httpx.AsyncClient, urls: list[str]) -> list[float]:
    """COUNTED's samples, summed over the replicas' /metrics."""
    sums = [0.0] * len(COUNTED)
    for url in urls:
        for line in (await http.get(f"{url}/metrics")).text.splitlines():
            for i, prefix in enumerate(COUNTED):
                if line.startswith(prefix):
                    sums[i] += float(line.rsplit(" ", 1)[1])
    return sums


def print_prefix_table(groups: int, requests: int, concurrency: int) -> None:
    # A KV cache of 2048 tokens holds 8 of the 16 groups' prefixes: spread over every
    # replica (round robin) they evict each other; kept together they fit.
    replicas = Replicas(4, ["--sim-ttft-ms", "20", "--sim-kv-cache-tokens", "2048"])
    try:
        print()
        print(
            f"prefix cache over 4 replicas: {groups} shared system prompts (~260 tokens), "
            f"{requests} requests at concurrency {concurrency}, 2048-token KV cache each, "
            "20 ms TTFT uncached"
        )
        header = f"{'policy':<18}{'hit rate':>10}{'TTFT ms':>9}{'client p50 ms':>15}"
        print(header)
        print("-" * len(header))
        for name in ("round_robin", "prefix_affinity"):
            rate, ttft, p50 = asyncio.run(
                prefix_run(name, replicas.urls, groups, requests, concurrency)
            )
            print(f"{name:<18}{rate:>10.1%}{ttft:>9.1f}{p50:>15.1f}")
    finally:
        replicas.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter steps")
    parser.add_argument("--serve-builtin", metavar="URLS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_builtin:
        asyncio.run(serve_builtin(args.serve_builtin))
        return
    levels = [1, 64, 256]
    level_s = 1.5 if args.quick else 4.0
    # x1.5 steps from 25/s: fine enough to compare routers, short enough for one run.
    rates = [25 * 1.5**i for i in range(14)]  # up to ~4900/s
    step_s = 1.0 if args.quick else 1.5
    print(
        f"{args.replicas} sim replicas (0 ms TTFT and per token), {os.cpu_count()} CPUs, "
        "httpx load client in one process"
    )
    replicas = Replicas(args.replicas)
    scratch = Path(tempfile.mkdtemp(prefix="router-latency-"))
    builtin = Builtin(scratch / "builtin.log")
    targets: list[Target] = [Direct(), builtin, VllmRouter()]
    try:
        rows = [measure_target(t, replicas.urls, levels, level_s, rates, step_s) for t in targets]
    finally:
        replicas.stop()
    print_latency(rows, levels, level_s)
    print_sustained(rows, rates, step_s)
    builtin_log = builtin.log_path.read_text(errors="replace").splitlines()
    shutil.rmtree(scratch)
    print_goals(rows, builtin_log)
    print_prefix_table(groups=16, requests=200 if args.quick else 600, concurrency=8)


if __name__ == "__main__":
    main()
