"""Why a replica failed, classified from its exit code and log (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from fleetdeck.hosts.observations import ExitRecord

# (substring in the log, reason): the first rule that matches the log wins.
RULES: tuple[tuple[str, str], ...] = (
    ("Address already in use", "port in use"),
    ("CUDA out of memory", "out of memory"),
    ("OutOfMemoryError", "out of memory"),
    ("less than desired CPU memory utilization", "out of memory"),
    ("less than desired GPU memory utilization", "out of memory"),
    ("No available memory for the cache blocks", "out of memory"),
    ("is not a local folder and is not a valid model identifier", "model not found"),
    ("Repository Not Found", "model not found"),
    ("RepositoryNotFoundError", "model not found"),
    ("gated repo", "model access denied (check hf_token)"),
    ("unrecognized arguments", "bad argument"),
    ("error: argument", "bad argument"),
    ("invalid choice", "bad argument"),
    ("cannot run ", "vLLM command not found"),
)


def classify_failure(exit_code: int | None, log_lines: Sequence[str]) -> str:
    for line in log_lines:
        for needle, reason in RULES:
            if needle in line:
                return reason
    if exit_code is None:
        return "crashed"
    if exit_code == 127:
        return "vLLM command not found"
    if exit_code < 0 or exit_code > 128:
        signal_number = -exit_code if exit_code < 0 else exit_code - 128
        return f"killed by signal {signal_number}"
    return f"crashed (exit {exit_code})"


# "ValueError: ...", "OSError: [Errno 98] ...", "vllm: error: ..." anywhere in a line.
_EXCEPTION_LINE = re.compile(r"\b\w*(Error|Exception)(\[\w+\])?: |\berror: ")

# The host program's own notes in a replica's log start with this; all but one are the
# supervisor's ("starting: ...", "exited with code ..."). "cannot run ..." is what the
# command said, in effect: exec failed (a missing binary), so it counts as its output.
_NOTE = "[fleetdeck] "
_CANNOT_RUN = "[fleetdeck] cannot run "
_RUN_STARTED = re.compile(r"^\[fleetdeck\] \S+ starting: ")
AT_ONCE_S = 3.0  # a run this short "exited at once"


def program_output(log_lines: Sequence[str]) -> list[str]:
    """The lines the command itself wrote: the supervisor's notes left out."""
    return [line for line in log_lines if _is_output(line)]


def _is_output(line: str) -> bool:
    return not line.startswith(_NOTE) or line.startswith(_CANNOT_RUN)


def error_excerpt(log_lines: Sequence[str], limit: int = 12) -> tuple[str, ...]:
    """The lines that explain a failure: the first exception messages (the root cause,
    which vLLM prints long before its final "see root cause above"), then the last lines."""
    own = program_output(log_lines)
    causes: list[str] = []
    for line in own:
        # vLLM's WARNING lines mention errors in passing ("... like `OSError: ...`").
        if _EXCEPTION_LINE.search(line) and " WARNING " not in line and line not in causes:
            causes.append(line)
    tail = [line for line in own[-4:] if line not in causes]
    picked = causes[: max(0, limit - len(tail))] + tail
    return tuple(picked[-limit:]) if picked else tuple(own[-limit:])


def failure_excerpt(
    exits: Sequence[ExitRecord], log_lines: Sequence[str], limit: int = 5
) -> tuple[str, ...]:
    """What a failed replica's last failing run said: its last few non-empty lines, or,
    when it wrote nothing, one line that says so ("exited at once with code 1, no output").

    Only the last run's lines (those after the supervisor's last "starting:" note), so an
    earlier run's output is not passed off as this one's. A run ended by our own stop with
    nothing to show (killed in its backoff's wake) gives way to the failing run before it.
    """
    if not exits:
        return ()
    runs = _runs(log_lines)
    last = exits[-1]
    output = runs[-1] if runs else []
    if not output and last.stopped and len(exits) > 1:
        last = exits[-2]
        output = runs[-2] if len(runs) > 1 else []
    if output:
        return tuple(output[-limit:])
    return (f"{_exited(last)} with code {last.code}, no output",)


def _runs(log_lines: Sequence[str]) -> list[list[str]]:
    """The log split at each run's start: each run's non-empty output lines, oldest first.
    Lines before the first start note (a tail that cut it off) count as one run."""
    runs: list[list[str]] = []
    current: list[str] | None = None
    for line in log_lines:
        if _RUN_STARTED.match(line):
            current = []
            runs.append(current)
            continue
        if current is None:
            current = []
            runs.append(current)
        if line.strip() and _is_output(line):
            current.append(line)
    return runs


def _exited(record: ExitRecord) -> str:
    if record.ran_s is None:
        return "exited"
    if record.ran_s <= AT_ONCE_S:
        return "exited at once"
    return f"exited after {record.ran_s:.0f}s"
