from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from fleetdeck.core.inventory import VllmOptions


def test_defaults_produce_no_flags_and_bind_loopback() -> None:
    options = VllmOptions()
    assert options.to_cli_args() == []
    assert options.host == "127.0.0.1"


def test_every_typed_option_has_a_flag() -> None:
    options = VllmOptions(
        max_model_len=4096,
        dtype="half",
        tensor_parallel_size=2,
        pipeline_parallel_size=2,
        gpu_memory_utilization=0.5,
        served_model_name="chat",
        host="0.0.0.0",
        max_num_seqs=32,
        quantization="awq",
        trust_remote_code=True,
        enforce_eager=True,
        load_format="dummy",
        kv_cache_dtype="fp8",
        enable_prefix_caching=True,
        extra_args=("--seed", "1"),
    )
    args = options.to_cli_args()
    assert args == [
        "--max-model-len", "4096", "--dtype", "half",
        "--tensor-parallel-size", "2", "--pipeline-parallel-size", "2",
        "--gpu-memory-utilization", "0.5", "--served-model-name", "chat",
        "--max-num-seqs", "32", "--quantization", "awq", "--trust-remote-code",
        "--enforce-eager", "--load-format", "dummy", "--kv-cache-dtype", "fp8",
        "--enable-prefix-caching", "--seed", "1",
    ]  # fmt: skip
    assert "--host" not in args and "0.0.0.0" not in args


@pytest.mark.parametrize(
    ("arg", "reason"),
    [
        ("--api-key", "world-readable"),
        ("--api-key=sk-x", "world-readable"),
        ("--port", "port_range"),
        ("--host=0.0.0.0", "vllm.host"),
        ("--disable-log-stats", "vllm:* metric"),
        ("--swap-space", "no longer"),
        ("-tp", "tensor_parallel_size"),
    ],
)
def test_managed_flags_are_refused_with_a_reason(arg: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(reason)):
        VllmOptions.model_validate({"extra_args": [arg, "1"]})


def test_a_flag_set_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="also set by vllm.max_model_len"):
        VllmOptions(max_model_len=10, extra_args=("--max-model-len=20",))
    with pytest.raises(ValidationError, match="also set by vllm.enable_prefix_caching"):
        VllmOptions(enable_prefix_caching=False, extra_args=("--enable-prefix-caching",))


@pytest.mark.parametrize(
    "data",
    [
        {"gpu_memory_utilization": 0},
        {"gpu_memory_utilization": 1.5},
        {"tensor_parallel_size": 0},
        {"dtype": "fp8"},
        {"max_model_len": "8k"},
        {"swap_space": 4},
    ],
)
def test_invalid_options(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        VllmOptions.model_validate(data)
