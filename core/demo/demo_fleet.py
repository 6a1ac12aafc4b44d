"""`fleetdeck demo`: a self-contained simulated fleet on this machine.

Three hosts on the local transport with simulated GPUs, the vLLM simulator as their vLLM,
an inventory written to a temporary directory and loaded like any other, and traffic
(core/demo/traffic.py) shaped so that the first two minutes show the fleet at work:

- llama-8b autoscales between 1 and 3 replicas with short delays: a burst of traffic
  scales it up, the calm after it scales it back down;
- qwen-7b's simulator crashes after 40 requests; its supervisor restarts it after a 3 s
  backoff, and the console shows the exit and the recovery;
- phi-mini gets no traffic: idle, then stopped by its 40 s idle_timeout;
- mixtral serves a load that swells and ebbs.

Everything is stopped and removed on exit: a quit, the end of --seconds, Ctrl-C, and also
SIGTERM or SIGHUP (a closed terminal or tmux window), which end the demo the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from fleetdeck.core.commands.exit_codes import DONE, FAILED, INTERRUPTED
from fleetdeck.core.commands.render import event_line, progress_line, status_table
from fleetdeck.core.demo.traffic import send_demo_traffic
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.export.server import MetricsSetting, serving_metrics
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import load_inventory

DEMO_KEY_ENV = "FLEETDECK_DEMO_API_KEY"
PORTS_PER_HOST = 20
# A closed terminal or tmux window (SIGHUP), or a kill (SIGTERM): stop like a quit.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

DEPLOYMENTS = """
[[deployments]]
name = "llama-8b"
model = "meta-llama/Llama-3.1-8B-Instruct"
api_key = {{ env = "{key_env}" }}
[deployments.vllm]
max_model_len = 8192
extra_args = ["--sim-load-seconds", "5", "--sim-token-latency-ms", "60"]
[deployments.autoscale]
min = 1
max = 3
target_running_per_replica = 2
scale_up_delay = "10s"
scale_down_delay = "10s"
window = "10s"

[[deployments]]
name = "qwen-7b"
model = "Qwen/Qwen2.5-7B-Instruct"
replicas = 1
placement = {{ strategy = "binpack" }}
restart_backoff = "3s"
[deployments.vllm]
extra_args = ["--sim-load-seconds", "4", "--sim-crash-after", "40"]

[[deployments]]
name = "mixtral"
model = "mistralai/Mixtral-8x7B-Instruct-v0.1"
replicas = 1
placement = {{ labels = {{ zone = "eu" }} }}
[deployments.vllm]
tensor_parallel_size = 2
extra_args = ["--sim-load-seconds", "12"]

