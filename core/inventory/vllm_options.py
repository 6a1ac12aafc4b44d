"""Typed vLLM server options, and the vLLM command-line flags they become."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from fleetdeck.core.inventory.fields import InventoryModel, check_address

_MANAGED_FLAGS = {
    "--port": "fleetdeck picks each replica's port from the host's port_range",
    "--host": 'fleetdeck binds to vllm.host; set host = "..." under [deployments.vllm]',
    "--api-key": (
        'argv is world-readable in /proc/PID/cmdline; set api_key = { env = "NAME" } and'
        " fleetdeck passes it as VLLM_API_KEY from a 0600 env file"
    ),
    "--disable-log-stats": (
        "it removes every vllm:* metric, which fleetdeck needs for status, sparklines"
        " and autoscaling"
    ),
    "--swap-space": "vLLM no longer has this flag and refuses to start with it",
    "--hf-token": (
        'argv is world-readable in /proc/PID/cmdline; set hf_token = { env = "NAME" } and'
        " fleetdeck passes it as HF_TOKEN from a 0600 env file"
    ),
}
_GPU_COUNT = "fleetdeck counts each replica's GPUs from it; set vllm.{} instead"
for _flag, _option in (
    ("--tensor-parallel-size", "tensor_parallel_size"),
    ("-tp", "tensor_parallel_size"),
    ("--pipeline-parallel-size", "pipeline_parallel_size"),
    ("-pp", "pipeline_parallel_size"),
):
    _MANAGED_FLAGS[_flag] = _GPU_COUNT.format(_option)


def _flag_name(arg: str) -> str:
    return arg.split("=", 1)[0]


def _check_extra_args(args: tuple[str, ...]) -> tuple[str, ...]:
    for arg in args:
        reason = _MANAGED_FLAGS.get(_flag_name(arg))
        if reason is not None:
            raise ValueError(f"{_flag_name(arg)} is not allowed here: {reason}; remove it")
    return args


class VllmOptions(InventoryModel):
    """Options passed to `vllm serve`; each becomes the vLLM flag of the same name."""

    TEXT_FIELDS = frozenset({"extra_args"})

    max_model_len: Annotated[int, Field(gt=0)] | None = None
    """Context length in tokens (--max-model-len); vLLM uses the model's own when unset."""
    dtype: Literal["auto", "half", "float16", "bfloat16", "float", "float32"] | None = None
    """Weight and activation dtype (--dtype)."""
    tensor_parallel_size: Annotated[int, Field(ge=1)] = 1
    """GPUs each replica shards the model across (--tensor-parallel-size)."""
    pipeline_parallel_size: Annotated[int, Field(ge=1)] = 1
    """Pipeline stages per replica (--pipeline-parallel-size); GPUs = TP x PP."""
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] | None = None
    """Fraction of each GPU's memory vLLM may use, 0 < x <= 1 (--gpu-memory-utilization)."""
    served_model_name: str | None = None
    """Model name clients send in requests (--served-model-name); defaults to `model`."""
    host: Annotated[str, AfterValidator(check_address)] = "127.0.0.1"
    """Bind address. /metrics and /health have no auth, so the default is loopback and
    clients come through SSH port forwards; write another address only on purpose."""
    max_num_seqs: Annotated[int, Field(gt=0)] | None = None
    """Most sequences batched together (--max-num-seqs)."""
    quantization: str | None = None
    """Quantization method, e.g. "awq", "gptq", "fp8" (--quantization)."""
    trust_remote_code: bool = False
    """Run the model repository's own Python code (--trust-remote-code)."""
    enforce_eager: bool = False
    """Disable CUDA graphs: slower, starts faster, less memory (--enforce-eager)."""
    load_format: str | None = None
    """How weights are loaded, e.g. "safetensors" or "dummy" for tests (--load-format)."""
    kv_cache_dtype: str | None = None
    """KV cache dtype, e.g. "fp8" (--kv-cache-dtype)."""
    enable_prefix_caching: bool | None = None
    """true: --enable-prefix-caching; false: --no-enable-prefix-caching; unset: vLLM's choice."""
    extra_args: Annotated[
        tuple[str, ...], Field(strict=False), AfterValidator(_check_extra_args)
    ] = ()
    """Further vLLM flags, passed as written (never --port, --host, --api-key or
    --disable-log-stats: fleetdeck manages those)."""

    @model_validator(mode="after")
    def _no_flag_twice(self) -> VllmOptions:
        typed = {_flag_name(arg) for arg in self.typed_cli_args() if arg.startswith("--")}
        typed |= {f"--no-{flag[2:]}" for flag in typed} | {
            "--" + flag[5:] for flag in typed if flag.startswith("--no-")
        }
        for arg in self.extra_args:
            if _flag_name(arg) in typed:
                option = _flag_name(arg).removeprefix("--no-").lstrip("-").replace("-", "_")
                raise ValueError(
                    f"{_flag_name(arg)} is also set by vllm.{option}; keep only one of them"
                )
        return self

    def typed_cli_args(self) -> list[str]:
        """Flags for the typed options only, in declaration order."""
        args: list[str] = []
        for name in type(self).model_fields:
            if name in ("host", "extra_args"):
                continue
            value = getattr(self, name)
            flag = "--" + name.replace("_", "-")
            if name in ("tensor_parallel_size", "pipeline_parallel_size") and value == 1:
                continue  # vLLM's own default; keeps command lines short
            if isinstance(value, bool):
                if value:
                    args.append(flag)
                elif name == "enable_prefix_caching":
                    args.append(f"--no-{flag[2:]}")
            elif value is not None:
                args += [flag, str(value)]
        return args

    def to_cli_args(self) -> list[str]:
        """vLLM flags for these options, without --host/--port/--api-key (the engine adds
        those itself: host and port per replica, the key by environment)."""
        return [*self.typed_cli_args(), *self.extra_args]
