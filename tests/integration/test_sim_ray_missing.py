"""The simulator with --distributed-executor-backend ray where Ray cannot be imported fails
at start the way vLLM 0.32 does, whether or not ray is installed here (a stand-in package
that refuses to import comes first on PYTHONPATH)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.ports import slot_allocator

pytestmark = pytest.mark.integration

SIM = str(Path(sys.executable).with_name("fleetdeck-sim-vllm"))


def test_no_ray_means_a_failed_start_with_vllms_message(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "ray"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "shadow")}
    port = slot_allocator().take_port()
    done = subprocess.run(
        [
            SIM,
            "serve",
            "m",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--tensor-parallel-size",
            "2",
            "--distributed-executor-backend",
            "ray",
            "--sim-load-seconds",
            "0.2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert (
        "ValueError: Failed to import Ray: No module named 'ray'.Please install Ray with"
        " `pip install ray`." in done.stdout + done.stderr
    )
