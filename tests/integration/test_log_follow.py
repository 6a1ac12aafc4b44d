"""Following a replica's log through outages and rotations, against real processes.

The simulator numbers every log line (` seq=N`); a client polling its /health makes it
log an access line each time. The tests check the sequence the follower hands out:
no gap and no repeat across an sshd outage, and across log rotations done by the
supervisor on its own with no console connected.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from fleetdeck.hosts.backoff import Backoff
from fleetdeck.hosts.errors import RemoteCommandFailed
from fleetdeck.hosts.host_program import HostProgram, LaunchRequest
from fleetdeck.hosts.local_transport import LocalTransport
from fleetdeck.hosts.log_follower import LogFollower
from fleetdeck.hosts.remote import rotate
from fleetdeck.hosts.remote.procfs import group_members, is_zombie
from fleetdeck.hosts.ssh_transport import SshTarget, SshTransport
from tests.harness.inventory_writer import simulator_command, write_inventory
from tests.harness.ports import slot_allocator
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

SEQ = re.compile(r"seq=(\d+)$")
FAST = Backoff(first_s=0.1, max_s=0.5)


def launch_request(
    ports: tuple[int, int], log_max_bytes: int = 50 * 1024 * 1024, log_check_s: float = 10
) -> LaunchRequest:
    argv = (*simulator_command().split(), "sim/model", "--host", "127.0.0.1")
    return LaunchRequest(
        deployment="d",
        replica="r0",
        argv=(*(a.strip("'") for a in argv), "--sim-load-seconds", "0.3"),
        env={},
        port_range=ports,
        restart_backoff_s=1,
        log_max_bytes=log_max_bytes,
        log_check_s=log_check_s,
    )


class Chatter:
    """Polls a replica's /health from a thread, so that it logs a numbered line each time."""

    def __init__(self, port: int, period_s: float) -> None:
        self.url = f"http://127.0.0.1:{port}/health"
        self.period_s = period_s
        self.ok = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=1):
                    self.ok += 1
            except OSError:
                pass  # still loading, or restarting
            self._stop.wait(self.period_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Collector:
    """Runs a follower in a task and keeps the sequence numbers it hands out."""

    def __init__(self, follower: LogFollower) -> None:
        self.follower = follower
        self.seqs: list[int] = []
        self.texts: list[str] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for line in self.follower.follow():
            self.texts.append(line.text)
            found = SEQ.search(line.text)
            if found:
                self.seqs.append(int(found.group(1)))

    async def until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if self.task.done():
                self.task.result()  # raise what ended it
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; seqs {self.seqs[-5:]}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


def assert_consecutive(seqs: list[int]) -> None:
    assert seqs, "no numbered line seen"
    expected = list(range(seqs[0], seqs[0] + len(seqs)))
    if seqs != expected:
        gaps = [(a, b) for a, b in zip(seqs, seqs[1:], strict=False) if b != a + 1]
        raise AssertionError(f"sequence has gaps or repeats at {gaps[:10]}")


@pytest.fixture
async def cleanup() -> AsyncIterator[list[HostProgram]]:
    """Host programs (local) whose replicas are stopped and forgotten at teardown."""
    programs: list[HostProgram] = []
    yield programs
    for program in programs:
        observation = await program.observe()
        for replica in observation.replicas:
            await program.stop(replica.deployment, replica.replica, grace_s=2, forget=True)


async def test_follow_resumes_after_sshd_goes_away_with_no_gap_and_no_repeat(
    sshd_fleet_factory: Callable[[int], SshdFleet], cleanup: list[HostProgram]
) -> None:
    fleet = sshd_fleet_factory(1)
    host = fleet.hosts[0]
    transport = SshTransport(
        SshTarget(
            host_name=host.name,
            address=host.address,
            port=host.port,
            user=fleet.user,
            identity_file=fleet.client_key,
            known_hosts=fleet.known_hosts,
            connect_timeout_s=2,
            keepalive_interval_s=1,
            keepalive_count_max=3,
        )
    )
    program = HostProgram(transport, state_dir=str(host.state_dir))
    # The same host seen from here, for cleanup while its sshd may be down.
    cleanup.append(HostProgram(LocalTransport("local"), state_dir=str(host.state_dir)))
    launched = await program.launch(launch_request(host.port_range))
    chatter = Chatter(launched.port, period_s=0.02)
    follower = LogFollower(program, "d", "r0", offset=0, keep_lines=50, backoff=FAST)
    collector = Collector(follower)
    try:
        await collector.until(lambda: len(collector.seqs) >= 20, 20, "the first lines")
        fleet.stop_host(host.name)
        await collector.until(lambda: follower.breaks >= 1, 10, "the stream to break")
        seen_at_stop = len(collector.seqs)
        await asyncio.sleep(1.0)  # the replica logs on while its host is unreachable
        assert len(collector.seqs) == seen_at_stop, "nothing flows while sshd is down"
        fleet.start_host(host.name)
        await collector.until(
            lambda: len(collector.seqs) >= seen_at_stop + 60, 20, "lines after the outage"
        )
    finally:
        chatter.stop()
        await collector.close()
        await transport.close()
    assert_consecutive(collector.seqs)
    assert collector.seqs[0] == 1
    assert follower.breaks >= 1
    assert follower.recent == tuple(collector.texts[-50:]), "only the last keep_lines lines"


def collapse_supported(directory: Path) -> bool:
    probe = directory / "collapse-probe"
    probe.write_bytes(b"x" * 65536)
    fd = os.open(probe, os.O_RDWR)
    try:
        return rotate.collapse_head(fd, os.fstatvfs(fd).f_bsize)
    finally:
        os.close(fd)
        probe.unlink()


def live(pids: list[int]) -> list[int]:
    return [p for p in pids if os.path.exists(f"/proc/{p}") and not is_zombie(p)]


async def test_the_supervisor_caps_the_log_and_a_follower_reads_across_rotations(
    tmp_path: Path, cleanup: list[HostProgram]
) -> None:
    cap = 16 * 1024
    state_dir = tmp_path / "state"
    replica_dir = state_dir / "d" / "r0"
    program = HostProgram(LocalTransport("local"), state_dir=str(state_dir))
    cleanup.append(program)
    launched = await program.launch(
        launch_request(slot_allocator().take_block(5), log_max_bytes=cap, log_check_s=0.2)
    )
    chatter = Chatter(launched.port, period_s=0.004)
    try:
        # No console: only the supervisor and its checker act on the log.
        biggest = 0
        deadline = time.monotonic() + 20
        while rotate.read_base(str(replica_dir)) < 3 * cap:
            assert time.monotonic() < deadline, "the log was not rotated 3 times in 20 s"
            log = replica_dir / "log"  # made by the supervisor's first start
            biggest = max(biggest, log.stat().st_size if log.exists() else 0)
            await asyncio.sleep(0.02)
        assert (replica_dir / "log.1").exists() and (replica_dir / "log.2").exists()
        assert not (replica_dir / "log.3").exists(), "two old files kept"
        assert biggest < 2 * cap, f"log grew to {biggest} bytes with a {cap}-byte cap"

        # The checker lives in the supervisor's process group, not in vLLM's.
        wrapper = int((replica_dir / "wrapper_pid").read_text())
        vllm_group = int((replica_dir / "pgid").read_text())
        supervisor_group = live(group_members(wrapper))
        assert len(supervisor_group) >= 2, "supervisor and its checker loop"
        assert not set(supervisor_group) & set(group_members(vllm_group))

        # A console now follows from the very beginning, across more rotations.
        follower = LogFollower(program, "d", "r0", offset=0, keep_lines=0, backoff=FAST)
        collector = Collector(follower)
        base = rotate.read_base(str(replica_dir))
        try:
            await collector.until(
                lambda: rotate.read_base(str(replica_dir)) >= base + 2 * cap, 20, "2 rotations"
            )
            await asyncio.sleep(0.5)
        finally:
            await collector.close()
    finally:
        chatter.stop()
    assert "rotated away unread" in collector.texts[0], "older bytes than the kept files"
    if collapse_supported(tmp_path):
        assert_consecutive(collector.seqs)  # collapse: exact, whatever the timing
    else:
        # Copy-truncate: a line can be lost in its window, never repeated or reordered.
        assert collector.seqs == sorted(set(collector.seqs))

    await program.stop("d", "r0", grace_s=2, forget=True)
    deadline = time.monotonic() + 5
    while live(supervisor_group) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert live(supervisor_group) == [], "the checker loop ends with its supervisor"


async def test_a_follower_ends_when_its_replica_is_removed(tmp_path: Path) -> None:
    replica_dir = tmp_path / "state" / "d" / "r0"
    replica_dir.mkdir(parents=True)
    (replica_dir / "spec.json").write_text("{}")
    (replica_dir / "log").write_text("one seq=1\ntwo seq=2\n")
    program = HostProgram(LocalTransport("local"), state_dir=str(tmp_path / "state"))
    follower = LogFollower(program, "d", "r0", tail=10, backoff=FAST)
    lines = follower.follow()
    assert (await anext(lines)).text == "one seq=1"
    assert (await anext(lines)).text == "two seq=2"
    shutil.rmtree(replica_dir)
    with pytest.raises(RemoteCommandFailed, match="no log for d/r0"):
        await asyncio.wait_for(anext(lines), 10)
    assert follower.breaks == 0, "a removed replica is not retried"
    await asyncio.sleep(0.2)  # let asyncio finalise the finished subprocess stream


FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")
ONE_REPLICA = """
[[deployments]]
name = "chat"
model = "sim/chat-model"
replicas = 1
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.3"]
"""


def fleetdeck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLEETDECK, *args], capture_output=True, text=True, timeout=60)


