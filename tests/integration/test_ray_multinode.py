"""A replica over two Ray nodes, host side: real `ray start` for a head on 127.W.0.1 and a
worker on 127.W.0.2 (hosts/remote/ray_node.py's command lines, each declaring 2
simulated GPUs), the simulator with --distributed-executor-backend ray reserving 4 GPUs
over both, the worker node killed, the simulator ending like vLLM whose Ray worker died,
and stop_marked leaving no Ray or simulator process behind.

Not yet through fleetdeck: no sshd, no supervisor, no engine (issue 12, step 3 of 4).
Skipped where ray is not installed in this environment (it is not in the test extras:
see the README's note on Ray).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetdeck.hosts.remote import ray_node
from tests.harness.ports import SlotAllocator, slot_allocator

pytest.importorskip("ray")
pytestmark = pytest.mark.integration

RAY = str(Path(sys.executable).with_name("ray"))
SIM = str(Path(sys.executable).with_name("fleetdeck-sim-vllm"))
START_S = 180.0  # `ray start` takes 15-25 s on a loaded 2-core machine


@pytest.fixture
def ports() -> Iterator[SlotAllocator]:
    allocator = slot_allocator()
    yield allocator


def _wait(done: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():  # type: ignore[operator]
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def _health(address: str, port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://{address}:{port}/health", timeout=2) as reply:
            return int(reply.status)
    except OSError:
        return None


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # as the supervisor starts it: a group of its own
        )


def test_a_replica_over_two_ray_nodes_reserves_gpus_on_both_and_stops_whole(
    tmp_path: Path, ports: SlotAllocator
) -> None:
    head_ip, worker_ip = ports.address(1), ports.address(2)
    head_ports = ray_node.node_ports(*ports.take_block(20))
    worker_ports = ray_node.node_ports(*ports.take_block(20))
    assert head_ports is not None and worker_ports is not None
    api_port = ports.take_port()
    replica_dir = str(tmp_path / "replica")
    os.makedirs(replica_dir)
    head_address = f"{head_ip}:{head_ports['gcs']}"
    env = {**os.environ, **ray_node.marker_env(replica_dir), "RAY_ADDRESS": head_address}
    try:
        head = _start(
            ray_node.start_argv(
                [RAY], head_ip, head_ports, 2, ray_node.temp_dir(replica_dir + "/head")
            ),
            env,
            tmp_path / "head.log",
        )
        _wait(
            lambda: _accepts(head_ip, head_ports["gcs"]) or head.poll() is not None,
            START_S,
            "the head's GCS",
        )
        assert head.poll() is None, (tmp_path / "head.log").read_text()[-3000:]
        worker = _start(
            ray_node.start_argv(
                [RAY],
                worker_ip,
                worker_ports,
                2,
                ray_node.temp_dir(replica_dir + "/worker"),
                head_address,
            ),
            env,
            tmp_path / "worker.log",
        )
        sim_log = tmp_path / "sim.log"
        sim = _start(
            [
                SIM,
                "serve",
                "m",
                "--host",
                head_ip,
                "--port",
                str(api_port),
                "--tensor-parallel-size",
                "2",
                "--pipeline-parallel-size",
                "2",
                "--distributed-executor-backend",
                "ray",
                "--sim-load-seconds",
                "0.5",
            ],
            env,
            sim_log,
        )
        _wait(
            lambda: _health(head_ip, api_port) == 200 or sim.poll() is not None,
            START_S,
            "the simulator's /health",
        )
        text = sim_log.read_text()
        assert _health(head_ip, api_port) == 200, text[-3000:]
        assert "Ray placement group of 4 GPU bundle(s) on nodes" in text
        placed = text.split("on nodes ", 1)[1].splitlines()[0]
        assert set(re.findall(r"\d+\.\d+\.\d+\.\d+", placed)) == {head_ip, worker_ip}

        # The worker host's node goes (its raylet and everything in its group).
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        _wait(lambda: sim.poll() is not None, 120.0, "the simulator to end")
        assert sim.returncode != 0
        assert f"Ray node {worker_ip} is gone" in sim_log.read_text()
        assert head.poll() is None  # the head lives on until the replica is stopped
    finally:
        left = ray_node.stop_marked(replica_dir, grace_s=10.0)
        for node in ("head", "worker"):
            shutil.rmtree(ray_node.temp_dir(f"{replica_dir}/{node}"), ignore_errors=True)
    assert left == []
    assert ray_node.marked_processes(replica_dir) == []
