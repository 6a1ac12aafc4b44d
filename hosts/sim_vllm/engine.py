"""The simulated engine: admission, token timing, KV-cache use and the metrics they make.

Requests beyond `max_num_seqs` wait, as in vLLM's scheduler; each admitted request
sleeps its time to first token, then one inter-token latency per token. A prompt whose
leading blocks are in the prefix cache (prefix_cache.py) counts them as cache hits and
sleeps a shorter prefill, in proportion to the tokens it still has to compute. Every
number on /metrics comes from what this class actually did: the counters count served tokens, the
histograms observe measured latencies, the gauges report live running/waiting requests
and a KV-cache usage that follows the tokens those requests hold.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

from fleetdeck.hosts.sim_vllm.metrics import MetricsRegistry
from fleetdeck.hosts.sim_vllm.prefix_cache import DEFAULT_BLOCK_SIZE, PrefixCache
from fleetdeck.hosts.sim_vllm.sample_text import split_tokens, token_stream

# The share of the time to first token that a prefix-cache hit cannot save: scheduling,
# the first decode step and the response. The rest scales with the tokens computed.
PREFILL_FIXED_SHARE = 0.2


class EngineDeadError(Exception):
    """vLLM's `EngineDeadError`: the engine core is gone, nothing more will be generated."""

    def __init__(self) -> None:
        super().__init__(
            "EngineCore encountered an issue. See stack trace (above) for the root cause."
        )


@dataclass(frozen=True)
class EngineTiming:
    ttft_seconds: float
    token_seconds: float


@dataclass(frozen=True)
class IntervalStats:
    """What vLLM's periodic `Engine 000: Avg prompt throughput ...` line reports."""

    prompt_tokens: int
    generation_tokens: int
    running: int
    waiting: int
    kv_cache_usage: float


