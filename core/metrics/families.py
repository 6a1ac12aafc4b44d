"""The vLLM metric families fleetdeck reads, and the older names that mean the same thing.

A real /metrics page carries ~80 families (50 KB); these are the dozen we derive
anything from. Everything else is dropped line by line before any parsing.
"""

from __future__ import annotations

RUNNING = "vllm:num_requests_running"
WAITING = "vllm:num_requests_waiting"
KV_CACHE_USAGE = "vllm:kv_cache_usage_perc"
PROMPT_TOKENS = "vllm:prompt_tokens_total"
GENERATION_TOKENS = "vllm:generation_tokens_total"
REQUEST_SUCCESS = "vllm:request_success_total"
# A new value of either means a new process, whatever the counters did: a counter that
# restarted and already climbed past its old value would otherwise hide the restart.
REQUEST_SUCCESS_CREATED = "vllm:request_success_created"
PROCESS_START = "process_start_time_seconds"

E2E_LATENCY = "vllm:e2e_request_latency_seconds"
TTFT = "vllm:time_to_first_token_seconds"
INTER_TOKEN_LATENCY = "vllm:inter_token_latency_seconds"
QUEUE_TIME = "vllm:request_queue_time_seconds"
HISTOGRAMS = (E2E_LATENCY, TTFT, INTER_TOKEN_LATENCY, QUEUE_TIME)

# Older servers (vLLM V0 and the first V1 releases) publish these under other names;
# some releases publish both during a deprecation period, and then the new name wins.
RENAMED: dict[str, str] = {
    "vllm:gpu_cache_usage_perc": KV_CACHE_USAGE,
    "vllm:time_per_output_token_seconds": INTER_TOKEN_LATENCY,
}

# finished_reason values of vllm:request_success_total (vLLM's FINISH_REASON_STRINGS:
# stop, length, abort, error, repetition). "abort" is a request the client gave up on or
# the server cancelled, "error" a request-level internal error answered with a 500.
FAILED_REASONS = frozenset({"abort", "error"})

_SCALARS = (RUNNING, WAITING, KV_CACHE_USAGE, PROMPT_TOKENS, GENERATION_TOKENS, REQUEST_SUCCESS)
_HISTOGRAM_NAMES = (*HISTOGRAMS, "vllm:time_per_output_token_seconds")


def _sample_names() -> frozenset[str]:
    names = {*_SCALARS, "vllm:gpu_cache_usage_perc", REQUEST_SUCCESS_CREATED, PROCESS_START}
    for family in _HISTOGRAM_NAMES:
        names |= {f"{family}_bucket", f"{family}_count", f"{family}_sum"}
    return frozenset(names)


# Exact sample names kept; a prefix alone is not enough (vllm:num_requests_waiting is a
# prefix of vllm:num_requests_waiting_by_reason).
SAMPLE_NAMES = _sample_names()
# What a kept line starts with: a cheap first test before the exact-name check.
LINE_PREFIXES = (*_SCALARS, *RENAMED, REQUEST_SUCCESS_CREATED, PROCESS_START, *_HISTOGRAM_NAMES)
