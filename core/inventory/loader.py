"""Read an inventory file into an `Inventory`, or fail with every problem it has.

Each table is validated on its own so one mistake does not hide the next, and every
message is pinned to the line where the key is written.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fleetdeck.core.errors import InventoryError
from fleetdeck.core.inventory.checks import (
    check_identity_files,
    check_placements,
    check_unique_names,
)
from fleetdeck.core.inventory.error_messages import describe_validation_error
from fleetdeck.core.inventory.locations import KeyLocations, scan_key_lines
from fleetdeck.core.inventory.models import Deployment, Fleet, Host, HostSettings, Inventory
from fleetdeck.core.inventory.problems import (
    KeyPath,
    Problem,
    format_key_path,
    sort_problems,
    unknown_key_message,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TOP_LEVEL_KEYS = ("fleet", "defaults", "hosts", "deployments")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_END = re.compile(r"\s*\(at end of document\)$")
_Model = TypeVar("_Model", bound=BaseModel)


def load_inventory(path: str | Path) -> Inventory:
    """The inventory in `path`; InventoryError listing every problem when it is unusable."""
    file = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        message = f"cannot read it: {exc.strerror or exc}"
        raise InventoryError([Problem(file, None, "file", message)]) from None
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}); save it as UTF-8"
        raise InventoryError([Problem(file, None, "file", message)]) from None
    return parse_inventory(text, Path(path), display_name=file)


def parse_inventory(text: str, source: Path, display_name: str | None = None) -> Inventory:
    """The inventory in `text`, which was read from `source` (paths resolve against it)."""
    file = display_name if display_name is not None else str(source)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError([_syntax_problem(file, str(exc), text)]) from None
    return _Validation(file, source.absolute(), document, scan_key_lines(text)).run()


def _syntax_problem(file: str, message: str, text: str) -> Problem:
    line: int | None = None
    position = _TOML_POSITION.search(message)
    if position is not None:
        line = int(position.group(1))
        message = message[: position.start()] + f" (column {position.group(2)})"
    elif _TOML_END.search(message):
        message = _TOML_END.sub(" (at end of file)", message)
        line = text.count("\n") + (0 if text.endswith("\n") else 1)
    return Problem(file, line, "syntax", message[:1].lower() + message[1:])


class _Validation:
    """One pass over a parsed document, collecting problems instead of stopping."""

    def __init__(
        self, file: str, source: Path, document: dict[str, Any], locations: KeyLocations
    ) -> None:
        self.file = file
        self.source = source
        self.document = document
        self.locations = locations
        self.context = {"base_dir": source.parent}
        self.problems: list[Problem] = []
        self.defaults: dict[str, Any] = {}

    def run(self) -> Inventory:
        for key in self.document:
            if key not in TOP_LEVEL_KEYS:
                self.add((key,), unknown_key_message(key, TOP_LEVEL_KEYS))
        fleet = self.fleet()
        self.defaults = self.usable_defaults()
        raw_hosts = self.array("hosts")
        hosts = self.each(raw_hosts, "hosts", Host, self.with_defaults)
        deployments = self.each(self.array("deployments"), "deployments", Deployment, dict)
        self.extend(check_unique_names("hosts", hosts))
        self.extend(check_unique_names("deployments", deployments))
        self.extend(check_identity_files(hosts))
        if len(hosts) == len(raw_hosts):  # a broken host could be the one that matches
            self.extend(check_placements(hosts, deployments))
        if self.problems or fleet is None:
            raise InventoryError(sort_problems(self.problems))
        return Inventory(
            source=self.source,
            fleet=fleet,
            hosts=tuple(host for _, host in hosts),
            deployments=tuple(deployment for _, deployment in deployments),
        )

    def fleet(self) -> Fleet | None:
        if "fleet" not in self.document:
            self.add(("fleet",), 'missing required table; add [fleet] with name = "..."')
            return None
        return self.validate(Fleet, self.document["fleet"], ("fleet",))

    def usable_defaults(self) -> dict[str, Any]:
        """[defaults] minus any key that has a problem (reported once, here, not per host)."""
        raw = self.document.get("defaults", {})
        if not isinstance(raw, dict):
            self.add(("defaults",), "expected a table: write [defaults]")
            return {}
        bad: set[str | int] = set()
        try:
            HostSettings.model_validate(raw, context=self.context)
        except ValidationError as exc:
            for path, message in describe_validation_error(exc, HostSettings, ("defaults",)):
                self.add(path, message)
                bad.add(path[1] if len(path) > 1 else "")
        return {key: value for key, value in raw.items() if key not in bad}

    def with_defaults(self, host: dict[str, Any]) -> dict[str, Any]:
        """A host's own value wins; labels and env merge key by key."""
        merged = {**self.defaults, **host}
        for key in ("labels", "env"):
            inherited, own = self.defaults.get(key), host.get(key)
            if isinstance(inherited, dict) and isinstance(own, dict):
                merged[key] = {**inherited, **own}
        return merged

    def array(self, key: str) -> list[Any]:
        value = self.document.get(key, [])
        if isinstance(value, list):
            return value
        self.add((key,), f"expected an array of tables: write [[{key}]], with two brackets")
        return []

    def each(
        self,
        raw: list[Any],
        table: str,
        model: type[_Model],
        prepare: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> list[tuple[int, _Model]]:
        valid = []
        for index, entry in enumerate(raw):
            data = prepare(entry) if isinstance(entry, dict) else entry
            validated = self.validate(model, data, (table, index))
            if validated is not None:
                valid.append((index, validated))
        return valid

    def validate(self, model: type[_Model], data: Any, prefix: KeyPath) -> _Model | None:
        try:
            return model.model_validate(data, context=self.context)
        except ValidationError as exc:
            self.extend(describe_validation_error(exc, model, prefix))
            return None

    def extend(self, found: list[tuple[KeyPath, str]]) -> None:
        for path, message in found:
            self.add(path, message)

    def add(self, path: KeyPath, message: str) -> None:
        line = self.locations.line_of(path)
        inherited = ("defaults", *path[2:])
        if path[:1] == ("hosts",) and path not in self.locations and inherited in self.locations:
            line = self.locations.exact(inherited)  # the value came from [defaults]
            message += " (inherited from [defaults])"
        self.problems.append(Problem(self.file, line, format_key_path(path), message))