class SimEngine:
    def __init__(
        self,
        metrics: MetricsRegistry,
        timing: EngineTiming,
        *,
        max_num_seqs: int,
        kv_cache_tokens: int,
        block_size: int = DEFAULT_BLOCK_SIZE,
        prefix_caching: bool = True,
        crash_after: int | None = None,
        on_crash: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metrics = metrics
        self._timing = timing
        self._max_num_seqs = max_num_seqs
        self._block_size = block_size
        self._kv_blocks = max(1, kv_cache_tokens // block_size)
        self._prefix_cache = PrefixCache(self._kv_blocks, block_size) if prefix_caching else None
        self._crash_after = crash_after
        self._on_crash = on_crash
        self._clock = clock
        self._cond = threading.Condition()
        self._dead = threading.Event()
        self._running: dict[int, int] = {}  # request number -> tokens it holds in the cache
        self._waiting = 0
        self._next_id = 0
        self._completed = 0
        self._interval_prompt = 0
        self._interval_generation = 0
        metrics.set("vllm:engine_sleep_state", 1.0, "awake")

    @property
    def dead(self) -> bool:
        return self._dead.is_set()

    @property
    def in_flight(self) -> int:
        with self._cond:
            return len(self._running) + self._waiting

    def mark_dead(self) -> None:
        """The engine core is gone: wake and fail every waiting and running request."""
        self._dead.set()
        with self._cond:
            self._cond.notify_all()

    def generate(
        self, prompt: str, prompt_tokens: int, max_tokens: int, finish_reason: str = "length"
    ) -> Generator[str, None, None]:
        """Yield `max_tokens` tokens at the simulated pace; raises EngineDeadError.

        Closing the iterator early (a client went away) finishes the request as `abort`.
        """
        arrival = self._clock()
        request_id = self._admit(prompt_tokens)
        scheduled = first = last = self._clock()
        generated = 0
        reason = "abort"
        cache = self._prefix_cache
        prompt_words = split_tokens(prompt) if cache is not None else []
        cached = (
            min(cache.lookup(prompt_words), max(0, prompt_tokens - 1)) if cache is not None else 0
        )
        computed_share = (prompt_tokens - cached) / prompt_tokens if prompt_tokens else 1.0
        try:
            self._sleep(
                self._timing.ttft_seconds
                * (PREFILL_FIXED_SHARE + (1 - PREFILL_FIXED_SHARE) * computed_share)
            )
            first = last = self._clock()
            if cache is not None:
                cache.insert(prompt_words)
            self._prefilled(request_id, prompt_tokens, cached, arrival, first)
            for token in token_stream(prompt):
                if generated:
                    self._sleep(self._timing.token_seconds)
                    now = self._clock()
                    self.metrics.observe("vllm:inter_token_latency_seconds", now - last)
                    last = now
                self._decoded(request_id)
                generated += 1
                yield token
                if generated >= max_tokens:
                    break
            reason = finish_reason
        finally:
            self._finish(
                request_id,
                reason,
                (prompt_tokens, cached),
                generated,
                max_tokens,
                (arrival, scheduled, first),
            )

    def take_interval_stats(self) -> IntervalStats:
        with self._cond:
            stats = IntervalStats(
                self._interval_prompt,
                self._interval_generation,
                len(self._running),
                self._waiting,
                self._kv_usage(),
            )
            self._interval_prompt = self._interval_generation = 0
        return stats

    def _sleep(self, seconds: float) -> None:
        if self._dead.wait(seconds):
            raise EngineDeadError()

    def _admit(self, prompt_tokens: int) -> int:
        with self._cond:
            self._waiting += 1
            self._publish_queue()
            try:
                while not self._dead.is_set() and len(self._running) >= self._max_num_seqs:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            if self._dead.is_set():
                self._publish_queue()
                raise EngineDeadError()
            self._next_id += 1
            self._running[self._next_id] = prompt_tokens
            self._publish_queue()
            return self._next_id

    def _prefilled(
        self, request_id: int, prompt_tokens: int, cached: int, arrival: float, first: float
    ) -> None:
        m = self.metrics
        m.inc("vllm:prompt_tokens", prompt_tokens)
        m.inc("vllm:prompt_tokens_by_source", prompt_tokens - cached, "local_compute")
        m.inc("vllm:prompt_tokens_by_source", cached, "local_cache_hit")
        m.inc("vllm:prompt_tokens_cached", cached)
        m.inc("vllm:prompt_tokens_cached_by_source", cached, "device")
        m.inc("vllm:prefix_cache_queries", prompt_tokens)
        m.inc("vllm:prefix_cache_hits", cached)
        m.observe("vllm:iteration_tokens_total", prompt_tokens + 1)
        m.observe("vllm:time_to_first_token_seconds", first - arrival)
        with self._cond:
            self._interval_prompt += prompt_tokens

    def _decoded(self, request_id: int) -> None:
        self.metrics.inc("vllm:generation_tokens")
        with self._cond:
            self._interval_generation += 1
            self._running[request_id] += 1
            self._publish_queue()

    def _finish(
        self,
        request_id: int,
        reason: str,
        prompt: tuple[int, int],  # tokens, of which cached
        generated: int,
        max_tokens: int,
        times: tuple[float, float, float],
    ) -> None:
        arrival, scheduled, first = times
        prompt_tokens, cached = prompt
        end = self._clock()
        with self._cond:
            del self._running[request_id]
            self._publish_queue()
            self._cond.notify()
        m = self.metrics
        m.inc("vllm:request_success", 1, reason)
        for name, value in (
            ("vllm:e2e_request_latency_seconds", end - arrival),
            ("vllm:request_queue_time_seconds", scheduled - arrival),
            ("vllm:request_inference_time_seconds", end - scheduled),
            ("vllm:request_prefill_time_seconds", max(0.0, first - scheduled)),
            ("vllm:request_decode_time_seconds", max(0.0, end - first)),
            ("vllm:request_prompt_tokens", prompt_tokens),
            ("vllm:request_prefill_kv_computed_tokens", prompt_tokens - cached),
            ("vllm:request_generation_tokens", generated),
            ("vllm:request_max_num_generation_tokens", max_tokens),
            ("vllm:request_params_max_tokens", max_tokens),
            ("vllm:request_params_n", 1),
            ("vllm:request_num_preemptions", 0),
        ):
            m.observe(name, value)
        if generated > 1:
            m.observe("vllm:request_time_per_output_token_seconds", (end - first) / (generated - 1))
        if reason != "abort":
            self._count_completion()

    def _count_completion(self) -> None:
        with self._cond:
            self._completed += 1
            crash = self._crash_after is not None and self._completed == self._crash_after
        if crash:
            self._on_crash()

    def _kv_usage(self) -> float:
        blocks = sum(-(-tokens // self._block_size) for tokens in self._running.values())
        return min(1.0, blocks / self._kv_blocks)

    def _publish_queue(self) -> None:
        """Gauges follow every change (caller holds the lock)."""
        m = self.metrics
        m.set("vllm:num_requests_running", len(self._running))
        m.set("vllm:num_requests_waiting", self._waiting)
        m.set("vllm:num_requests_waiting_by_reason", self._waiting, "capacity")
        m.set("vllm:kv_cache_usage_perc", self._kv_usage())
