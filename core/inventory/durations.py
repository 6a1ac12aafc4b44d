"""Durations as people write them in the inventory: "30s", "5m", "1h30m", "500ms" or 45."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

from fleetdeck.core.inventory.problems import show_value

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = r"(\d+(?:\.\d+)?)(ms|s|m|h|d)"
_DURATION = re.compile(rf"(?:{_PART})+")
_DURATION_PART = re.compile(_PART)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

DURATION_HINT = 'a duration like "30s", "5m", "2h", "1h30m", "500ms" or a number of seconds'


def parse_duration(value: object) -> float:
    """Seconds in `value`; raises ValueError with a message fit to show to the user."""
    if isinstance(value, bool):  # bool is an int subclass; `true` is never a duration
        raise ValueError(f"expected {DURATION_HINT}, got {show_value(value)}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"expected {DURATION_HINT}, got {value}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected {DURATION_HINT}, got {show_value(value)}")
    text = value.strip().lower()
    if _NUMBER.fullmatch(text):
        return float(text)
    if not _DURATION.fullmatch(text):
        raise ValueError(f"expected {DURATION_HINT}, got {show_value(value)}")
    units = [unit for _, unit in _DURATION_PART.findall(text)]
    if len(set(units)) != len(units):
        raise ValueError(f"each unit may appear once in a duration, got {show_value(value)}")
    return sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in _DURATION_PART.findall(text))


def format_duration(seconds: float) -> str:
    """The shortest inventory spelling of `seconds` ("90s" -> "1m30s"), for export."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    if whole != seconds:
        return f"{seconds:g}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, whole = divmod(whole, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?(ms|s|m|h|d))+\s*$"},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*$"},
            ]
        }
    ),
]
"""Seconds, written in TOML as a number of seconds or a string such as "5m" or "1h30m"."""
