"""The sshd harness against a real SSH client: keys, known_hosts, restarts, cleanup."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import asyncssh
import pytest

from tests.harness import SshdFleet, SshdHost, simulator_command, write_inventory
from tests.harness.ports import REPLICA_PORTS_PER_HOST, slot_allocator

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


async def connect(
    fleet: SshdFleet, host: SshdHost, known_hosts: Path | None = None, **options: object
) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        host.address,
        host.port,
        username=fleet.user,
        client_keys=[str(fleet.client_key)],
        known_hosts=str(known_hosts or fleet.known_hosts),
        agent_path=None,
        **options,
    )


def process_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


async def test_every_host_runs_commands_with_host_key_checked(sshd_fleet: SshdFleet) -> None:
    connections = await asyncio.gather(*(connect(sshd_fleet, h) for h in sshd_fleet.hosts))
    try:
        for host, conn in zip(sshd_fleet.hosts, connections, strict=True):
            server_key = conn.get_server_host_key()
            assert server_key is not None
            assert server_key.get_fingerprint("sha256") == host.host_key_fingerprint
            echo = await conn.run("echo ok", check=True)
            assert echo.stdout == "ok\n"
            python = await conn.run("python3 -c 'import sys; print(sys.version_info[0])'")
            assert python.exit_status == 0, python.stderr
            assert python.stdout == "3\n"
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            await connections[0].run("true", check=True)
            samples.append(time.perf_counter() - started)
        median_ms = statistics.median(samples) * 1000
        print(f"\nconn.run('true') on an open connection: {median_ms:.0f} ms (median of 5)")
    finally:
        for conn in connections:
            conn.close()
            await conn.wait_closed()


@pytest.mark.parametrize("entry", ["missing", "another host's key"])
async def test_unknown_host_key_is_refused(
    sshd_fleet: SshdFleet, tmp_path: Path, entry: str
) -> None:
    first, target = sshd_fleet.hosts[0], sshd_fleet.hosts[1]
    lines = [h.known_hosts_line for h in sshd_fleet.hosts if h is not target]
    if entry == "another host's key":
        lines.append(f"[{target.address}]:{target.port} {first.host_public_key}")
    known_hosts = tmp_path / "partial_known_hosts"
    known_hosts.write_text("\n".join(lines) + "\n")

    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await connect(sshd_fleet, target, known_hosts)
    # The same file still lets the other hosts in: only the target's entry is wrong.
    conn = await connect(sshd_fleet, first, known_hosts)
    conn.close()
    await conn.wait_closed()


async def test_stopped_host_drops_connections_and_comes_back(sshd_fleet: SshdFleet) -> None:
    host = sshd_fleet.host("host-2")
    conn = await connect(sshd_fleet, host)

    sshd_fleet.stop_host("host-2")
    await asyncio.wait_for(conn.wait_closed(), 5)
    assert not sshd_fleet.is_running("host-2")
    with pytest.raises(OSError):
        await connect(sshd_fleet, host)

    sshd_fleet.start_host("host-2")
    restarted = sshd_fleet.host("host-2")
    assert restarted.pid != host.pid
    assert (restarted.address, restarted.port) == (host.address, host.port)
    again = await connect(sshd_fleet, restarted)  # same host key: known_hosts still fits
    try:
        assert (await again.run("echo ok", check=True)).stdout == "ok\n"
    finally:
        again.close()
        await again.wait_closed()


async def test_paused_host_hangs_then_resumes(sshd_fleet: SshdFleet) -> None:
    host = sshd_fleet.host("host-1")
    conn = await connect(sshd_fleet, host)
    try:
        sshd_fleet.pause_host("host-1")
        try:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(conn.run("echo ok"), 0.5)
            with pytest.raises(asyncio.TimeoutError):
                await connect(sshd_fleet, host, connect_timeout=0.5)
        finally:
            sshd_fleet.resume_host("host-1")
        # Hung, not dropped: the same connection works once the host is back.
        assert (await conn.run("echo ok", check=True)).stdout == "ok\n"
    finally:
        conn.close()
        await conn.wait_closed()


async def test_close_leaves_no_sshd_process(
    sshd_fleet_factory: Callable[[int], SshdFleet],
) -> None:
    fleet = sshd_fleet_factory(2)
    connections = [await connect(fleet, host) for host in fleet.hosts]
    pids = {host.name: fleet.sshd_pids(host.name) for host in fleet.hosts}
    for host in fleet.hosts:
        assert pids[host.name][0] == host.pid
        assert len(pids[host.name]) > 1, "an open connection has sshd processes of its own"
        assert all(process_alive(pid) for pid in pids[host.name])

    fleet.close()

    assert [pid for tree in pids.values() for pid in tree if process_alive(pid)] == []
    for conn in connections:
        await asyncio.wait_for(conn.wait_closed(), 5)


def test_hosts_and_fleets_never_share_ports(
    sshd_fleet_factory: Callable[[int], SshdFleet],
) -> None:
    fleets = [sshd_fleet_factory(3), sshd_fleet_factory(2)]
    hosts = [host for fleet in fleets for host in fleet.hosts]
    slot_ports = slot_allocator().ports
    taken: list[int] = []
    for host in hosts:
        first, last = host.port_range
        assert last - first + 1 == REPLICA_PORTS_PER_HOST
        taken += [host.port, *range(first, last + 1)]
    assert len(taken) == len(set(taken))
    assert all(port in slot_ports for port in taken)
    assert len({host.address for host in fleets[0].hosts}) == 3


def test_a_second_process_gets_another_slot() -> None:
    ours = slot_allocator().slot
    # Pretend to be the same xdist worker: the slot we hold must be skipped.
    env = {**os.environ, "PYTEST_XDIST_WORKER": f"gw{ours - 1}"}
    probe = "from tests.harness.ports import slot_allocator; print(slot_allocator().slot)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(result.stdout) != ours


def test_inventory_describes_the_fleet(sshd_fleet: SshdFleet, tmp_path: Path) -> None:
    deployments = '[[deployments]]\nname = "tiny"\nmodel = "tiny-llama"\nreplicas = 2\n'
    path = write_inventory(sshd_fleet, tmp_path / "fleet.toml", deployments_toml=deployments)

    text = path.read_text()
    assert text.endswith(deployments)
    inventory = tomllib.loads(text)
    assert inventory["fleet"] == {"name": "test"}
    defaults = inventory["defaults"]
    assert defaults["user"] == sshd_fleet.user
    assert Path(defaults["identity_file"]) == sshd_fleet.client_key
    assert sshd_fleet.client_key.stat().st_mode & 0o777 == 0o600
    assert Path(defaults["known_hosts"]) == sshd_fleet.known_hosts
    assert defaults["python"] == "python3"
    assert defaults["vllm"] == simulator_command()
    script, verb = defaults["vllm"].rsplit(" ", 1)
    assert verb == "serve" and os.access(script, os.X_OK)
    assert [h["name"] for h in inventory["hosts"]] == ["host-1", "host-2", "host-3"]
    assert [h["labels"]["zone"] for h in inventory["hosts"]] == ["a", "b", "a"]
    for entry, host in zip(inventory["hosts"], sshd_fleet.hosts, strict=True):
        assert (entry["address"], entry["port"]) == (host.address, host.port)
        assert Path(entry["state_dir"]) == host.state_dir
        assert tuple(entry["port_range"]) == host.port_range
        assert entry["simulate"] == {
            "gpus": 2,
            "gpu_name": "NVIDIA H100 80GB HBM3",
            "memory_gib": 80,
        }
    assert inventory["deployments"][0]["name"] == "tiny"

    custom = write_inventory(
        sshd_fleet, tmp_path / "custom.toml", vllm_command="vllm serve", fleet_name="lab"
    )
    parsed = tomllib.loads(custom.read_text())
    assert (parsed["fleet"]["name"], parsed["defaults"]["vllm"]) == ("lab", "vllm serve")
    assert "deployments" not in parsed