[[deployments]]
name = "phi-mini"
model = "microsoft/Phi-3-mini-4k-instruct"
replicas = 1
placement = {{ labels = {{ zone = "us" }} }}
idle_timeout = "40s"
[deployments.vllm]
extra_args = ["--sim-load-seconds", "3"]
"""

HOSTS = (
    ("gpu-a", "eu", 4, "NVIDIA H100 80GB HBM3", 80),
    ("gpu-b", "eu", 4, "NVIDIA H100 80GB HBM3", 80),
    ("gpu-c", "us", 2, "NVIDIA A100-SXM4-80GB", 80),
)


def simulator_command() -> str:
    script = Path(sys.executable).with_name("fleetdeck-sim-vllm")
    if script.exists():
        return f"{shlex.quote(str(script))} serve"
    return f"{shlex.quote(sys.executable)} -m fleetdeck.hosts.sim_vllm serve"


def free_port_block(count: int, start: int = 18000, stop: int = 30000) -> tuple[int, int]:
    """A block of `count` ports on 127.0.0.1 that nothing listens on now."""
    from fleetdeck.hosts.remote.launch import port_is_free

    for base in range(start + (os.getpid() % 50) * count, stop, count):
        if all(port_is_free("127.0.0.1", p) for p in range(base, base + count)):
            return base, base + count - 1
    raise RuntimeError("no free block of ports for the demo")


def write_demo_inventory(workdir: Path) -> Path:
    lines = ['[fleet]\nname = "demo"\n', f"[defaults]\nvllm = {_toml(simulator_command())}\n"]
    next_port = 18000
    for name, zone, gpus, gpu_name, memory in HOSTS:
        lo, hi = free_port_block(PORTS_PER_HOST, start=next_port)
        next_port = hi + 1
        lines.append(
            f'[[hosts]]\nname = {_toml(name)}\ntransport = "local"\n'
            f"state_dir = {_toml(str(workdir / name))}\nport_range = [{lo}, {hi}]\n"
            f"labels = {{ zone = {_toml(zone)} }}\n"
            f"simulate = {{ gpus = {gpus}, gpu_name = {_toml(gpu_name)}, memory_gib = {memory} }}\n"
        )
    lines.append(DEPLOYMENTS.format(key_env=DEMO_KEY_ENV))
    path = workdir / "demo-fleet.toml"
    path.write_text("\n".join(lines))
    return path


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DemoFleet:
    """The demo's fleet, from inventory to clean-up: `async with DemoFleet() as intents`.

    On exit every replica is stopped and the temporary directory removed, whatever ran
    in between (the console, the headless loop) and however it ended. From entry to the
    end of that clean-up, SIGTERM and SIGHUP do not kill the process: they set
    `stop_requested` and call the callbacks given to `on_stop_signal` (the console's
    exit), so the demo ends through the same clean-up as a quit.
    """

    def __init__(self, *, say_events: bool) -> None:
        self._say_events = say_events
        self._workdir = Path(tempfile.mkdtemp(prefix="fleetdeck-demo-"))
        self._intents: FleetIntents | None = None
        self._traffic: asyncio.Task[None] | None = None
        self._on_stop: list[Callable[[], object]] = []
        self._signals: list[signal.Signals] = []
        self.stop_requested = asyncio.Event()

    def on_stop_signal(self, callback: Callable[[], object]) -> None:
        """Call `callback` on SIGTERM or SIGHUP; one that came before shows in
        `stop_requested` only."""
        self._on_stop.append(callback)

    def _stop_signal(self, signum: signal.Signals) -> None:
        first = not self.stop_requested.is_set()
        self.stop_requested.set()
        if first:
            _say(f"{signum.name}: stopping the demo fleet...", sys.stderr)
        for callback in self._on_stop:
            callback()

    def _catch_stop_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            try:
                loop.add_signal_handler(signum, self._stop_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or no such signal here
            self._signals.append(signum)

    def _release_stop_signals(self) -> None:
        loop = asyncio.get_running_loop()
        while self._signals:
            loop.remove_signal_handler(self._signals.pop())

    async def __aenter__(self) -> FleetIntents:
        os.environ.setdefault(DEMO_KEY_ENV, "sk-demo-" + secrets.token_hex(12))
        try:
            self._catch_stop_signals()
            inventory = load_inventory(write_demo_inventory(self._workdir))
            engine = Engine(inventory, state_dir=self._workdir)
            self._intents = FleetIntents(engine)
            if self._say_events:
                engine.subscribe(lambda event: _say(event_line(event)))
            await engine.refresh()
            self._traffic = asyncio.create_task(
                send_demo_traffic(self._intents, os.environ[DEMO_KEY_ENV])
            )
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self._intents

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if self._traffic is not None:
                self._traffic.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._traffic
            intents = self._intents
            if intents is not None:
                _say("stopping the demo fleet...", sys.stderr)
                if not self._say_events:
                    intents.subscribe(lambda e: _say(event_line(e), sys.stderr))
                try:
                    outcome = await intents.down()
                    for _, error in outcome.failed:
                        _say(f"could not stop: {error}", sys.stderr)
                finally:
                    await intents.close()
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._release_stop_signals()


def _say(line: str, stream: TextIO | None = None) -> None:
    """Print, unless the terminal is gone (SIGHUP): the clean-up must go on regardless."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=stream or sys.stdout, flush=True)


async def run_headless_demo(seconds: float | None, metrics: MetricsSetting | None = None) -> int:
    """The demo with no screen: event and status lines, then the status table; with
    `metrics`, its /metrics served there meanwhile."""
    demo = DemoFleet(say_events=True)
    async with demo as intents, serving_metrics(intents, metrics) as server:
        if server is not None:
            _say(f"serving Prometheus metrics at {server.url}")
        code: list[int] = []
        await intents.run_beside_controller(_headless(demo, intents, seconds, code))
        if demo.stop_requested.is_set():
            return INTERRUPTED
        return code[0] if code else FAILED


async def _headless(
    demo: DemoFleet, intents: FleetIntents, seconds: float | None, code: list[int]
) -> None:
    deadline = time.monotonic() + (seconds if seconds is not None else 60.0)
    snapshot: FleetSnapshot | None = None
    last = ""
    async for snapshot in intents.snapshots(1.0):
        line = status_line(snapshot)
        if line != last:
            _say(f"{time.strftime('%H:%M:%S')}   {line}")
            last = line
        if time.monotonic() >= deadline or demo.stop_requested.is_set():
            break
    if snapshot is not None:
        _say(status_table(snapshot))
        code.append(DONE)


def status_line(snapshot: FleetSnapshot) -> str:
    """Each deployment's status and ready/desired replicas, as `apply --wait` shows them."""
    return "status: " + progress_line(snapshot).removeprefix("waiting: ")
