"""What a real vLLM logs once it serves: periodic stats, engine death, shutdown.

Formats follow vLLM 0.32 (`loggers.py` stats line, `core_client.py` and `async_llm.py`
engine-death errors, `launcher.py` and uvicorn shutdown lines).
"""

from __future__ import annotations

from fleetdeck.hosts.sim_vllm.engine import EngineDeadError, IntervalStats
from fleetdeck.hosts.sim_vllm.log_writer import LogWriter
from fleetdeck.hosts.sim_vllm.startup import API, ENGINE

_SITE = "/usr/local/lib/python3.12/dist-packages"


class StatsLine:
    """vLLM's `Engine 000: Avg prompt throughput ...` line, every `--sim-log-interval`.

    Like vLLM, an idle interval that follows an idle interval logs nothing (vLLM logs
    it at DEBUG "to avoid log noise on an idle production system").
    """

    def __init__(self) -> None:
        self._last_prompt = 0.0
        self._last_generation = 0.0

    def render(self, stats: IntervalStats, elapsed: float) -> str | None:
        prompt = stats.prompt_tokens / elapsed if elapsed > 0 else 0.0
        generation = stats.generation_tokens / elapsed if elapsed > 0 else 0.0
        busy = stats.running or stats.waiting
        quiet = not any((prompt, generation, self._last_prompt, self._last_generation, busy))
        self._last_prompt, self._last_generation = prompt, generation
        if quiet:
            return None
        return (
            f"Engine 000: Avg prompt throughput: {prompt:.1f} tokens/s, "
            f"Avg generation throughput: {generation:.1f} tokens/s, "
            f"Running: {stats.running} reqs, Waiting: {stats.waiting} reqs, "
            f"CPU KV cache usage: {stats.kv_cache_usage * 100:.1f}%, "
            "Prefix cache hit rate: 0.0%"
        )


def engine_crashed(log: LogWriter, engine_pid: int, after: int) -> None:
    """The EngineCore's own last words before `--sim-crash-after` kills it."""
    head = log.prefix(ENGINE, engine_pid, "ERROR", "core.py:1036")
    log.lines(
        f"{head} {line}"
        for line in (
            "EngineCore encountered a fatal error.",
            "Traceback (most recent call last):",
            f'  File "{_SITE}/vllm/v1/engine/core.py", line 1027, in run_engine_core',
            "    engine_core.run_busy_loop()",
            f'  File "{_SITE}/vllm/v1/engine/core.py", line 1054, in run_busy_loop',
            "    self._process_engine_step()",
            f'  File "{_SITE}/vllm/v1/executor/multiproc_executor.py", line 318, in get_response',
            "    raise RuntimeError(",
            f"RuntimeError: Worker failed with error 'simulated engine failure after {after} "
            "completed requests (--sim-crash-after)', please check the stack trace above for "
            "the root cause",
        )
    )


def engine_died(log: LogWriter, api_pid: int) -> None:
    """The API server noticing its EngineCore is gone."""
    log.vllm(
        API,
        api_pid,
        "ERROR",
        "core_client.py:564",
        "Engine core proc EngineCore_DP0 died unexpectedly, shutting down client.",
    )
    head = log.prefix(API, api_pid, "ERROR", "async_llm.py:538")
    log.lines(
        f"{head} {line}"
        for line in (
            "AsyncLLM output_handler failed.",
            "Traceback (most recent call last):",
            f'  File "{_SITE}/vllm/v1/engine/async_llm.py", line 490, in output_handler',
            "    outputs = await engine_core.get_output_async()",
            "              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
            f'  File "{_SITE}/vllm/v1/engine/core_client.py", line 895, in get_output_async',
            "    raise self._format_exception(outputs) from None",
            f"vllm.v1.engine.exceptions.EngineDeadError: {EngineDeadError()}",
        )
    )


def http_server_stopping(log: LogWriter, api_pid: int) -> None:
    log.vllm(API, api_pid, "INFO", "launcher.py:110", "Shutting down FastAPI HTTP server.")


def uvicorn_shutting_down(log: LogWriter, draining: bool) -> None:
    log.uvicorn("Shutting down")
    if draining:
        log.uvicorn("Waiting for connections to close. (CTRL+C to force quit)")


def uvicorn_stopped(log: LogWriter) -> None:
    log.uvicorn("Waiting for application shutdown.")
    log.uvicorn("Application shutdown complete.")


def uvicorn_finished(log: LogWriter, api_pid: int) -> None:
    log.uvicorn(f"Finished server process [{api_pid}]")


def engine_stopping(log: LogWriter, engine_pid: int) -> None:
    log.vllm(
        ENGINE,
        engine_pid,
        "INFO",
        "multiproc_executor.py:479",
        "[shutdown] Executor: waiting for worker exit count=1",
    )
    log.vllm(
        ENGINE,
        engine_pid,
        "INFO",
        "multiproc_executor.py:486",
        "[shutdown] Executor: all workers exited gracefully",
    )
