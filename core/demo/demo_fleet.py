"""`fleetdeck demo`: a self-contained simulated fleet on this machine.

Three hosts on the local transport with simulated GPUs, the vLLM simulator as their vLLM,
an inventory written to a temporary directory and loaded like any other, a little traffic
so some deployments go active, and everything stopped and removed on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from fleetdeck.core.commands.exit_codes import DONE, FAILED
from fleetdeck.core.commands.render import event_line, progress_line, status_table
from fleetdeck.core.demo.traffic import send_demo_traffic
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import load_inventory

DEMO_KEY_ENV = "FLEETDECK_DEMO_API_KEY"
PORTS_PER_HOST = 20

DEPLOYMENTS = """
[[deployments]]
name = "llama-8b"
model = "meta-llama/Llama-3.1-8B-Instruct"
replicas = 2
api_key = {{ env = "{key_env}" }}
[deployments.vllm]
max_model_len = 8192
extra_args = ["--sim-load-seconds", "5"]

[[deployments]]
name = "qwen-7b"
model = "Qwen/Qwen2.5-7B-Instruct"
replicas = 1
placement = {{ strategy = "binpack" }}
[deployments.vllm]
extra_args = ["--sim-load-seconds", "8"]

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
    in between (the console, the headless loop) and however it ended.
    """

    def __init__(self, *, say_events: bool) -> None:
        self._say_events = say_events
        self._workdir = Path(tempfile.mkdtemp(prefix="fleetdeck-demo-"))
        self._intents: FleetIntents | None = None
        self._traffic: asyncio.Task[None] | None = None

    async def __aenter__(self) -> FleetIntents:
        os.environ.setdefault(DEMO_KEY_ENV, "sk-demo-" + secrets.token_hex(12))
        try:
            inventory = load_inventory(write_demo_inventory(self._workdir))
            engine = Engine(inventory, state_dir=self._workdir)
            self._intents = FleetIntents(engine)
            if self._say_events:
                engine.subscribe(lambda event: print(event_line(event), flush=True))
            await engine.refresh()
            self._traffic = asyncio.create_task(
                send_demo_traffic(self._intents, os.environ[DEMO_KEY_ENV])
            )
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self._intents

    async def __aexit__(self, *exc_info: object) -> None:
        if self._traffic is not None:
            self._traffic.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._traffic
        intents = self._intents
        if intents is not None:
            print("stopping the demo fleet...", file=sys.stderr, flush=True)
            if not self._say_events:
                intents.subscribe(lambda e: print(event_line(e), file=sys.stderr, flush=True))
            outcome = await intents.down()
            for _, error in outcome.failed:
                print(f"could not stop: {error}", file=sys.stderr, flush=True)
            await intents.close()
        shutil.rmtree(self._workdir, ignore_errors=True)


async def run_headless_demo(seconds: float | None) -> int:
    """The demo with no screen: progress lines, then the status table."""
    async with DemoFleet(say_events=True) as intents:
        code: list[int] = []
        await intents.run_beside_controller(_headless(intents, seconds, code))
        return code[0] if code else FAILED


async def _headless(intents: FleetIntents, seconds: float | None, code: list[int]) -> None:
    deadline = time.monotonic() + (seconds if seconds is not None else 60.0)
    snapshot: FleetSnapshot | None = None
    last = ""
    async for snapshot in intents.snapshots(1.0):
        line = progress_line(snapshot)
        if line != last:
            print(line, flush=True)
            last = line
        if time.monotonic() >= deadline:
            break
    if snapshot is not None:
        print(status_table(snapshot), flush=True)
        code.append(DONE)