def test_cli_logs_follow_carries_on_after_the_host_comes_back(
    sshd_fleet_factory: Callable[[int], SshdFleet], tmp_path: Path
) -> None:
    fleet = sshd_fleet_factory(1)
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=ONE_REPLICA)
    applied = fleetdeck("apply", str(inventory), "--wait", "--json", "--timeout", "30")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    chatter = None
    logs = None
    try:
        status = json.loads(fleetdeck("status", str(inventory), "--json").stdout)
        (replica,) = status["deployments"][0]["replicas"]
        chatter = Chatter(replica["port"], period_s=0.02)
        logs = subprocess.Popen(
            [FLEETDECK, "logs", str(inventory), "chat", "-f", "--tail", "5"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        out: list[str] = []
        err: list[str] = []
        readers = [
            threading.Thread(target=lambda: out.extend(logs.stdout or []), daemon=True),
            threading.Thread(target=lambda: err.extend(logs.stderr or []), daemon=True),
        ]
        for reader in readers:
            reader.start()

        def wait_for(check: Callable[[], bool], what: str) -> None:
            deadline = time.monotonic() + 20
            while not check():
                assert logs is not None and logs.poll() is None, "".join(err)
                assert time.monotonic() < deadline, f"timed out waiting for {what}: {err}"
                time.sleep(0.05)

        wait_for(lambda: len(out) >= 20, "the first lines")
        fleet.stop_host(fleet.hosts[0].name)
        wait_for(lambda: any("lost the log stream" in line for line in err), "the notice")
        time.sleep(0.5)
        fleet.start_host(fleet.hosts[0].name)
        seen = len(out)
        wait_for(lambda: len(out) >= seen + 40, "lines after the outage")
    finally:
        if logs is not None:
            logs.terminate()
            logs.wait(10)
        if chatter is not None:
            chatter.stop()
        down = fleetdeck("down", str(inventory))
    assert down.returncode == 0, down.stderr
    seqs = [int(m.group(1)) for m in map(SEQ.search, (line.rstrip("\n") for line in out)) if m]
    assert_consecutive(seqs)
