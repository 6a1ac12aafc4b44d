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
    check_endpoints,
    check_identity_files,
    check_placements,
    check_unique_endpoint_ports,
    check_unique_names,
)
from fleetdeck.core.inventory.error_messages import describe_validation_error
from fleetdeck.core.inventory.locations import KeyLocations, find_duplicate_key, scan_key_lines
from fleetdeck.core.inventory.models import (
    Deployment,
    Endpoint,
    Fleet,
    Host,
    HostSettings,
    Inventory,
)
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

TOP_LEVEL_KEYS = ("fleet", "defaults", "hosts", "deployments", "endpoints")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_END = re.compile(r"\s*\(at end of document\)$")
_TOML_TABLE_TWICE = re.compile(r"^cannot declare \(([^)]*)\) twice")
# tomllib's terse messages, and the next step for each (matched at the message's start).
_TOML_HINTS = (
    ("illegal character '\\n'", 'a "..." string must end on its line: close the quote'
     ' (or use """...""" for text over several lines)'),
    ("unterminated string", "close the string's quotes"),
    ("invalid value", 'strings need quotes ("..."); true and false are lowercase'),
    ("unescaped '\\'", "write \\\\ for a backslash, or use a 'literal string'"),
    ("invalid initial character for a key part", "a key or a closing } was expected here"
     " (inline tables take no trailing comma)"),
    ("invalid statement", 'each line is key = value, [table] or [[array]]'),
    ("expected newline or end of document", "one key = value per line"),
    ("unclosed array", "close the array with ]"),
)  # fmt: skip
_Model = TypeVar("_Model", bound=BaseModel)


MAX_INVENTORY_BYTES = 1 << 20
"""An inventory is a page of TOML; a larger file is the wrong file (or /dev/zero)."""
MAX_NESTING = 100
"""Arrays and tables nested deeper than this are refused before they are parsed."""


def load_inventory(path: str | Path) -> Inventory:
    """The inventory in `path`; InventoryError listing every problem when it is unusable."""
    file = str(path)

    def refuse(message: str) -> InventoryError:
        return InventoryError([Problem(file, None, "file", message)])

    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_INVENTORY_BYTES + 1)
    except IsADirectoryError:
        raise refuse("cannot read it: it is a directory; name the inventory file in it") from None
    except OSError as exc:
        raise refuse(f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_INVENTORY_BYTES:
        raise refuse(
            f"larger than the 1 MiB an inventory may be ({MAX_INVENTORY_BYTES} bytes);"
            " is it the right file?"
        )
    nul = data.find(b"\0")
    if nul >= 0:
        raise refuse(f"not a text file (a NUL byte at byte {nul}); an inventory is TOML text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    text = text.removeprefix("\ufeff")  # a byte order mark, as some Windows editors write
    if not text.strip():
        raise refuse('the file is empty; an inventory starts with [fleet] and name = "..."')
    return parse_inventory(text, Path(path), display_name=file)


def parse_inventory(text: str, source: Path, display_name: str | None = None) -> Inventory:
    """The inventory in `text`, which was read from `source` (paths resolve against it)."""
    file = display_name if display_name is not None else str(source)
    too_deep = _too_deep_at(text)
    if too_deep is not None:
        message = (
            f"arrays or inline tables nested more than {MAX_NESTING} deep; an inventory"
            " needs a few levels at most"
        )
        raise InventoryError([Problem(file, too_deep, "syntax", message)])
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError([_syntax_problem(file, str(exc), text)]) from None
    return _Validation(file, source.absolute(), document, scan_key_lines(text)).run()


def _too_deep_at(text: str) -> int | None:
    """The line where brackets and braces first nest deeper than MAX_NESTING, or None.

    tomllib parses nesting by recursion; past Python's limit it fails with RecursionError
    instead of a syntax error. Brackets inside strings and comments are counted too, which
    only matters for a document that is already absurd.
    """
    depth = 0
    line = 1
    for char in text:
        if char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "\n":
            line += 1
    return None


def _syntax_problem(file: str, message: str, text: str) -> Problem:
    line: int | None = None
    position = _TOML_POSITION.search(message)
    if position is not None:
        line = int(position.group(1))
        message = message[: position.start()] + f" (column {position.group(2)})"
    elif _TOML_END.search(message):
        message = _TOML_END.sub(" (at end of file)", message)
        line = text.count("\n") + (0 if text.endswith("\n") else 1)
    message = message[:1].lower() + message[1:]
    if message.startswith("cannot overwrite a value"):
        duplicate = find_duplicate_key(text)
        if duplicate is not None:  # tomllib gives no position for a plain key set twice
            path, first, second = duplicate
            return Problem(
                file,
                second,
                format_key_path(path),
                f"set twice (first on line {first}); keep one of them",
            )
        message += "; a key or table is set twice"
    table = _TOML_TABLE_TWICE.match(message)
    if table is not None:  # "cannot declare ('fleet',) twice": say it as written
        name = ".".join(part.strip(" '\"") for part in table.group(1).split(",") if part.strip())
        message = f"[{name}] is declared twice{message[table.end() :]}; merge the two tables"
    hint = next((hint for start, hint in _TOML_HINTS if message.startswith(start)), None)
    return Problem(file, line, "syntax", message + (f"; {hint}" if hint else ""))


_DID_YOU_MEAN = re.compile(r'^unknown key; did you mean "([^"]+)"\?$')


def _without_missing_typos(problems: list[Problem]) -> list[Problem]:
    """`nmae = "t"` is one mistake, not two: "name" missing is left out when an unknown key
    beside it already says `did you mean "name"?`."""
    suggested = set()
    for problem in problems:
        match = _DID_YOU_MEAN.match(problem.message)
        if match is not None:
            table = problem.key_path.rpartition(".")[0]
            suggested.add(f"{table}.{match.group(1)}" if table else match.group(1))
    return [
        problem
        for problem in problems
        if not (
            problem.message.startswith("missing required key") and problem.key_path in suggested
        )
    ]


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
        raw_deployments = self.array("deployments")
        deployments = self.each(raw_deployments, "deployments", Deployment, dict)
        endpoints = self.each(self.array("endpoints"), "endpoints", Endpoint, dict)
        self.extend(check_unique_names("hosts", hosts))
        self.extend(check_unique_names("deployments", deployments))
        self.extend(check_unique_endpoint_ports(deployments))
        self.extend(check_identity_files(hosts))
        if len(deployments) == len(raw_deployments):  # a broken one could be the one named
            self.extend(check_endpoints(endpoints, deployments))
        if len(hosts) == len(raw_hosts):  # a broken host could be the one that matches
            self.extend(check_placements(hosts, deployments))
        if self.problems or fleet is None:
            raise InventoryError(sort_problems(_without_missing_typos(self.problems)))
        return Inventory(
            source=self.source,
            fleet=fleet,
            hosts=tuple(host for _, host in hosts),
            deployments=tuple(deployment for _, deployment in deployments),
            endpoints=tuple(endpoint for _, endpoint in endpoints),
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
