"""The demo's inventory and traffic shape carry its story (tests/integration/test_demo_story.py
runs it): an autoscaled deployment with a burst big enough to reach max, a crashing one
with a short backoff, an idle one with a short idle_timeout."""

from __future__ import annotations

import math
from pathlib import Path

from fleetdeck.core.demo.demo_fleet import write_demo_inventory
from fleetdeck.core.demo.traffic import SHAPES, WAVE_PERIOD_S, llama_wave
from fleetdeck.core.inventory import load_inventory


def test_the_demo_inventory_sets_up_scaling_a_crash_and_idle(tmp_path: Path) -> None:
    inventory = load_inventory(write_demo_inventory(tmp_path))
    by_name = {d.name: d for d in inventory.deployments}
    llama = by_name["llama-8b"].autoscale
    assert llama is not None and (llama.min, llama.max) == (1, 3)
    assert max(llama.scale_up_delay, llama.scale_down_delay, llama.window) <= 15
    qwen = by_name["qwen-7b"]
    assert "--sim-crash-after" in qwen.vllm.extra_args and qwen.restart_backoff <= 5
    assert by_name["phi-mini"].idle_timeout == 40
    assert "phi-mini" not in {shape.deployment for shape in SHAPES}  # no traffic: idle


def test_the_llama_wave_is_calm_then_a_burst_to_max_then_calm_again(tmp_path: Path) -> None:
    llama = load_inventory(write_demo_inventory(tmp_path)).deployment("llama-8b")
    autoscale = llama.autoscale if llama is not None else None
    assert autoscale is not None
    per_second = [llama_wave(s) for s in range(int(WAVE_PERIOD_S))]
    peak = max(per_second)
    assert per_second[0] == per_second[-1] == 1
    assert math.ceil(peak * 0.75 / autoscale.target_running_per_replica) >= autoscale.max
    assert per_second.count(peak) >= 20  # long enough to outlast scale_up_delay and loading
    assert llama_wave(WAVE_PERIOD_S + 30) == llama_wave(30)  # and again, for the console
    llama_shape = next(shape for shape in SHAPES if shape.deployment == "llama-8b")
    assert llama_shape.most >= peak
