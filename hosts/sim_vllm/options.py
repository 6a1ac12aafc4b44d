"""The simulator's command line: vLLM's own (`serve MODEL --port ...`) plus `--sim-*`.

A launcher hands the simulator exactly what it would hand `vllm serve`, including flags
the simulator has no use for. Those are accepted and ignored, whether they take a value
(`--max-model-len 256`) or not (`--enforce-eager`); they still show in the
`non-default args` log line, as they do on a real server. Usage errors look and exit
like vLLM's argparse errors (exit code 2).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

FAIL_KINDS = ("port-in-use", "out-of-memory", "bad-argument", "model-not-found")
DEFAULT_MODEL = "Qwen/Qwen3-0.6B"
TOP_USAGE = "usage: vllm [-h] [-v] {chat,complete,serve,bench,collect-env,run-batch} ..."
SERVE_USAGE = "usage: vllm serve [model_tag] [options]"

# vLLM flags that take no value. Any other unknown flag takes the next token as its value
# unless that token is itself a flag; --enable-*/--disable-*/--no-* are switches too.
_SWITCHES = frozenset(
    {
        "--enforce-eager",
        "--trust-remote-code",
        "--headless",
        "--skip-tokenizer-init",
        "--async-scheduling",
        "--language-model-only",
        "--return-tokens-as-token-ids",
        "--use-tqdm-on-load",
        "--aggregate-engine-logging",
        "--ssl-cert-reqs-none",
    }
)
_SWITCH_PREFIXES = ("--enable-", "--disable-", "--no-")


class UsageError(Exception):
    """A command line vLLM would refuse; `usage` is the usage line argparse prints."""

    def __init__(self, message: str, usage: str = SERVE_USAGE, prog: str = "vllm serve") -> None:
        super().__init__(message)
        self.usage = usage
        self.prog = prog

    def lines(self) -> list[str]:
        return [self.usage, f"{self.prog}: error: {self}"]


@dataclass(frozen=True)
class SimOptions:
    model: str = DEFAULT_MODEL
    host: str = "0.0.0.0"
    port: int = 8000
    served_model_names: tuple[str, ...] = ()
    api_key: str | None = None
    max_model_len: int = 4096
    max_num_seqs: int = 256
    gpu_memory_utilization: float = 0.9
    # What vLLM logs as "non-default args", in command-line order, secrets left out.
    non_default_args: dict[str, object] = field(default_factory=dict)
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    # "ray": reserve tensor x pipeline parallel size GPUs as a Ray placement group over
    # the cluster at RAY_ADDRESS before loading, as vLLM's Ray executor does.
    distributed_executor_backend: str | None = None
    load_seconds: float = 3.0
    token_latency_ms: float = 20.0
    ttft_ms: float = 50.0
    crash_after: int | None = None
    # Share of generation requests answered with a 500 (0..1), spread evenly: 0.5 fails
    # every second one. Lets a test make a deployment unhealthy without killing it.
    error_rate: float = 0.0
    fail_at_start: str | None = None
    log_interval: float = 10.0
    orphan_exit_seconds: float = 600.0
    kv_cache_tokens: int = 16384
    block_size: int = 16  # vLLM's --block-size: the prefix cache's unit, in tokens

    @property
    def model_name(self) -> str:
        """The name requests and metrics use: the first served name, else the model."""
        return self.served_model_names[0] if self.served_model_names else self.model


def _positive_float(text: str) -> float:
    value = float(text)
    if value < 0 or value != value:
        raise ValueError(text)
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError(text)
    return value


def _choice(text: str) -> str:
    if text not in FAIL_KINDS:
        choices = ", ".join(repr(kind) for kind in FAIL_KINDS)
        raise UsageError(
            f"argument --sim-fail-at-start: invalid choice: {text!r} (choose from {choices})"
        )
    return text


# flag -> (SimOptions field, converter, type name argparse would print)
_VALUE_FLAGS: dict[str, tuple[str, Callable[[str], object], str]] = {
    "--model": ("model", str, "str"),
    "--host": ("host", str, "str"),
    "--port": ("port", int, "int"),
    "--api-key": ("api_key", str, "str"),
    "--max-model-len": ("max_model_len", int, "int"),
    "--max-num-seqs": ("max_num_seqs", int, "int"),
    "--gpu-memory-utilization": ("gpu_memory_utilization", float, "float"),
    "--block-size": ("block_size", int, "int"),
    "--tensor-parallel-size": ("tensor_parallel_size", int, "int"),
    "--pipeline-parallel-size": ("pipeline_parallel_size", int, "int"),
    "--distributed-executor-backend": ("distributed_executor_backend", str, "str"),
    "--sim-load-seconds": ("load_seconds", _positive_float, "float"),
    "--sim-token-latency-ms": ("token_latency_ms", _positive_float, "float"),
    "--sim-ttft-ms": ("ttft_ms", _positive_float, "float"),
    "--sim-crash-after": ("crash_after", int, "int"),
    "--sim-error-rate": ("error_rate", _fraction, "float"),
    "--sim-fail-at-start": ("fail_at_start", _choice, "str"),
    "--sim-log-interval": ("log_interval", _positive_float, "float"),
    "--sim-max-num-seqs": ("sim_max_num_seqs", int, "int"),
    "--sim-orphan-exit-seconds": ("orphan_exit_seconds", _positive_float, "float"),
    "--sim-kv-cache-tokens": ("kv_cache_tokens", int, "int"),
}
_SECRET_FIELDS = frozenset({"api_key"})


def _takes_value(flag: str, following: str | None) -> bool:
    if "=" in flag or following is None or flag in _SWITCHES:
        return False
    if flag.startswith(_SWITCH_PREFIXES):
        return False
    return not following.startswith("-") or _is_number(following)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _literal(text: str) -> object:
    """How vLLM's non-default-args line shows a value: numbers as numbers."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def parse_serve_args(argv: Sequence[str], env: dict[str, str] | None = None) -> SimOptions:
    """Parse what follows `serve`; raises UsageError like vLLM's argparse would."""
    env = dict(os.environ) if env is None else env
    values: dict[str, object] = {}
    shown: dict[str, object] = {}
    unknown_sim: list[str] = []
    served: list[str] = []
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token.startswith("-") or token == "-":
            if "model" in values:
                unknown_sim.append(token)
                continue
            values["model"] = token
            shown["model_tag"] = shown["model"] = token
            continue
        flag, eq, inline = token.partition("=")
        if flag == "--served-model-name":
            names = [inline] if eq else []
            while not eq and i < len(tokens) and not tokens[i].startswith("-"):
                names.append(tokens[i])
                i += 1
            if not names:
                raise UsageError("argument --served-model-name: expected at least one argument")
            served += names
            shown["served_model_name"] = list(served)
            continue
        spec = _VALUE_FLAGS.get(flag)
        if spec is None:
            if flag.startswith("--sim-"):
                unknown_sim.append(token)
                continue
            following = tokens[i] if i < len(tokens) else None
            key = flag.lstrip("-").replace("-", "_")
            if eq:
                shown[key] = _literal(inline)
            elif _takes_value(flag, following):
                shown[key] = _literal(tokens[i])
                i += 1
            elif flag.startswith("--no-"):
                shown[key[3:]] = False
            else:
                shown[key] = True
            continue
        name, convert, type_name = spec
        if eq:
            raw = inline
        elif i < len(tokens) and (not tokens[i].startswith("-") or _is_number(tokens[i])):
            raw = tokens[i]
            i += 1
        else:
            raise UsageError(f"argument {flag}: expected one argument")
        try:
            values[name] = convert(raw)
        except ValueError as exc:
            raise UsageError(f"argument {flag}: invalid {type_name} value: {raw!r}") from exc
        if not flag.startswith("--sim-") and name not in _SECRET_FIELDS:
            shown[name] = values[name]
    if unknown_sim:
        raise UsageError(f"unrecognized arguments: {' '.join(unknown_sim)}", TOP_USAGE, "vllm")
    if "api_key" not in values and env.get("VLLM_API_KEY"):
        values["api_key"] = env["VLLM_API_KEY"]
    sim_max = values.pop("sim_max_num_seqs", None)
    if sim_max is not None:
        values["max_num_seqs"] = sim_max
    for name in ("max_model_len", "max_num_seqs", "kv_cache_tokens", "block_size"):
        number = values.get(name)
        if isinstance(number, int) and number <= 0:
            raise UsageError(f"argument --{name.replace('_', '-')}: must be positive")
    return SimOptions(
        served_model_names=tuple(served),
        non_default_args=_ordered(shown),
        **values,  # type: ignore[arg-type]
    )


def _ordered(shown: dict[str, object]) -> dict[str, object]:
    """vLLM lists model_tag, host, port first, then the rest."""
    first = ("model_tag", "host", "port", "model")
    head: dict[str, object] = {key: shown[key] for key in first if key in shown}
    return {**head, **{key: value for key, value in shown.items() if key not in head}}
