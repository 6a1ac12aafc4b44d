"""Why a replica failed, classified from its exit code and log (pure)."""

from __future__ import annotations

import re
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


# "ValueError: ...", "OSError: [Errno 98] ...", "vllm: error: ..." anywhere in a line.
_EXCEPTION_LINE = re.compile(r"\b\w*(Error|Exception)(\[\w+\])?: |\berror: ")


def error_excerpt(log_lines: Sequence[str], limit: int = 12) -> tuple[str, ...]:
    """The lines that explain a failure: the first exception messages (the root cause,
    which vLLM prints long before its final "see root cause above"), then the last lines."""
    own = [line for line in log_lines if not line.startswith("[fleetdeck]")]
    causes: list[str] = []
    for line in own:
        # vLLM's WARNING lines mention errors in passing ("... like `OSError: ...`").
        if _EXCEPTION_LINE.search(line) and " WARNING " not in line and line not in causes:
            causes.append(line)
    tail = [line for line in own[-4:] if line not in causes]
    picked = causes[: max(0, limit - len(tail))] + tail
    return tuple(picked[-limit:]) if picked else tuple(own[-limit:])
