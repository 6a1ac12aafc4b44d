"""Values full of shell metacharacters reach a real host literally, over real sshd.

The model name, an env value, the API key and the host's state_dir each carry
`$(touch ...)`, backticks, `;`, quotes and spaces. After `apply --wait` the simulator
serves exactly that model name, the replica's process has exactly that env value and
argv word, the key works as written, and no marker file was created: nothing went
through a shell. tests/bad_inputs/test_shell_metacharacters.py checks the same promise
as a property, without sshd.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fleetdeck_cli import fleetdeck, status
from tests.harness.inventory_writer import inventory_toml
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration


def _payload(marker: Path) -> str:
    """Every way a shell would act on a value, each one creating `marker` if it did."""
    return f"a b $(touch {marker}) `touch {marker}`; touch {marker} 'q' \"d\" | & > <"


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _get(url: str, key: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _cmdline(pid: int) -> list[str]:
    return [word.decode() for word in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]]


def test_metacharacters_reach_the_replica_literally(
    sshd_fleet_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    (host,) = fleet.hosts
    markers = {name: tmp_path / f"PWNED-{name}" for name in ("model", "env", "key", "state")}
    model = "sim/" + _payload(markers["model"])
    env_value = _payload(markers["env"])
    key = "sk-" + _payload(markers["key"])
    # Its "/"s make nested directories, none of them named like the marker.
    state_dir = f"{tmp_path}/state dir " + _payload(markers["state"])
    monkeypatch.setenv("LITERAL_TEST_KEY", key)
    deployments = f"""
[[deployments]]
name = "lit"
model = {_toml(model)}
replicas = 1
api_key = {{ env = "LITERAL_TEST_KEY" }}
env = {{ LITERAL_VALUE = {_toml(env_value)} }}
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.2"]
"""
    text = inventory_toml(fleet, deployments_toml=deployments)
    text = text.replace(
        f"state_dir = {_toml(str(host.state_dir))}", f"state_dir = {_toml(state_dir)}"
    )
    assert _toml(state_dir) in text
    inventory = tmp_path / "fleet.toml"
    inventory.write_text(text)
    try:
        applied = fleetdeck("apply", str(inventory), "--wait", "--timeout", "60")
        assert applied.returncode == 0, applied.stderr
        (replica,) = status(inventory)["deployments"][0]["replicas"]
        base = f"http://127.0.0.1:{replica['port']}"

        code, models = _get(f"{base}/v1/models", key)
        assert code == 200
        assert [entry["id"] for entry in models["data"]] == [model]
        assert _get(f"{base}/v1/models", key + "x")[0] == 401  # the key is checked as written

        # The state dir was created under its literal name (~ and $ unexpanded).
        (replica_dir,) = Path(state_dir).glob("lit/*")
        pid = int((replica_dir / "pid").read_text())
        assert _environ(pid)["LITERAL_VALUE"] == env_value
        assert model in _cmdline(pid)  # one argv word, as written
        for marker in markers.values():
            assert not marker.exists(), f"{marker.name}: a value went through a shell"
    finally:
        fleetdeck("down", str(inventory))
    for marker in markers.values():
        assert not marker.exists(), f"{marker.name}: a value went through a shell"
