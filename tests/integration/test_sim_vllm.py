"""fleetdeck-sim-vllm as real processes on real ports: vLLM's API, logs, failures, processes.

Every simulator runs in a session (process group) of its own and is killed by group at
teardown, whatever the test did to it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.unit.test_sim_metrics import REAL_PAGE, parse_families, sample

pytestmark = pytest.mark.integration

SIM = Path(sys.executable).with_name("fleetdeck-sim-vllm")
FAST = ["--sim-load-seconds", "0.3", "--sim-ttft-ms", "5", "--sim-token-latency-ms", "2"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def live_group_members(pgid: int) -> dict[int, str]:
    """pid -> comm of every process of the group that is not a zombie."""
    members = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members[int(entry.name)] = comm
    return members


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Sim:
    def __init__(self, tmp: Path, args: list[str], env: dict[str, str] | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"sim-{self.port}.log"
        argv = [
            str(SIM),
            "serve",
            "/models/tiny-llama",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--served-model-name",
            "tiny",
            *args,
        ]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        self.pgid = self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text()

    def health(self) -> int | None:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code
        except httpx.TransportError:
            return None

    def wait_ready(self, timeout: float = 5.0) -> None:
        wait_for(lambda: self.health() == 200 or self.proc.poll() is not None, timeout, "ready")
        assert self.proc.poll() is None, self.log()

    def wait_exit(self, timeout: float = 8.0) -> int:
        return self.proc.wait(timeout)

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        self.proc.wait(5)


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., Sim]]:
    started: list[Sim] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Sim:
        sim = Sim(tmp_path, list(args), env)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.kill_group()


def chat(sim: Sim, **extra: object) -> httpx.Response:
    body = {"model": "tiny", "messages": [{"role": "user", "content": "Where is Paris?"}]}
    return httpx.post(f"{sim.url}/v1/chat/completions", json={**body, **extra}, timeout=10)


def seqs(log: str) -> list[int]:
    return [int(m) for m in re.findall(r" seq=(\d+)$", log, re.MULTILINE)]


def test_the_port_refuses_connections_while_loading_then_serves(launch: Callable[..., Sim]) -> None:
    sim = launch(
        "--sim-load-seconds",
        "1.5",
        "--max-model-len",
        "256",
        "--enforce-eager",
        "--dtype",
        "float32",
    )
    wait_for(lambda: "non-default args" in sim.log(), 3, "the args line")
    # Bound (a second bind fails) but not listening (a connect is refused), like vLLM.
    with socket.socket() as other, pytest.raises(OSError) as taken:
        other.bind(("127.0.0.1", sim.port))
    assert taken.value.errno == errno.EADDRINUSE
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sim.port), timeout=1).close()
    assert sim.health() is None
    sim.wait_ready()
    log = sim.log()
    markers = [
        "non-default args",
        "Starting to load model /models/tiny-llama...",
        "Warming up model for the compilation...",
        "init engine (profile, create kv cache, warmup model) took",
        f"Starting vLLM server on http://127.0.0.1:{sim.port}",
        "INFO:     Application startup complete.",
    ]
    positions = [log.index(marker) for marker in markers]
    assert positions == sorted(positions)
    assert "'max_model_len': 256, 'enforce_eager': True, 'dtype': 'float32'" in log
    assert re.search(
        r"^\(APIServer pid=\d+\) INFO \d\d-\d\d \d\d:\d\d:\d\d \[api_utils.py:286\]",
        log,
        re.MULTILINE,
    )
    models = httpx.get(f"{sim.url}/v1/models").json()
    assert [m["id"] for m in models["data"]] == ["tiny"]
    assert models["data"][0]["max_model_len"] == 256
    assert httpx.get(f"{sim.url}/version").json() == {"version": "0.32.0"}
    assert httpx.get(f"{sim.url}/nope").status_code == 404


def test_chat_completion_and_its_stream_say_the_same_thing(launch: Callable[..., Sim]) -> None:
    sim = launch(*FAST)
    sim.wait_ready()
    answer = chat(sim, max_tokens=6)
    assert answer.status_code == 200
    body = answer.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 6
    text = body["choices"][0]["message"]["content"]
    assert text
    events = []
    with httpx.stream(
        "POST",
        f"{sim.url}/v1/chat/completions",
        timeout=10,
        json={
            "model": "tiny",
            "messages": [{"role": "user", "content": "Where is Paris?"}],
            "max_tokens": 6,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = [line for line in stream.iter_lines() if line]
    assert all(event.startswith("data: ") for event in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(event[6:]) for event in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert streamed == text
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 6
    assert re.search(
        r'INFO:     127\.0\.0\.1:\d+ - "POST /v1/chat/completions HTTP/1\.1" 200 OK', sim.log()
    )
    unknown = chat(sim, model="other")
    assert unknown.status_code == 404


@pytest.mark.parametrize("how", ["env", "flag"])
def test_the_api_key_guards_v1_only(launch: Callable[..., Sim], how: str) -> None:
    if how == "env":
        sim = launch(*FAST, env={"VLLM_API_KEY": "s3cret"})
    else:
        sim = launch(*FAST, "--api-key", "s3cret")
    sim.wait_ready()
    refused = httpx.get(f"{sim.url}/v1/models")
    assert (refused.status_code, refused.json()) == (401, {"error": "Unauthorized"})
    assert chat(sim, max_tokens=1).status_code == 401
    assert (
        httpx.get(f"{sim.url}/v1/models", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    good = {"Authorization": "Bearer s3cret"}
    assert httpx.get(f"{sim.url}/v1/models", headers=good).status_code == 200
    for open_path in ("/health", "/metrics", "/version"):
        assert httpx.get(f"{sim.url}{open_path}").status_code == 200
    assert "s3cret" not in sim.log()


def test_metrics_have_the_real_families_and_count_what_was_served(
    launch: Callable[..., Sim],
) -> None:
    sim = launch(
        "--sim-load-seconds",
        "0.3",
        "--sim-ttft-ms",
        "5",
        "--sim-token-latency-ms",
        "40",
        "--sim-kv-cache-tokens",
        "64",
    )
    sim.wait_ready()
    before = parse_families(httpx.get(f"{sim.url}/metrics").text)
    real = parse_families(REAL_PAGE.read_text())
    assert {n: (f.kind, f.label_names, f.bucket_bounds) for n, f in before.items()} == {
        n: (f.kind, f.label_names, f.bucket_bounds) for n, f in real.items()
    }
    slow = threading.Thread(target=chat, args=(sim,), kwargs={"max_tokens": 25})
    slow.start()
    busy: dict[str, float] = {}

    def running() -> bool:
        page = parse_families(httpx.get(f"{sim.url}/metrics").text)
        busy["running"] = sample(page, "vllm:num_requests_running")
        busy["kv"] = sample(page, "vllm:kv_cache_usage_perc")
        return busy["running"] == 1 and busy["kv"] > 0

    wait_for(running, 3, "a running request on /metrics")
    slow.join()
    for _ in range(2):
        assert chat(sim, max_tokens=3).status_code == 200
    after = parse_families(httpx.get(f"{sim.url}/metrics").text)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("vllm:generation_tokens_total") == 25 + 3 + 3
    assert grew("vllm:request_success_total", finished_reason="length") == 3
    assert grew("vllm:prompt_tokens_total") > 0
    assert grew("vllm:e2e_request_latency_seconds_count") == 3
    assert grew("vllm:inter_token_latency_seconds_count") == 24 + 2 + 2
    # 24 gaps of ~40 ms: the histogram saw real latencies, not made-up ones.
    assert sample(after, "vllm:inter_token_latency_seconds_bucket", le="0.025") == 0
    assert sample(after, "vllm:num_requests_running") == 0
    assert sample(after, "vllm:kv_cache_usage_perc") == 0


def test_requests_beyond_max_num_seqs_wait_and_every_log_line_is_numbered(
    launch: Callable[..., Sim],
) -> None:
    sim = launch(
        "--sim-load-seconds",
        "0.2",
        "--sim-ttft-ms",
        "5",
        "--sim-token-latency-ms",
        "20",
        "--sim-max-num-seqs",
        "2",
        "--sim-log-interval",
        "0.3",
    )
    sim.wait_ready()
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(chat(sim, max_tokens=10).status_code))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    waiting: list[float] = []

    def queued() -> bool:
        page = parse_families(httpx.get(f"{sim.url}/metrics").text)
        waiting.append(sample(page, "vllm:num_requests_waiting"))
        return sample(page, "vllm:num_requests_running") == 2 and waiting[-1] > 0

    wait_for(queued, 3, "queued requests")
    for thread in threads:
        thread.join()
    assert results == [200] * 8
    wait_for(lambda: "Engine 000: Avg prompt throughput" in sim.log(), 3, "a stats line")
    sim.proc.send_signal(signal.SIGTERM)
    assert sim.wait_exit() == 0
    log = sim.log()
    numbers = seqs(log)
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) == len(log.splitlines())
    assert log.count('"POST /v1/chat/completions HTTP/1.1" 200 OK') == 8
    assert re.search(
        r"Engine 000: Avg prompt throughput: [\d.]+ tokens/s, Avg generation "
        r"throughput: [\d.]+ tokens/s, Running: \d+ reqs, Waiting: \d+ reqs",
        log,
    )


def test_sigterm_stops_gracefully_and_takes_the_engine_core_along(
    launch: Callable[..., Sim],
) -> None:
    sim = launch(*FAST)
    sim.wait_ready()
    members = live_group_members(sim.pgid)
    assert sorted(members.values()) == sorted(
        ["fleetdeck-sim-v", "VLLM::EngineCor", "VLLM::Worker"]
    )
    assert len(members) == 3
    sim.proc.send_signal(signal.SIGTERM)
    assert sim.wait_exit() == 0
    assert "Shutting down FastAPI HTTP server." in sim.log()
    assert "INFO:     Application shutdown complete." in sim.log()
    wait_for(lambda: not live_group_members(sim.pgid), 3, "the group to be gone")


def test_sigterm_lets_a_request_in_flight_finish(launch: Callable[..., Sim]) -> None:
    sim = launch("--sim-load-seconds", "0.2", "--sim-token-latency-ms", "50")
    sim.wait_ready()
    tokens: list[str] = []
    with httpx.stream(
        "POST",
        f"{sim.url}/v1/completions",
        timeout=10,
        json={
            "prompt": "hello",
            "max_tokens": 20,
            "stream": True,
        },
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: {") and not tokens:
                sim.proc.send_signal(signal.SIGTERM)
            if line.startswith("data: "):
                tokens.append(line)
    assert tokens[-1] == "data: [DONE]"
    assert len(tokens) == 20 + 2  # the tokens, the finish chunk, [DONE]
    assert sim.wait_exit() == 0
    assert "Waiting for connections to close. (CTRL+C to force quit)" in sim.log()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{sim.url}/health")


def test_a_group_sigterm_is_a_stop_not_an_engine_death(launch: Callable[..., Sim]) -> None:
    sim = launch(*FAST)
    sim.wait_ready()
    os.killpg(sim.pgid, signal.SIGTERM)  # what fleetdeck's supervisor sends
    assert sim.wait_exit() == 0
    assert "EngineDeadError" not in sim.log()


def test_sigkill_of_the_leader_orphans_the_engine_core(launch: Callable[..., Sim]) -> None:
    sim = launch(*FAST)
    sim.wait_ready()
    sim.proc.send_signal(signal.SIGKILL)
    assert sim.wait_exit() == -signal.SIGKILL
    time.sleep(0.5)
    left = live_group_members(sim.pgid)
    assert "VLLM::EngineCor" in left.values(), left
    os.killpg(sim.pgid, signal.SIGKILL)
    wait_for(lambda: not live_group_members(sim.pgid), 3, "the group to be gone")


def test_an_orphaned_engine_core_gives_up_by_itself(launch: Callable[..., Sim]) -> None:
    sim = launch(*FAST, "--sim-orphan-exit-seconds", "0.5")
    sim.wait_ready()
    sim.proc.send_signal(signal.SIGKILL)
    sim.wait_exit()
    wait_for(lambda: not live_group_members(sim.pgid), 4, "the orphan to exit")


def test_crash_after_n_requests_is_engine_death(launch: Callable[..., Sim]) -> None:
    sim = launch(*FAST, "--sim-crash-after", "2")
    sim.wait_ready()
    assert chat(sim, max_tokens=2).status_code == 200
    assert chat(sim, max_tokens=2).status_code == 200
    wait_for(lambda: sim.health() == 503 or sim.proc.poll() is not None, 3, "/health 503")
    assert sim.health() == 503
    late = chat(sim, max_tokens=2)
    assert late.status_code == 500
    assert sim.wait_exit(6) == 1
    log = sim.log()
    assert "Engine core proc EngineCore_DP0 died unexpectedly, shutting down client." in log
    assert "vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue." in log
    wait_for(lambda: not live_group_members(sim.pgid), 3, "the group to be gone")


def test_an_engine_core_killed_from_outside_is_engine_death(launch: Callable[..., Sim]) -> None:
    sim = launch(*FAST)
    sim.wait_ready()
    core = next(
        pid for pid, comm in live_group_members(sim.pgid).items() if comm == "VLLM::EngineCor"
    )
    os.kill(core, signal.SIGKILL)
    wait_for(lambda: sim.health() == 503, 3, "/health 503")
    assert sim.wait_exit(6) == 1
    assert "EngineDeadError" in sim.log()


@pytest.mark.parametrize(
    ("kind", "code", "needle"),
    [
        ("port-in-use", 1, "OSError: [Errno 98] Address already in use"),
        ("out-of-memory", 1, "is less than desired CPU memory utilization"),
        ("model-not-found", 1, "is not a local folder and is not a valid model identifier"),
        ("bad-argument", 2, "vllm: error: unrecognized arguments: --swap-space 4"),
    ],
)
def test_fail_at_start_writes_the_real_error_and_exit_code(
    launch: Callable[..., Sim], kind: str, code: int, needle: str
) -> None:
    sim = launch(*FAST, "--sim-fail-at-start", kind)
    assert sim.wait_exit() == code
    assert needle in sim.log()
    assert sim.health() is None
    wait_for(lambda: not live_group_members(sim.pgid), 3, "the group to be gone")


def test_a_port_really_in_use_fails_like_vllm(launch: Callable[..., Sim]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        sim = launch(*FAST, "--port", str(holder.getsockname()[1]))  # the last --port wins
        assert sim.wait_exit() == 1
    assert "OSError: [Errno 98] Address already in use" in sim.log()


def test_bad_command_lines_are_usage_errors(launch: Callable[..., Sim]) -> None:
    for args in (["--port", "eighty"], ["--sim-no-such-option", "1"]):
        sim = launch(*args)
        assert sim.wait_exit() == 2
        assert "error: " in sim.log()


def test_imports_are_quick_and_stay_out_of_core_and_tui() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import fleetdeck.hosts.sim_vllm.cli; "
        "print(time.perf_counter() - t); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('core', 'tui')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    ).stdout.split("\n")
    assert float(out[0]) < 0.3
    assert out[1] == "[]"


SYSTEM_PROMPT = " ".join(f"Rule {i}: answer briefly and cite the runbook." for i in range(12))


def prefix_counters(sim: Sim) -> tuple[float, float, float]:
    """(prefix_cache_queries, prefix_cache_hits, prompt tokens from local cache hits)."""
    page = parse_families(httpx.get(f"{sim.url}/metrics").text)
    return (
        sample(page, "vllm:prefix_cache_queries_total"),
        sample(page, "vllm:prefix_cache_hits_total"),
        sample(page, "vllm:prompt_tokens_by_source_total", source="local_cache_hit"),
    )


def ask(sim: Sim, question: str, system: str = SYSTEM_PROMPT) -> None:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    response = httpx.post(
        f"{sim.url}/v1/chat/completions",
        json={"model": "tiny", "messages": messages, "max_tokens": 2},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_repeated_shared_prefixes_are_prefix_cache_hits(launch: Callable[..., Sim]) -> None:
    sim = launch(*FAST)
    sim.wait_ready()
    assert prefix_counters(sim) == (0, 0, 0)
    ask(sim, "Where is Paris?")
    queries, hits, _ = prefix_counters(sim)
    assert queries > 0 and hits == 0  # a cold cache
    for question in ("Is the fleet healthy?", "What is the weather?", "Where is Paris?"):
        ask(sim, question)
        before_hits = hits
        queries, hits, from_cache = prefix_counters(sim)
        # "system: " and the rules are 122 of the sim's tokens: 7 whole blocks of 16 reused.
        assert hits - before_hits >= 7 * 16
        assert from_cache == hits <= queries
    # A prompt that shares nothing with the cached ones hits nothing.
    ask(sim, "Hello", system="Completely different instructions for another tenant.")
    assert prefix_counters(sim)[1] == hits


def test_prefix_caching_off_never_hits(launch: Callable[..., Sim]) -> None:
    sim = launch(*FAST, "--no-enable-prefix-caching")
    sim.wait_ready()
    for _ in range(3):
        ask(sim, "Where is Paris?")
    queries, hits, _ = prefix_counters(sim)
    assert queries > 0 and hits == 0
