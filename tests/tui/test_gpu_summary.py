"""The one-line GPU summary of the hosts table, as plain strings."""

from __future__ import annotations

import pytest

from fleetdeck.core.fleet.snapshot import GpuSnapshot
from fleetdeck.tui.widgets.gpu_summary import short_gpu_name, summarize_gpus


def gpu(index: int, name: str, temperature: float | None, utilisation: float | None) -> GpuSnapshot:
    return GpuSnapshot(
        index=index,
        uuid=f"GPU-{index}",
        name=name,
        temperature_c=temperature,
        utilization_pct=utilisation,
    )


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("NVIDIA H100 80GB HBM3", "H100"),
        ("NVIDIA A100-SXM4-80GB", "A100"),
        ("NVIDIA H100 PCIe", "H100"),
        ("NVIDIA GeForce RTX 4090", "RTX 4090"),
        ("Tesla T4", "T4"),
        ("NVIDIA L40S", "L40S"),
        ("NVIDIA RTX A6000", "RTX A6000"),
        ("NVIDIA", "NVIDIA"),
    ],
)
def test_short_gpu_name(name: str, short: str) -> None:
    assert short_gpu_name(name) == short


def test_hottest_temperature_and_mean_utilisation() -> None:
    gpus = [gpu(0, "NVIDIA H100 80GB HBM3", 51, 40), gpu(1, "NVIDIA H100 80GB HBM3", 47, 34)]
    assert summarize_gpus(gpus) == "2× H100 51°C 37%"


def test_mixed_models_are_counted_apart() -> None:
    gpus = [gpu(0, "NVIDIA H100 80GB HBM3", 60, 10), gpu(1, "NVIDIA A100-SXM4-80GB", 55, 30)]
    assert summarize_gpus(gpus) == "1× H100 + 1× A100 60°C 20%"


def test_missing_readings_are_left_out() -> None:
    assert summarize_gpus([gpu(0, "Tesla T4", None, None)]) == "1× T4"
    assert summarize_gpus([gpu(0, "Tesla T4", None, 12.4)]) == "1× T4 12%"


def test_host_without_gpus() -> None:
    assert summarize_gpus([]) == "—"
