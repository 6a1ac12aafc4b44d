"""The host program and its supervisor against real simulator processes (local transport).

These are the guarantees a replica relies on with no console connected: crash cleanup of
the whole process group, restart with backoff, stop at any moment, no secret in an argv.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from fleetdeck.hosts.host_program import HostProgram, LaunchRequest
from fleetdeck.hosts.local_transport import LocalTransport
from fleetdeck.hosts.observations import ReplicaObservation
from fleetdeck.hosts.remote.procfs import group_members, is_zombie
from tests.harness.inventory_writer import simulator_command
from tests.harness.ports import slot_allocator

pytestmark = pytest.mark.integration

SECRET = "sk-supervisor-test-secret-42"


@pytest.fixture
async def program(tmp_path: Path) -> AsyncIterator[HostProgram]:
    host_program = HostProgram(LocalTransport("local"), state_dir=str(tmp_path / "state"))
    yield host_program
    observation = await host_program.observe()
    for replica in observation.replicas:
        await host_program.stop(replica.deployment, replica.replica, grace_s=2, forget=True)


def request(name: str, ports: tuple[int, int], *extra: str) -> LaunchRequest:
    argv = (*simulator_command().split(), "sim/model", "--host", "127.0.0.1", *extra)
    return LaunchRequest(
        deployment="d",
        replica=name,
        argv=tuple(a.strip("'") for a in argv),
        env={"VLLM_API_KEY": SECRET},
        port_range=ports,
        restart_backoff_s=1,
    )


async def until(
    program: HostProgram, check: Callable[[ReplicaObservation], bool], timeout: float = 20
) -> ReplicaObservation:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        observation = await program.observe()
        last = observation.replicas[0] if observation.replicas else None
        if last is not None and check(last):
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out; last observation: {last}")


def live(pids: list[int]) -> list[int]:
    return [p for p in pids if os.path.exists(f"/proc/{p}") and not is_zombie(p)]


async def test_crash_kills_the_group_records_the_exit_and_restarts(
    program: HostProgram, tmp_path: Path
) -> None:
    ports = slot_allocator().take_block(5)
    result = await program.launch(request("r0", ports, "--sim-load-seconds", "0.5"))
    first = await until(program, lambda r: r.healthy)
    assert first.port == result.port and first.pid is not None
    group = live(group_members(first.pid))
    assert len(group) >= 2, "the simulator forks an EngineCore child into its group"

    # No secret in any argv of the group; the env file holding it is 0600.
    for pid in group:
        assert SECRET not in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    env_file = tmp_path / "state" / "d" / "r0" / "env"
    assert env_file.stat().st_mode & 0o777 == 0o600

    os.kill(first.pid, signal.SIGKILL)  # the leader only: EngineCore would be orphaned
    deadline = time.monotonic() + 5
    while live(group) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert live(group) == [], "the supervisor kills what is left of vLLM's group"

    again = await until(program, lambda r: r.healthy and r.pid != first.pid)
    assert again.exits and again.exits[-1].code in (-9, 137)
    log = (tmp_path / "state" / "d" / "r0" / "log").read_text()
    assert "vLLM exited with code 137; restarting in 1s" in log


async def test_stop_during_restart_backoff_ends_the_supervisor(program: HostProgram) -> None:
    ports = slot_allocator().take_block(5)
    await program.launch(request("r0", ports, "--sim-fail-at-start", "out-of-memory"))
    failing = await until(program, lambda r: bool(r.exits) and not r.alive)
    assert failing.wrapper_alive
    wrapper = int((Path(program.state_dir) / "d" / "r0" / "wrapper_pid").read_text())
    reply = await program.stop("d", "r0", grace_s=2, forget=True)
    assert reply.ok and reply.found
    assert (await program.observe()).replicas == ()
    assert live([wrapper]) == [], "the supervisor itself ended, not just its state"


async def test_supervisor_ends_when_its_replica_directory_is_removed(
    program: HostProgram, tmp_path: Path
) -> None:
    ports = slot_allocator().take_block(5)
    await program.launch(request("r0", ports, "--sim-fail-at-start", "bad-argument"))
    await until(program, lambda r: bool(r.exits))
    replica_dir = tmp_path / "state" / "d" / "r0"
    wrapper = int((replica_dir / "wrapper_pid").read_text())
    subprocess.run(["rm", "-rf", str(replica_dir)], check=True)
    deadline = time.monotonic() + 8  # at most one backoff (1 s, then 2 s) and a failed start
    while live([wrapper]) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert live([wrapper]) == []


async def test_stale_pgid_file_never_signals_a_foreign_group(
    program: HostProgram, tmp_path: Path
) -> None:
    ports = slot_allocator().take_block(5)
    await program.launch(request("r0", ports, "--sim-load-seconds", "0.5"))
    await until(program, lambda r: r.healthy)
    foreign = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        (tmp_path / "state" / "d" / "r0" / "pgid").write_text(f"{foreign.pid}\n")
        await program.stop("d", "r0", grace_s=2, forget=True)
        assert foreign.poll() is None, "a process group that is not ours was signalled"
    finally:
        foreign.kill()
        foreign.wait()


async def test_second_launch_adopts_instead_of_duplicating(program: HostProgram) -> None:
    ports = slot_allocator().take_block(5)
    first = await program.launch(request("r0", ports, "--sim-load-seconds", "0.5"))
    second = await program.launch(request("r0", ports, "--sim-load-seconds", "0.5"))
    assert (first.adopted, second.adopted) == (False, True)
    assert second.port == first.port
    assert len((await program.observe()).replicas) == 1


async def test_ports_in_use_are_skipped(program: HostProgram) -> None:
    lo, hi = slot_allocator().take_block(5)
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", lo))
    squatter.listen()
    try:
        result = await program.launch(request("r0", (lo, hi), "--sim-load-seconds", "0.5"))
        assert result.port == lo + 1
    finally:
        squatter.close()


async def test_running_replica_whose_state_is_deleted_is_stopped(
    program: HostProgram, tmp_path: Path
) -> None:
    """Nothing could manage or adopt it any more: it must not hold its GPU forever."""
    ports = slot_allocator().take_block(5)
    launch = request("r0", ports, "--sim-load-seconds", "0.3")
    launch = LaunchRequest(**{**launch.__dict__, "log_check_s": 1})
    await program.launch(launch)
    healthy = await until(program, lambda r: r.healthy)
    assert healthy.pid is not None
    group = live(group_members(healthy.pid))
    replica_dir = tmp_path / "state" / "d" / "r0"
    wrapper = int((replica_dir / "wrapper_pid").read_text())
    subprocess.run(["rm", "-rf", str(replica_dir)], check=True)
    deadline = time.monotonic() + 10
    while live([*group, wrapper]) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert live([*group, wrapper]) == []
