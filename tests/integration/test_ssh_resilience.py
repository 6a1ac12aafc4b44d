"""The SSH side in the real world, against real sshd: a host that freezes (SIGSTOP) or
dies (kill) and comes back, a console killed with -9, port forwards across a reconnect,
and ~/.ssh/config.

Keepalive is 1 s x 2 and the connect timeout 2 s, so every outage is found in seconds.
Detection and reconnect times are printed (`pytest -s`) as well as asserted.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.engine.host_session import make_transport, ssh_target
from fleetdeck.core.fleet.snapshot import FleetSnapshot, HostState
from fleetdeck.core.inventory import Inventory, load_inventory, parse_inventory
from fleetdeck.hosts.errors import HostUnreachable
from fleetdeck.hosts.host_program import HostProgram
from fleetdeck.hosts.local_transport import LocalTransport
from fleetdeck.hosts.ssh_transport import SshTransport
from tests.harness.inventory_writer import inventory_toml
from tests.harness.process_tree import alive
from tests.harness.replica_processes import replica_pids
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")
KEEPALIVE_S, KEEPALIVE_COUNT, CONNECT_TIMEOUT_S = 1.0, 2, 2.0
# asyncssh closes the connection when the (count+1)-th probe interval passes unanswered.
DETECT_BOUND_S = KEEPALIVE_S * (KEEPALIVE_COUNT + 1) + 1.5
SSH_SETTINGS = (
    f'keepalive_interval = "{KEEPALIVE_S:g}s"\n'
    f"keepalive_count = {KEEPALIVE_COUNT}\n"
    f'connect_timeout = "{CONNECT_TIMEOUT_S:g}s"\n'
)
DEPLOYMENT = """
[[deployments]]
name = "chat"
model = "sim/chat-model"
replicas = 1
[deployments.vllm]
extra_args = ["--sim-load-seconds", "{load}"]
"""


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The console's own state (event journal) under tmp, for us and for subprocesses."""
    home = tmp_path / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


def write_fleet_inventory(fleet: SshdFleet, path: Path, load_s: float = 0.5) -> Path:
    text = inventory_toml(fleet, deployments_toml=DEPLOYMENT.replace("{load}", f"{load_s:g}"))
    path.write_text(text.replace("[defaults]\n", "[defaults]\n" + SSH_SETTINGS, 1))
    return path


def fleetdeck(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLEETDECK, *args], capture_output=True, text=True, timeout=timeout)


def replica_sessions(state_dir: Path) -> set[int]:
    """Session ids of the replica processes: one per supervisor ever launched and alive.

    The set of pids changes on its own (the supervisor's log checker sleeps in a child,
    the simulator forks while it loads); a second launch would add a session.
    """
    sessions = set()
    for pid in replica_pids(state_dir):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        sessions.add(int(stat.rpartition(")")[2].split()[4]))
    return sessions


@pytest.fixture
def applied(
    sshd_fleet_factory: Callable[[int], SshdFleet], tmp_path: Path, state_home: Path
) -> Iterator[tuple[SshdFleet, Path]]:
    """One host running one ready simulator replica; `fleetdeck down` at the end."""
    fleet = sshd_fleet_factory(1)
    inventory = write_fleet_inventory(fleet, tmp_path / "fleet.toml")
    try:
        result = fleetdeck("apply", str(inventory), "--wait", "--timeout", "30")
        assert result.returncode == 0, result.stdout + result.stderr
        yield fleet, inventory
    finally:
        for host in fleet.hosts:  # a test may leave a host paused or stopped
            if not fleet.is_running(host.name):
                fleet.start_host(host.name)
            fleet.resume_host(host.name)
        down = fleetdeck("down", str(inventory))
        assert down.returncode == 0, down.stdout + down.stderr
        assert replica_pids(fleet.hosts[0].state_dir) == set()


