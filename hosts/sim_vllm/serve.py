"""One simulated `vllm serve` from start to exit, with vLLM's order of events.

Bind the port (taken: fail at once, exit 1), fork the EngineCore, log the loading
phases, listen, serve; then either stop on SIGTERM/SIGINT (drain, stop the EngineCore,
exit 0) or, when the EngineCore dies, answer /health with 503 until the watchdog ends
the server (exit 1).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from typing import Any

from fleetdeck.hosts.sim_vllm import ray_group, serving_log, start_failures
from fleetdeck.hosts.sim_vllm.engine import EngineTiming, SimEngine
from fleetdeck.hosts.sim_vllm.engine_core import EngineCoreProcess, spawn_engine_core
from fleetdeck.hosts.sim_vllm.log_writer import STDERR, LogWriter
from fleetdeck.hosts.sim_vllm.metric_families import cache_config_labels
from fleetdeck.hosts.sim_vllm.metrics import MetricsRegistry
from fleetdeck.hosts.sim_vllm.options import SimOptions
from fleetdeck.hosts.sim_vllm.server import ServerContext, SimHTTPServer
from fleetdeck.hosts.sim_vllm.startup import StartupLog

# vLLM's watchdog checks a dead engine every 5 s; the simulator ends sooner, so tests do.
WATCHDOG_SECONDS = 2.0
DRAIN_SECONDS = 10.0
# A group SIGTERM reaches the EngineCore and the leader together; if the EngineCore's exit
# is seen first, give the leader's own signal this long to show up before calling it death.
STOP_RACE_SECONDS = 0.5
_POLL = 0.1


def bind_port(host: str, port: int) -> socket.socket:
    """Bind without listening, like vLLM's create_server_socket: connections are refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def run_serve(options: SimOptions, log: LogWriter) -> int:
    """Run until stopped or dead; returns the process exit code."""
    if options.fail_at_start == "bad-argument":
        return start_failures.bad_argument(log)
    replica = SimReplica(options, log)
    replica.install_signal_handlers()
    return replica.run()


RAY_RESERVE_TIMEOUT_S = 120.0
RAY_WATCH_S = 1.0


def _stamp() -> str:
    return time.strftime("%m-%d %H:%M:%S")


