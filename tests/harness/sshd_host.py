"""One simulated host: its sshd_config, starting its sshd, and knowing when it is ready."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.harness.host_keys import presented_host_keys

SSHD = Path("/usr/sbin/sshd")
READY_TIMEOUT_S = 10.0
HOST_KEY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class SshdHost:
    """One simulated host: an sshd listening on its own loopback address."""

    name: str
    address: str
    port: int
    state_dir: Path  # fleetdeck's state_dir for this host; not created here
    port_range: tuple[int, int]  # inclusive, for this host's vLLM replicas
    pid: int  # the listening sshd
    host_key_fingerprint: str  # "SHA256:...", as ssh-keygen -l prints it
    host_public_key: str  # "ssh-ed25519 AAAA..."
    config_file: Path
    log_file: Path

    @property
    def known_hosts_line(self) -> str:
        """This host's entry in OpenSSH known_hosts syntax."""
        return f"[{self.address}]:{self.port} {self.host_public_key}"


def sshd_config(host: SshdHost, host_dir: Path, authorized_keys: Path) -> str:
    """The sshd_config text for ``host``: key-only login, logs verbose enough to debug."""
    settings = {
        "ListenAddress": f"{host.address}:{host.port}",
        "HostKey": f'"{host_dir / "host_key"}"',
        "PidFile": f'"{host_dir / "sshd.pid"}"',
        "AuthorizedKeysFile": f'"{authorized_keys}"',
        "PubkeyAuthentication": "yes",
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "UsePAM": "no",
        "StrictModes": "no",  # tmp dirs are not owned the way StrictModes wants
        "PermitRootLogin": "prohibit-password",
        "LogLevel": "VERBOSE",
        "Subsystem": "sftp internal-sftp",
    }
    return "".join(f"{key} {value}\n" for key, value in settings.items())


def spawn(host: SshdHost) -> subprocess.Popen[bytes]:
    """Start the host's sshd in the foreground, as our child."""
    # stderr to the log too: config errors are printed before -E takes effect.
    with host.log_file.open("ab") as log:
        return subprocess.Popen(
            [str(SSHD), "-D", "-f", str(host.config_file), "-E", str(host.log_file)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )


def wait_ready(hosts: list[SshdHost], processes: dict[str, subprocess.Popen[bytes]]) -> None:
    """Return once every host accepts TCP and presents its own host key; raise if not."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    waiting = list(hosts)
    while waiting:
        for host in list(waiting):
            if processes[host.name].poll() is not None:
                code = processes[host.name].returncode
                raise RuntimeError(f"sshd for {host.name} exited with {code}:\n{_log_tail(host)}")
            if _accepts_tcp(host):
                waiting.remove(host)
        if waiting and time.monotonic() > deadline:
            late = waiting[0]
            raise RuntimeError(f"sshd for {late.name} is not listening:\n{_log_tail(late)}")
        if waiting:
            time.sleep(0.01)
    _check_host_keys(hosts, processes)


def _accepts_tcp(host: SshdHost) -> bool:
    try:
        with socket.create_connection((host.address, host.port), timeout=1.0):
            return True
    except OSError:
        return False


def _check_host_keys(hosts: list[SshdHost], processes: dict[str, subprocess.Popen[bytes]]) -> None:
    """Ask every host for its host key, all at once, and compare with the one we made."""
    # asyncssh in a private loop on a thread: callers may already be inside a running
    # loop (async tests), and one in-process client beats n ssh-keyscan processes
    # (0.12 s instead of 1.3 s for 20 hosts on 2 cores).
    endpoints = [(host.address, host.port) for host in hosts]
    with ThreadPoolExecutor(max_workers=1) as thread:
        fetching = presented_host_keys(endpoints, HOST_KEY_TIMEOUT_S)
        presented = thread.submit(asyncio.run, fetching).result()
    for host, key in zip(hosts, presented, strict=True):
        if key != host.host_public_key:
            # Someone else listening on the port looks "ready" to a TCP probe.
            code = processes[host.name].poll()
            state = "running" if code is None else f"exited with {code}"
            raise RuntimeError(
                f"sshd for {host.name} ({state}) presented {key}, "
                f"expected {host.host_public_key}:\n{_log_tail(host)}"
            )


def kill_now(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL and reap (for a start that went wrong)."""
    if process.poll() is None:
        process.kill()
    process.wait()


def _log_tail(host: SshdHost, lines: int = 20) -> str:
    try:
        return "\n".join(host.log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no log at {host.log_file}: {error})"
