"""Why a replica failed, classified from its exit code and log (pure)."""

from __future__ import annotations

from collections.abc import Sequence

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


def error_excerpt(log_lines: Sequence[str], limit: int = 12) -> tuple[str, ...]:
    """The lines that explain a failure: from the last traceback or ERROR on, else the tail."""
    start = None
    for index, line in enumerate(log_lines):
        if "Traceback (most recent call last)" in line or " ERROR " in line:
            start = index if start is None else start
    lines = list(log_lines[start:] if start is not None else log_lines)
    # Keep the end: that is where the exception message is.
    return tuple(line for line in lines if not line.startswith("[fleetdeck]"))[-limit:]
