"""Real OpenSSH servers on loopback addresses, one per simulated host.

Integration tests reach these exactly as fleetdeck reaches a GPU box: public-key login,
host keys checked against a real known_hosts file, commands run by the user's login
shell (root's ~/.bashrc included). Each sshd runs in the foreground (``-D``) as our
child, so its pid is the one we started; everything is stopped by pid, never by name,
because other test processes on this machine run sshds of their own.

Addresses and ports come from ``tests.harness.ports`` (see its docstring for why they
never collide across xdist workers or side-by-side runs).
"""

from __future__ import annotations

import atexit
import dataclasses
import getpass
import os
import shutil
import signal
import subprocess
from pathlib import Path

from tests.harness.host_keys import fingerprint, generate_keys
from tests.harness.ports import REPLICA_PORTS_PER_HOST, slot_allocator
from tests.harness.process_tree import signal_all, sshd_process_tree, wait_gone, wait_state
from tests.harness.sshd_host import (
    SSHD,
    SshdHost,
    kill_now,
    spawn,
    sshd_config,
    wait_ready,
)

PRIVSEP_DIR = Path("/run/sshd")  # sshd refuses to start without its privsep chroot
STOP_TIMEOUT_S = 5.0


def missing_tools_reason() -> str | None:
    """Why a fleet cannot start here, or None when it can."""
    if not SSHD.is_file():
        return f"{SSHD} not found: install openssh-server (scripts/test installs it with apt)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen not found: install openssh-client"
    return None


class SshdFleet:
    """Started sshd processes plus the client key and known_hosts that reach them."""

    def __init__(
        self,
        hosts: list[SshdHost],
        client_key: Path,
        known_hosts: Path,
        processes: dict[str, subprocess.Popen[bytes]],
    ) -> None:
        self.hosts = hosts
        self.client_key = client_key
        self.known_hosts = known_hosts
        self.user = getpass.getuser()
        self._processes = processes
        self._paused: dict[str, list[int]] = {}
        self._closed = False

    def host(self, name: str) -> SshdHost:
        """The host called ``name``; KeyError if there is none."""
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(f"no simulated host {name!r}; have {[h.name for h in self.hosts]}")

    def is_running(self, name: str) -> bool:
        """True while the host's listening sshd is alive."""
        process = self._processes.get(name)
        return process is not None and process.poll() is None

    def sshd_pids(self, name: str) -> list[int]:
        """The listener and the sshd processes serving its open connections."""
        if not self.is_running(name):
            return []
        return sshd_process_tree(self._processes[name].pid)

    def stop_host(self, name: str) -> None:
        """Stop the host's sshd and drop its connections; replicas it launched live on."""
        self.host(name)
        process = self._processes.get(name)
        if process is None:
            return
        pids = sshd_process_tree(process.pid) if process.poll() is None else []
        # SIGCONT after SIGTERM: a paused process only acts on the SIGTERM once resumed.
        signal_all(pids, signal.SIGTERM)
        signal_all(pids, signal.SIGCONT)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        wait_gone(pids[1:], STOP_TIMEOUT_S)
        self._paused.pop(name, None)

    def start_host(self, name: str) -> None:
        """Start a stopped host again: same address, port, host key and config."""
        host = self.host(name)
        if self.is_running(name):
            raise RuntimeError(f"{name} is already running (pid {host.pid})")
        process = spawn(host)
        try:
            wait_ready([host], {name: process})
        except BaseException:
            kill_now(process)
            raise
        self._processes[name] = process
        restarted = dataclasses.replace(host, pid=process.pid)
        self.hosts = [restarted if h is host else h for h in self.hosts]

    def pause_host(self, name: str) -> None:
        """SIGSTOP the host's sshd processes: connections hang instead of failing."""
        listener = self._running_listener(name)
        os.kill(listener, signal.SIGSTOP)
        wait_state(listener, "T")  # stopped, so it forks nothing new while we look
        pids = sshd_process_tree(listener)
        signal_all(pids, signal.SIGSTOP)
        self._paused[name] = pids

    def resume_host(self, name: str) -> None:
        """SIGCONT what pause_host stopped."""
        pids = set(self._paused.pop(name, [])) | set(self.sshd_pids(name))
        signal_all(sorted(pids), signal.SIGCONT)

    def _running_listener(self, name: str) -> int:
        # Only a live child's pid is safe to signal: a reaped one may belong to anyone now.
        if not self.is_running(name):
            raise RuntimeError(f"{self.host(name).name} is not running: start_host() it first")
        return self._processes[name].pid

    def close(self) -> None:
        """Stop every sshd this fleet started, and wait until they are gone."""
        if self._closed:
            return
        for host in self.hosts:
            self.stop_host(host.name)
        self._closed = True
        _open_fleets.discard(self)

    def __enter__(self) -> SshdFleet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_open_fleets: set[SshdFleet] = set()


@atexit.register
def _close_forgotten_fleets() -> None:
    # Last resort for a fleet whose owner never closed it (e.g. an interrupted run).
    for fleet in list(_open_fleets):
        fleet.close()


def start_sshd_fleet(n: int, workdir: Path) -> SshdFleet:
    """Start ``n`` sshd hosts with keys, config and logs under ``workdir``."""
    if n < 1:
        raise ValueError("a fleet needs at least one host")
    reason = missing_tools_reason()
    if reason is not None:
        raise RuntimeError(reason)
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    allocator = slot_allocator()
    names = [f"host-{number}" for number in range(1, n + 1)]
    for name in names:
        (workdir / name).mkdir(parents=True, exist_ok=True)
    client_key = workdir / "client_key"
    generate_keys([client_key, *(workdir / name / "host_key" for name in names)])
    client_key.chmod(0o600)
    authorized_keys = workdir / "authorized_keys"
    authorized_keys.write_text(Path(f"{client_key}.pub").read_text())
    hosts: list[SshdHost] = []
    for number, name in enumerate(names, start=1):
        host_dir = workdir / name
        public_key = " ".join(Path(host_dir / "host_key.pub").read_text().split()[:2])
        host = SshdHost(
            name=name,
            address=allocator.address(number),
            port=allocator.take_port(),
            state_dir=host_dir / "state",
            port_range=allocator.take_block(REPLICA_PORTS_PER_HOST),
            pid=0,
            host_key_fingerprint=fingerprint(public_key),
            host_public_key=public_key,
            config_file=host_dir / "sshd_config",
            log_file=host_dir / "sshd.log",
        )
        host.config_file.write_text(sshd_config(host, host_dir, authorized_keys))
        hosts.append(host)
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text("".join(f"{host.known_hosts_line}\n" for host in hosts))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for host in hosts:
            processes[host.name] = spawn(host)
        wait_ready(hosts, processes)
    except BaseException:
        for process in processes.values():
            kill_now(process)
        raise
    started = [dataclasses.replace(host, pid=processes[host.name].pid) for host in hosts]
    fleet = SshdFleet(started, client_key, known_hosts, processes)
    _open_fleets.add(fleet)
    return fleet