class Watch:
    """Engine.snapshots() driven by the test, with a deadline per question."""

    def __init__(self, engine: Engine, interval_s: float = 0.1) -> None:
        self.engine = engine
        self.stream: AsyncIterator[FleetSnapshot] = engine.snapshots(interval_s)

    async def until(self, check: Callable[[FleetSnapshot], bool], timeout: float) -> float:
        """Seconds until `check` held (AssertionError after `timeout`)."""
        started = time.monotonic()
        last: FleetSnapshot | None = None
        while time.monotonic() - started < timeout:
            last = await anext(self.stream)
            if check(last):
                return time.monotonic() - started
        raise AssertionError(f"not within {timeout}s; last snapshot: {last}")

    async def close(self) -> None:
        await self.stream.aclose()  # type: ignore[attr-defined]
        await self.engine.close()


def host_state(snapshot: FleetSnapshot) -> HostState:
    return snapshot.hosts[0].state


def replica_pid(snapshot: FleetSnapshot) -> int | None:
    replicas = [r for d in snapshot.deployments for r in d.replicas]
    return replicas[0].pid if len(replicas) == 1 and replicas[0].healthy else None


async def test_paused_sshd_is_unreachable_within_keepalive_and_comes_back(
    applied: tuple[SshdFleet, Path],
) -> None:
    fleet, path = applied
    sessions = replica_sessions(fleet.hosts[0].state_dir)
    engine = Engine(load_inventory(path))
    watch = Watch(engine)
    try:
        await watch.until(lambda s: replica_pid(s) is not None, 10)
        leader = replica_pid(engine.snapshot())
        assert leader is not None
        fleet.pause_host("host-1")
        detected = await watch.until(lambda s: host_state(s) == HostState.UNREACHABLE, 10)
        assert detected <= DETECT_BOUND_S
        assert alive(leader), "the replica lives on with its host's sshd frozen"
        fleet.resume_host("host-1")
        back = await watch.until(lambda s: host_state(s) == HostState.UP, 10)
        print(f"\nSIGSTOP: unreachable after {detected:.2f}s; up {back:.2f}s after SIGCONT")
        await watch.until(lambda s: replica_pid(s) == leader, 5)
    finally:
        await watch.close()
    assert replica_sessions(fleet.hosts[0].state_dir) == sessions


async def test_killed_sshd_reconnects_and_readopts(applied: tuple[SshdFleet, Path]) -> None:
    fleet, path = applied
    sessions = replica_sessions(fleet.hosts[0].state_dir)
    engine = Engine(load_inventory(path))
    watch = Watch(engine)
    try:
        await watch.until(lambda s: replica_pid(s) is not None, 10)
        leader = replica_pid(engine.snapshot())
        assert leader is not None
        fleet.stop_host("host-1")
        detected = await watch.until(lambda s: host_state(s) == HostState.UNREACHABLE, 10)
        assert detected <= DETECT_BOUND_S
        assert alive(leader), "the replica lives on with its host's sshd gone"
        fleet.start_host("host-1")
        back = await watch.until(lambda s: replica_pid(s) == leader, 10)
        print(f"\nkill: unreachable after {detected:.2f}s; adopted {back:.2f}s after restart")
        await engine.refresh()
        assert engine.plan().actions == ()
    finally:
        await watch.close()
    assert replica_sessions(fleet.hosts[0].state_dir) == sessions, "no second launch"


