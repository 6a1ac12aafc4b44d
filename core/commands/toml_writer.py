"""Write a table of plain values (str, int, float, bool, lists, nested tables) as TOML.

Enough for `fleetdeck export`; nested dicts become sub-tables (or inline tables when
they only hold scalars), so the output pastes straight into an inventory.
"""

from __future__ import annotations

import json
import math
from typing import Any


def value(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, float):
        if math.isnan(item) or math.isinf(item):
            raise ValueError("TOML inventories hold no NaN or infinity")
        return repr(item)
    if isinstance(item, str):
        return json.dumps(item, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(item, list | tuple):
        return "[" + ", ".join(value(x) for x in item) + "]"
    if isinstance(item, dict):
        return "{ " + ", ".join(f"{_key(k)} = {value(v)}" for k, v in item.items()) + " }"
    raise TypeError(f"cannot write {type(item).__name__} as TOML")


def dump_table(header: str, data: dict[str, Any]) -> str:
    """`header` is "[[deployments]]" or "[name]"; sub-tables follow as "[name.key]"."""
    base = header.strip("[]")
    lines = [header]
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, item in data.items():
        nested = isinstance(item, dict) and any(isinstance(v, dict | list) for v in item.values())
        if isinstance(item, dict) and (nested or len(item) > 3):
            tables.append((key, item))
        else:
            lines.append(f"{_key(key)} = {value(item)}")
    text = "\n".join(lines) + "\n"
    for key, item in tables:
        text += "\n" + dump_table(f"[{base}.{_key(key)}]", item)
    return text


def _key(key: str) -> str:
    bare = key.replace("-", "").replace("_", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)
