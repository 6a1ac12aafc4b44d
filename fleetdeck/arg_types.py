"""argparse types for the command line's numbers: each says its bounds when refused.

A number out of range is a usage error (exit 2) before anything is read or recorded:
`scale 1000000000` would otherwise be kept as an override, `status --interval 1e-9`
would print as fast as the terminal takes it. Kept free of core imports, so `--help`
and a shell's TAB stay fast; tests/bad_inputs checks MAX_REPLICAS against core's.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

MAX_REPLICAS = 1024  # fleetdeck.core.inventory.fields.MAX_REPLICAS
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def _show_seconds(seconds: float) -> str:
    for unit, size in (("d", DAY), ("h", HOUR), ("m", MINUTE)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g} s"


def seconds(*, least: float, most: float, zero_ok: bool = False) -> Callable[[str], float]:
    """A number of seconds, more than 0 (or 0 with zero_ok) and within [least, most]."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a number of seconds, e.g. 30 or 0.5, not {text!r}"
            ) from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number of seconds, not {text}")
        if zero_ok and value < 0:
            raise argparse.ArgumentTypeError(f"must be 0 or more seconds, not {text}")
        if zero_ok and value == 0:
            return value
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {_show_seconds(least)}, not {text}")
        if value > most:
            raise argparse.ArgumentTypeError(
                f"must be at most {_show_seconds(most)} ({most:g} s), not {text}"
            )
        return value

    parse.__name__ = "seconds"  # argparse names the type in some of its own messages
    return parse


def count(*, most: int, what: str = "") -> Callable[[str], int]:
    """A whole number from 0 to `most`."""
    unit = f" {what}" if what else ""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
        if value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most}{unit}, not {text}")
        return value

    parse.__name__ = "count"
    return parse


# The command line's numbers and their bounds, one place for every command.
TIMEOUT = seconds(least=0.001, most=7 * DAY)  # --timeout: at most a start_timeout's bound
INTERVAL = seconds(least=0.1, most=DAY)  # --interval: what a terminal or a host can take
SAMPLE = seconds(least=0.1, most=10 * MINUTE, zero_ok=True)  # status --sample
RUN_FOR = seconds(least=0.001, most=30 * DAY)  # demo --seconds
REPLICAS = count(most=MAX_REPLICAS, what="replicas")
LINES = count(most=1_000_000, what="lines")
TOKENS = count(most=1_000_000, what="tokens")


_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
MIN_RECORD_BYTES = 64 * 1024  # fleetdeck.core.recording.writer.MIN_MAX_BYTES


def byte_size(text: str) -> int:
    """A file size: bytes, or with K, M or G (powers of 1024), at least 64K."""
    cleaned = text.strip().lower().removesuffix("b").removesuffix("i")
    unit = cleaned[-1:] if cleaned[-1:] in ("k", "m", "g") else ""
    try:
        value = float(cleaned[: len(cleaned) - len(unit)])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 256M or 2G, not {text!r}"
        ) from None
    size = value * _SIZE_UNITS[unit]
    if not math.isfinite(size) or size < MIN_RECORD_BYTES:
        raise argparse.ArgumentTypeError(f"must be at least 64K, not {text}")
    return int(size)


byte_size.__name__ = "size"
PLAYBACK_AT = seconds(least=0.0, most=366 * DAY, zero_ok=True)  # replay --at