def test_console_killed_with_sigkill_then_a_new_one_adopts(
    sshd_fleet_factory: Callable[[int], SshdFleet], tmp_path: Path, state_home: Path
) -> None:
    fleet = sshd_fleet_factory(1)
    inventory = write_fleet_inventory(fleet, tmp_path / "fleet.toml", load_s=3)
    state_dir = fleet.hosts[0].state_dir
    consoles = [
        subprocess.Popen(
            [FLEETDECK, "status", str(inventory), "--watch", "--json", "--interval", "0.2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [FLEETDECK, "apply", str(inventory), "--wait", "--timeout", "30"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        deadline = time.monotonic() + 15
        while not list(state_dir.glob("chat/*/pid")) and time.monotonic() < deadline:
            time.sleep(0.05)
        pid_files = list(state_dir.glob("chat/*/pid"))
        assert len(pid_files) == 1, "apply launched nothing"
        leader = int(pid_files[0].read_text())
        sessions = replica_sessions(state_dir)
        assert len(sessions) == 1
        for console in consoles:  # mid-way: the replica is still loading
            assert console.poll() is None
            console.send_signal(signal.SIGKILL)
            console.wait()
        plan = fleetdeck("plan", str(inventory), "--json")
        assert plan.returncode == 0, plan.stderr
        assert json.loads(plan.stdout)["actions"] == []
        again = fleetdeck("apply", str(inventory), "--wait", "--timeout", "30")
        assert again.returncode == 0, again.stdout + again.stderr
        status = json.loads(fleetdeck("status", str(inventory), "--json").stdout)
        replicas = [r for d in status["deployments"] for r in d["replicas"]]
        assert len(replicas) == 1 and replicas[0]["pid"] == leader
        assert replica_sessions(state_dir) == sessions, "adopted, not launched again"
    finally:
        for console in consoles:
            if console.poll() is None:
                console.kill()
                console.wait()
        down = fleetdeck("down", str(inventory))
        if down.returncode != 0:
            # The killed apply's one-shot host lease outlives it (until its TTL), and
            # `down` refuses while a lease is held: stop the replicas without the CLI.
            print(f"\nfleetdeck down refused after the kill: {down.stderr.strip()}")
            asyncio.run(stop_replicas_here(state_dir))
    assert replica_pids(state_dir) == set()


async def stop_replicas_here(state_dir: Path) -> None:
    """Every replica under `state_dir` stopped and forgotten (the host is this machine)."""
    program = HostProgram(LocalTransport("cleanup"), state_dir=str(state_dir))
    for replica in (await program.observe()).replicas:
        await program.stop(replica.deployment, replica.replica, grace_s=2, forget=True)


async def health(port: int) -> int:
    async with httpx.AsyncClient(timeout=2.0) as client:
        return (await client.get(f"http://127.0.0.1:{port}/health")).status_code


async def test_port_forward_reaches_a_replica_and_is_rebuilt(
    applied: tuple[SshdFleet, Path],
) -> None:
    fleet, path = applied
    inventory = load_inventory(path)
    status = json.loads(fleetdeck("status", str(path), "--json").stdout)
    remote_port = status["deployments"][0]["replicas"][0]["port"]
    transport = make_transport(inventory.hosts[0])
    try:
        local = await transport.forward_port(remote_port)
        assert local != remote_port
        assert await transport.forward_port(remote_port) == local  # reused, not a second one
        assert await health(local) == 200
        fleet.stop_host("host-1")
        # The forward died with the connection: proof that it went through sshd.
        deadline = time.monotonic() + 5
        while transport.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        with pytest.raises(httpx.TransportError):
            await health(local)
        fleet.start_host("host-1")
        started = time.monotonic()
        await transport.run(["true"])  # any call reconnects and rebuilds the forwards
        assert await health(local) == 200, "rebuilt on the same local port"
        print(f"\nforward rebuilt {time.monotonic() - started:.2f}s after sshd restarted")
        assert await transport.forward_port(remote_port) == local
    finally:
        await transport.close()
    with pytest.raises(httpx.TransportError):
        await health(local)  # close() closes the forwards


def config_inventory(fleet: SshdFleet, addresses: list[str], tmp_path: Path) -> Inventory:
    """Hosts named only by a ~/.ssh/config alias: no port, user or identity_file."""
    lines = ["[fleet]", 'name = "cfg"', "[defaults]", f'known_hosts = "{fleet.known_hosts}"']
    lines += [SSH_SETTINGS]
    for index, address in enumerate(addresses, start=1):
        lines += ["[[hosts]]", f'name = "h{index}"', f'address = "{address}"']
    return parse_inventory("\n".join(lines) + "\n", tmp_path / "cfg.toml")


def ssh_config(fleet: SshdFleet, path: Path, extra: str = "") -> tuple[Path, ...]:
    one = fleet.hosts[0]
    path.write_text(
        f"Host alias-1\n  HostName {one.address}\n  Port {one.port}\n"
        f"Host wrong-port\n  HostName {one.address}\n  Port 1\n  User nobody-here\n"
        + extra
        + f"Host *\n  User {fleet.user}\n  IdentityFile {fleet.client_key}\n"
        f"  UserKnownHostsFile {fleet.known_hosts}\n  ForwardAgent yes\n"
    )
    return (path,)


async def whoami(inventory: Inventory, index: int, config: tuple[Path, ...]) -> str:
    transport = SshTransport(ssh_target(inventory.hosts[index], ssh_config=config))
    try:
        return (await transport.run(["whoami"])).stdout.strip()
    finally:
        await transport.close()


async def test_ssh_config_fills_in_what_the_inventory_leaves_out(
    sshd_fleet_factory: Callable[[int], SshdFleet], tmp_path: Path
) -> None:
    fleet = sshd_fleet_factory(1)
    config = ssh_config(fleet, tmp_path / "ssh_config")
    inventory = config_inventory(fleet, ["alias-1", "wrong-port"], tmp_path)
    # HostName, Port, User, IdentityFile all from the config.
    assert await whoami(inventory, 0, config) == fleet.user
    with pytest.raises(HostUnreachable, match="wrong-port"):
        await whoami(inventory, 1, config)  # the config's Port 1 applies...
    one = fleet.hosts[0]
    fixed = parse_inventory(
        f'[fleet]\nname = "cfg"\n[[hosts]]\nname = "h1"\naddress = "wrong-port"\n'
        f'port = {one.port}\nuser = "{fleet.user}"\nknown_hosts = "{fleet.known_hosts}"\n',
        tmp_path / "fixed.toml",
    )
    assert await whoami(fixed, 0, config) == fleet.user  # ...unless the inventory says


async def test_proxy_jump_from_ssh_config(
    sshd_fleet_factory: Callable[[int], SshdFleet], tmp_path: Path
) -> None:
    fleet = sshd_fleet_factory(2)
    two = fleet.hosts[1]
    jump = f"Host behind-jump\n  HostName {two.address}\n  Port {two.port}\n  ProxyJump alias-1\n"
    config = ssh_config(fleet, tmp_path / "ssh_config", jump)
    inventory = config_inventory(fleet, ["behind-jump"], tmp_path)
    transport = SshTransport(ssh_target(inventory.hosts[0], ssh_config=config))
    try:
        assert (await transport.run(["whoami"])).stdout.strip() == fleet.user
        fleet.stop_host("host-1")  # the jump host: host-2 itself is fine
        with pytest.raises(HostUnreachable):
            for _ in range(50):
                await transport.run(["true"])
                await asyncio.sleep(0.1)
    finally:
        await transport.close()


def test_connect_options_come_from_the_inventory_and_agent_forwarding_stays_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "agent.sock"))
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n  ForwardAgent yes\n  ServerAliveInterval 99\n")
    inventory = parse_inventory(
        '[fleet]\nname = "x"\n[defaults]\n' + SSH_SETTINGS + '[[hosts]]\nname = "h"\n'
        'address = "h.example"\n[[hosts]]\nname = "g"\naddress = "g.example"\nport = 22\n',
        tmp_path / "f.toml",
    )
    options: dict[str, Any] = ssh_target(inventory.hosts[0], (config,)).connect_options()
    assert "port" not in options and "username" not in options and "client_keys" not in options
    assert ssh_target(inventory.hosts[1]).connect_options()["port"] == 22  # written: it wins
    resolved = asyncssh.SSHClientConnectionOptions(**options, client_keys=None)
    assert resolved.keepalive_interval == KEEPALIVE_S
    assert resolved.keepalive_count_max == KEEPALIVE_COUNT
    assert resolved.connect_timeout == CONNECT_TIMEOUT_S
    assert resolved.agent_forward_path is None
    options.pop("agent_forwarding")  # the control: asyncssh alone would forward the agent
    resolved = asyncssh.SSHClientConnectionOptions(**options, client_keys=None)
    assert resolved.agent_forward_path == str(tmp_path / "agent.sock")
