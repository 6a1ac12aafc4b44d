"""Change one deployment of an inventory file, keeping everything else as the user wrote it.

The console's form calls these; nothing here knows about a screen. The file is edited
as a tomlkit document, in place: the one [[deployments]] table is updated key by key (a
key whose value did not change keeps its comment and its spelling, "5m" stays "5m") or
a new one is appended, so comments, order and formatting elsewhere are untouched.
A change is judged by the loader itself (`parse_inventory` over the edited text), so
the form accepts exactly what `fleetdeck apply` would: the deployment's own problems
come back by key, beside their field, and problems elsewhere in the file as they are.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, InlineTable, Table

from fleetdeck.core.errors import InventoryError, UsageError
from fleetdeck.core.inventory.form_fields import FIELDS_BY_KEY
from fleetdeck.core.inventory.loader import parse_inventory
from fleetdeck.core.inventory.models import Inventory
from fleetdeck.core.inventory.toml_layout import deployment_table, inline_value, is_sub_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

GENERAL = ""
"""The key of problems that belong to no one field (the file elsewhere, a whole table)."""


@dataclass(frozen=True)
class EditCheck:
    """What the loader says of the inventory with one deployment changed."""

    text: str
    """The whole inventory file as it would be written."""
    inventory: Inventory | None
    """The loaded inventory; None when it has problems."""
    errors: dict[str, list[str]] = field(default_factory=dict)
    """Form field key ("vllm.dtype"; GENERAL for the rest) -> messages."""

    @property
    def ok(self) -> bool:
        return self.inventory is not None and not self.errors


def deployment_names(text: str) -> list[str]:
    """The names of the [[deployments]] entries in `text`, in file order."""
    entries = tomllib.loads(text).get("deployments", [])
    return [e.get("name", "") for e in entries if isinstance(e, dict)]


def deployment_data(text: str, name: str) -> dict[str, Any]:
    """The [[deployments]] entry called `name`, as written (plain data, no defaults)."""
    for entry in tomllib.loads(text).get("deployments", []):
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    raise UsageError(f"no deployment named {name!r}", "the inventory has none", "pick another")


def with_deployment(text: str, data: Mapping[str, Any], replacing: str | None) -> str:
    """`text` with the entry called `replacing` changed to `data`, or (None, or a name
    not in the file) `data` appended as a new [[deployments]] table."""
    document = tomlkit.parse(text)
    entries = document.get("deployments")
    if isinstance(entries, AoT):
        for table in entries.body:
            if replacing is not None and table.get("name") == replacing:
                _update(table, data)
                return document.as_string()
        if entries.body:
            entries.body[-1].add(tomlkit.nl())  # a blank line between the entries
        entries.append(deployment_table(dict(data)))
    else:
        aot = tomlkit.aot()
        aot.append(deployment_table(dict(data)))
        if not text.endswith("\n\n"):
            document.add(tomlkit.nl())
        document.append("deployments", aot)
    return document.as_string()


def _update(table: Table | InlineTable | Container, data: Mapping[str, Any]) -> None:
    """Make `table` hold `data`: unchanged keys stay as written, with their comments."""
    for key in [k for k in table if k not in data]:
        del table[key]
    for key, value in data.items():
        current = table.get(key)
        if current is not None and _plain(current) == value:
            continue  # as written: "5m" stays "5m", not 300.0
        if isinstance(current, Table | InlineTable) and isinstance(value, Mapping):
            _update(current, value)
        elif is_sub_table(value) and not isinstance(table, InlineTable):
            table[key] = deployment_table(dict(value))
        else:
            table[key] = inline_value(value)


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def check_edit(
    text: str, source: Path, data: Mapping[str, Any], replacing: str | None
) -> EditCheck:
    """The inventory `text` (read from `source`) with `data` written as the deployment
    `replacing` (None: a new one), judged by the loader."""
    try:
        names = deployment_names(text)
        edited = with_deployment(text, data, replacing)
    except (tomlkit.exceptions.TOMLKitError, tomllib.TOMLDecodeError, ValueError) as exc:
        return EditCheck(text, None, {GENERAL: [f"{source}: {exc}"]})
    # Edited in place, or appended: its index in the edited file.
    index = names.index(replacing) if replacing in names else len(names)
    try:
        inventory = parse_inventory(edited, source)
    except InventoryError as exc:
        return EditCheck(edited, None, _by_field(exc, index))
    return EditCheck(edited, inventory)


def _by_field(error: InventoryError, index: int) -> dict[str, list[str]]:
    prefix = f"deployments[{index}]"
    errors: dict[str, list[str]] = {}
    for problem in error.problems:
        key = GENERAL
        message = problem.message
        if problem.key_path == prefix:
            message = problem.message
        elif problem.key_path.startswith(prefix + "."):
            key = _field_key(problem.key_path[len(prefix) + 1 :])
            if key == GENERAL:
                message = f"{problem.key_path[len(prefix) + 1 :]}: {message}"
        else:
            where = f"line {problem.line}" if problem.line else problem.file
            message = f"{where}: {problem.key_path}: {message}"
        errors.setdefault(key, []).append(message)
    return errors


def _field_key(path: str) -> str:
    """The form field a problem's key path belongs to: the longest field key it starts
    with ("api_key.env" -> "api_key", "env.A" -> "env")."""
    parts = path.replace("[", ".[").split(".")
    for end in range(len(parts), 0, -1):
        key = ".".join(parts[:end])
        if key in FIELDS_BY_KEY:
            return key
    return GENERAL


def write_inventory(path: Path, text: str) -> None:
    """Replace the file with `text` in one step (a reader never sees half of it), with
    the file's own permissions."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_exported(text: str) -> dict[str, Any]:
    """A deployment as `fleetdeck export` prints it, as TOML (one [[deployments]] entry)
    or as JSON (one object); UsageError when `text` is neither."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError("not a deployment", f"bad JSON: {exc}", "export one again") from None
        if not isinstance(data, dict):
            raise UsageError("not a deployment", "the JSON is not an object", "export one again")
        return data
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError("not a deployment", f"bad TOML: {exc}", "export one again") from None
    entries = document.get("deployments")
    if isinstance(entries, list) and len(entries) == 1 and isinstance(entries[0], dict):
        return entries[0]
    raise UsageError(
        "not a deployment",
        "expected one [[deployments]] entry, as `fleetdeck export` writes",
        "export one again",
    )
