"""A deployment as TOML: the `[[deployments]]` entry that `fleetdeck export` prints and
the console's form writes into the inventory.

tomlkit writes the TOML (quoting, escapes, key syntax); this module only chooses the
layout. A small table of plain values (a secret reference `{ env = "X" }`, labels)
stays inline on its key's line; a bigger one, or one holding lists or tables
(`vllm`, `autoscale`, `placement` with labels), becomes a `[deployments.NAME]` sub-table.
"""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.items import InlineTable, Table

# An inline table longer than this many keys reads better as a sub-table.
INLINE_MAX_KEYS = 3


def export_toml(data: dict[str, Any], source: str) -> str:
    """`data` (a deployment as the inventory would hold it) as a commented
    `[[deployments]]` entry; `source` is the inventory file it came from."""
    document = tomlkit.document()
    document.add(tomlkit.comment(f"exported by fleetdeck from {source}"))
    entries = tomlkit.aot()
    entries.append(deployment_table(data))
    document.append("deployments", entries)
    return tomlkit.dumps(document)


def deployment_table(data: dict[str, Any]) -> Table:
    """`data` as a TOML table in the layout above (also used for any nested table)."""
    table = tomlkit.table()
    # Plain keys first: a key written after a sub-table's header would belong to it.
    for key, item in data.items():
        if not is_sub_table(item):
            table.add(key, inline_value(item))
    for key, item in data.items():
        if is_sub_table(item):
            table.add(key, deployment_table(item))
    return table


def is_sub_table(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    nested = any(isinstance(value, dict | list | tuple) for value in item.values())
    return nested or len(item) > INLINE_MAX_KEYS


def inline_value(item: Any) -> Any:
    """A value for one line: dicts (also those inside lists) become inline tables."""
    if isinstance(item, dict):
        inline: InlineTable = tomlkit.inline_table()
        for key, value in item.items():
            inline.append(key, inline_value(value))
        _pad(inline)
        return inline
    if isinstance(item, list | tuple):
        array = tomlkit.array()
        array.extend(inline_value(value) for value in item)
        return array
    return item


def _pad(inline: InlineTable) -> None:
    """`{ env = "X" }` as inventories write it, not tomlkit's `{env = "X"}`."""
    values = [value for key, value in inline.value.body if key is not None]
    if values:
        values[0].trivia.indent = " "
        values[-1].trivia.trail = " "
