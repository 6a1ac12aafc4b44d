from __future__ import annotations

from fleetdeck.core.errors import FleetdeckError, InventoryError
from fleetdeck.core.inventory import Problem
from fleetdeck.core.inventory.problems import did_you_mean, format_key_path, unknown_key_message


def test_fleetdeck_error_renders_title_cause_and_next_step() -> None:
    error = FleetdeckError("host gpu-a refused the key", "permission denied", "run ssh-copy-id")
    assert str(error) == "host gpu-a refused the key: permission denied\n  next: run ssh-copy-id"
    assert str(FleetdeckError("only a title")) == "only a title"


def test_inventory_error_is_one_line_per_problem() -> None:
    problems = [
        Problem("fleet.toml", 14, "deployments[1].vllm.max_modle_len", "unknown key"),
        Problem("fleet.toml", None, "fleet", "missing required table"),
    ]
    error = InventoryError(problems)
    assert isinstance(error, FleetdeckError)
    assert error.problems == tuple(problems)
    assert str(error) == (
        "fleet.toml:14: deployments[1].vllm.max_modle_len: unknown key\n"
        "fleet.toml:-: fleet: missing required table"
    )
    assert error.title == "fleet.toml has 2 problems"


def test_key_paths_use_toml_names() -> None:
    assert format_key_path(("deployments", 1, "vllm", "dtype")) == "deployments[1].vllm.dtype"
    assert format_key_path(("hosts", 0, "labels", "gpu kind")) == 'hosts[0].labels."gpu kind"'


def test_did_you_mean() -> None:
    keys = ["max_model_len", "max_num_seqs", "dtype"]
    assert did_you_mean("max-model-len", keys) == "max_model_len"
    assert did_you_mean("max_modle_len", keys) == "max_model_len"
    assert did_you_mean("completely_else", keys) is None
    assert unknown_key_message("zzz", ["b", "a"]) == "unknown key; allowed keys: a, b"