class SimReplica:
    def __init__(self, options: SimOptions, log: LogWriter) -> None:
        self.options = options
        self.log = log
        self.api_pid = os.getpid()
        self.startup = StartupLog(log, options, self.api_pid)
        self.core: EngineCoreProcess | None = None
        self.core_gone = threading.Event()
        self.ray_group: Any = None  # held while serving: the GPUs reserved over Ray
        # Set by the signal handler: a plain flag, since a handler must not take locks
        # (threading.Event.set would) that the main thread may hold when it is called.
        self.signalled = False

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, _signum: int, _frame: Any) -> None:
        self.signalled = True

    def wait(self, seconds: float) -> bool:
        """Sleep; True as soon as a stop signal came or the EngineCore died."""
        deadline = time.monotonic() + seconds
        while not (self.signalled or self.core_gone.is_set()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(_POLL, remaining))
        return True

    def stopped_by_signal(self) -> bool:
        deadline = time.monotonic() + STOP_RACE_SECONDS
        while not self.signalled and time.monotonic() < deadline:
            time.sleep(_POLL / 5)
        return self.signalled

    def run(self) -> int:
        opts = self.options
        self.startup.banner_and_args()
        if opts.fail_at_start == "port-in-use":
            return start_failures.port_in_use(self.log)
        try:
            sock = bind_port(opts.host, opts.port)
        except OSError as error:
            return start_failures.port_in_use(self.log, error)
        with contextlib.closing(sock):
            code = self._start_and_serve(sock)
        if self.core is not None:
            self.core.stop()
        return code

    def _start_and_serve(self, sock: socket.socket) -> int:
        opts, startup = self.options, self.startup
        if opts.fail_at_start == "model-not-found":
            return start_failures.model_not_found(self.log, opts.model)
        if self.wait(startup.phase_seconds("config")):
            return 0
        startup.resolve_config()
        core = self.core = spawn_engine_core(
            opts.orphan_exit_seconds, [sock.fileno()], on_exit=lambda _code: self.core_gone.set()
        )
        startup.engine_init(core.pid, core.worker_pid)
        if opts.distributed_executor_backend == "ray" and not self._reserve_over_ray():
            return start_failures.EXIT_RUNTIME_ERROR
        if opts.fail_at_start == "out-of-memory":
            self.wait(startup.phase_seconds("weights"))
            return start_failures.out_of_memory(
                self.log, core.pid, core.worker_pid, opts.gpu_memory_utilization
            )
        loaded = startup.load_and_warm_up(core.pid, core.worker_pid, self.wait)
        if not (loaded and startup.start_api(self.wait)):
            return self._interrupted_start()
        try:
            sock.listen(SimHTTPServer.request_queue_size)
        except OSError as error:  # another server bound the same port and listened first
            return start_failures.port_in_use(self.log, error)
        return self._serve(sock, core)

    def _reserve_over_ray(self) -> bool:
        """Hold tensor x pipeline parallel size GPUs across the Ray cluster, as vLLM's Ray
        executor does, and end like a dead engine when a node holding them goes."""
        opts = self.options
        world = opts.tensor_parallel_size * opts.pipeline_parallel_size
        try:
            reservation, self.ray_group = ray_group.reserve(world, RAY_RESERVE_TIMEOUT_S)
        except Exception as exc:  # RayUnavailable, or ray.init's own errors
            self.log.line(f"ERROR {_stamp()} [ray_utils.py] {exc}")
            return False
        self.log.line(
            f"INFO {_stamp()} [ray_utils.py] Ray placement group of {world} GPU bundle(s)"
            f" on nodes {', '.join(reservation.nodes)}"
        )

        def lost(node: str) -> None:
            self.log.line(
                f"ERROR {_stamp()} [ray_distributed_executor.py] Ray node {node} is gone;"
                " the engine's workers there died"
            )
            self.core_gone.set()

        ray_group.watch_nodes(reservation.nodes, lost, RAY_WATCH_S)
        return True

    def _interrupted_start(self) -> int:
        if self.stopped_by_signal():
            return 0
        self.log.line(
            "RuntimeError: Engine core initialization failed. See root cause above. "
            "Failed core proc(s): {'EngineCore': 1}",
            STDERR,
        )
        return start_failures.EXIT_RUNTIME_ERROR

    def _serve(self, sock: socket.socket, core: EngineCoreProcess) -> int:
        opts = self.options
        metrics = MetricsRegistry(
            opts.model_name,
            info_labels=cache_config_labels(
                block_size=opts.block_size,
                num_blocks=max(1, opts.kv_cache_tokens // opts.block_size),
                max_model_len=opts.max_model_len,
                gpu_memory_utilization=opts.gpu_memory_utilization,
                enable_prefix_caching=bool(
                    opts.non_default_args.get("enable_prefix_caching", True)
                ),
            ),
        )

        def crash() -> None:
            serving_log.engine_crashed(self.log, core.pid, opts.crash_after or 0)
            core.kill()

        engine = SimEngine(
            metrics,
            EngineTiming(opts.ttft_ms / 1000, opts.token_latency_ms / 1000),
            max_num_seqs=opts.max_num_seqs,
            kv_cache_tokens=opts.kv_cache_tokens,
            block_size=opts.block_size,
            prefix_caching=bool(opts.non_default_args.get("enable_prefix_caching", True)),
            crash_after=opts.crash_after,
            on_crash=crash,
        )
        context = ServerContext(opts, engine, self.log)
        server = SimHTTPServer(sock, context)
        threading.Thread(target=server.serve_forever, args=(0.1,), name="http", daemon=True).start()
        if opts.log_interval > 0:
            threading.Thread(
                target=self._log_stats, args=(engine,), name="stats", daemon=True
            ).start()
        self.startup.startup_complete()
        while not self.wait(3600.0):
            pass
        if self.stopped_by_signal():
            return self._graceful_stop(server, context, core)
        return self._engine_death(server, engine)

    def _graceful_stop(
        self, server: SimHTTPServer, context: ServerContext, core: EngineCoreProcess
    ) -> int:
        serving_log.http_server_stopping(self.log, self.api_pid)
        context.stopping.set()
        server.shutdown()
        server.server_close()  # refuse new connections while in-flight requests finish
        serving_log.uvicorn_shutting_down(self.log, draining=context.engine.in_flight > 0)
        deadline = time.monotonic() + DRAIN_SECONDS
        while context.engine.in_flight and time.monotonic() < deadline:
            time.sleep(_POLL)
        context.engine.mark_dead()
        serving_log.uvicorn_stopped(self.log)
        serving_log.engine_stopping(self.log, core.pid)
        core.stop()
        serving_log.uvicorn_finished(self.log, self.api_pid)
        return 0

    def _engine_death(self, server: SimHTTPServer, engine: SimEngine) -> int:
        engine.mark_dead()
        serving_log.engine_died(self.log, self.api_pid)
        self.signalled = False
        self.core_gone.clear()  # let wait() sleep through the watchdog period
        self.wait(WATCHDOG_SECONDS)
        server.shutdown()
        serving_log.uvicorn_shutting_down(self.log, draining=False)
        serving_log.uvicorn_stopped(self.log)
        serving_log.uvicorn_finished(self.log, self.api_pid)
        return start_failures.EXIT_RUNTIME_ERROR

    def _log_stats(self, engine: SimEngine) -> None:
        line = serving_log.StatsLine()
        last = time.monotonic()
        while True:
            time.sleep(self.options.log_interval)
            now = time.monotonic()
            text = line.render(engine.take_interval_stats(), now - last)
            last = now
            if text is not None:
                self.startup.api("INFO", "loggers.py:335", text)
