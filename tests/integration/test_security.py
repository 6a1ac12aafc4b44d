"""Security promises over real sshd, with simulator replicas as real processes:

- after an apply (by `fleetdeck run`, which also serves the endpoint) with an API key and
  an HF token, no process's argv holds either secret (every host is this machine, so
  /proc covers them all), while the replicas do get them
- the env files holding them are 0600, their directories 0700
- replicas listen on 127.0.0.1 only, unless the inventory says otherwise (a second
  deployment binds 0.0.0.0 on purpose: it shows the check sees what it looks for), and so
  does everything the endpoint's process listens on
- through the endpoint, /metrics (and every path vLLM leaves open) needs the key, and
  /health is the endpoint's own status, never a replica's page

A changed host key is in test_trust.py (both fingerprints, known_hosts untouched).
"""

from __future__ import annotations

import os
import secrets
import stat
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fleetdeck_cli import controller_running, wait_until
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

# Fresh each run, so the scan cannot be fooled (or failed) by another test's secrets.
API_KEY = f"sk-security-{secrets.token_hex(12)}"
HF_TOKEN = f"hf_security_{secrets.token_hex(12)}"
DEPLOYMENTS = """
[[deployments]]
name = "guarded"
model = "sim/guarded"
replicas = 2
api_key = { env = "SECURITY_TEST_API_KEY" }
hf_token = { file = "hf_token" }
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.2"]

[[deployments]]
name = "open"
model = "sim/open"
replicas = 1
[deployments.vllm]
host = "0.0.0.0"
extra_args = ["--sim-load-seconds", "0.2"]
"""


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:  # the process ended meanwhile, or is not ours to read
        return b""


def _replicas(state_dirs: list[Path]) -> dict[int, str]:
    """pid -> deployment, for every process of a replica under `state_dirs`."""
    found = {}
    for pid in _pids():
        for item in _read(f"/proc/{pid}/environ").split(b"\0"):
            name, _, value = item.decode(errors="replace").partition("=")
            if name == "FLEETDECK_REPLICA" and any(value.startswith(str(d)) for d in state_dirs):
                found[pid] = Path(value).parent.name
    return found


def _listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket `pid` listens on (IPv4 and IPv6)."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir) if os.path.isdir(fd_dir) else ():
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in _read(f"/proc/{pid}/net/{table}").decode().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            address, port = fields[1].split(":")
            found.add((_address(address, width), int(port, 16)))
    return found


def _address(hex_address: str, width: int) -> str:
    """/proc/net/tcp's little-endian hex as dotted IPv4, or "::"-style for IPv6."""
    raw = bytes.fromhex(hex_address)
    if width == 8:
        return ".".join(str(byte) for byte in reversed(raw))
    words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
    data = b"".join(words)
    if data[:12] == b"\0" * 10 + b"\xff\xff":  # IPv4-mapped
        return ".".join(str(byte) for byte in data[12:])
    return "::" if data == b"\0" * 16 else data.hex(":", 2)


def _get(url: str, key: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_secrets_files_sockets_and_the_endpoint(
    sshd_fleet_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECURITY_TEST_API_KEY", API_KEY)
    fleet: SshdFleet = sshd_fleet_factory(2)
    token = tmp_path / "hf_token"
    token.write_text(HF_TOKEN + "\n")
    token.chmod(0o600)
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENTS)
    state_dirs = [host.state_dir for host in fleet.hosts]
    # `fleetdeck run` applies the inventory and serves the endpoints: one process, so
    # the test costs one convergence, and the endpoint's process is scanned too.
    with controller_running(inventory) as controller:

        def serving() -> str | None:
            found = [e for e in controller.events if e["kind"] == "endpoint.serving"]
            return next((e["message"] for e in found if e["subject"] == "guarded"), None)

        def listening() -> dict[str, int]:
            counts = {"guarded": 0, "open": 0}
            for pid, name in _replicas(state_dirs).items():
                counts[name] += bool(_listening(pid))
            return counts

        wait_until(lambda: serving() is not None, 60, "the guarded deployment's endpoint")
        url = str(serving()).removesuffix("/v1")
        wait_until(lambda: listening() == {"guarded": 2, "open": 1}, 60, "every replica up")
        wait_until(lambda: _get(f"{url}/health")[0] == 200, 30, "a ready replica behind it")

        # No secret in any argv; the replicas did get both (else the scan proves nothing).
        replicas = _replicas(state_dirs)
        guarded = [pid for pid, name in replicas.items() if name == "guarded"]
        opened = [pid for pid, name in replicas.items() if name == "open"]
        assert guarded and opened, replicas
        for pid in _pids():
            argv = _read(f"/proc/{pid}/cmdline")
            assert API_KEY.encode() not in argv and HF_TOKEN.encode() not in argv, pid
        environ = _read(f"/proc/{guarded[0]}/environ").split(b"\0")
        assert f"VLLM_API_KEY={API_KEY}".encode() in environ
        assert f"HF_TOKEN={HF_TOKEN}".encode() in environ

        # Env files 0600, in directories 0700.
        env_files = [file for d in state_dirs for file in d.glob("guarded/*/env")]
        assert len(env_files) == 2
        for file in env_files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
            assert HF_TOKEN in file.read_text()
            for directory in (file.parent, file.parent.parent, file.parent.parent.parent):
                assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory

        # Listeners: loopback only, but for the deployment that asked for 0.0.0.0.
        for pid in guarded:
            assert {address for address, _ in _listening(pid)} <= {"127.0.0.1"}, pid
        assert any(_listening(pid) for pid in guarded)
        assert {address for pid in opened for address, _ in _listening(pid)} == {"0.0.0.0"}
        endpoint_sockets = _listening(controller.process.pid)
        assert ("127.0.0.1", int(url.rsplit(":", 1)[1])) in endpoint_sockets
        assert {address for address, _ in endpoint_sockets} == {"127.0.0.1"}

        # Through the endpoint: no replica page without the key.
        assert _get(f"{url}/metrics")[0] == 401
        assert _get(f"{url}/metrics", "sk-wrong")[0] == 401
        code, page = _get(f"{url}/metrics", API_KEY)
        assert code == 200 and b"vllm:" in page
        code, page = _get(f"{url}/health")
        assert (code, page) == (200, b'{"status": "ok"}')
        assert _get(f"{url}/v1/models")[0] == 401
        assert _get(f"{url}/v1/models", API_KEY)[0] == 200
