"""The base model and the field types shared by several inventory tables."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from fleetdeck.core.export.address import parse_metrics_address
from fleetdeck.core.inventory.problems import show_value

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_FLEET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_HOSTNAME = re.compile(
    r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?"
)
_CURRENCY = re.compile(r"[A-Z]{3}")
_USER = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._@-]{0,63}")
# Bidirectional controls: shown in a status line or a log, they make a value read as
# something it is not ("Trojan Source"); no model, path or flag needs them.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

MAX_REPLICAS = 1024
"""The most replicas a deployment may ask for (replicas, autoscale.max, `scale`): more is
a typo, and planning that many would take the engine minutes."""


class InventoryModel(BaseModel):
    """Immutable, rejects unknown keys, and never converts types (TOML has real types).

    Field docstrings become the descriptions in `fleetdeck schema`, i.e. editor help,
    and the console form's help: field_docs.document_fields() fills them in there.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
    )

    TEXT_FIELDS: ClassVar[frozenset[str]] = frozenset()
    """Fields whose strings may hold newlines and tabs: they reach the host as JSON
    (env values, vLLM arguments such as a chat template), never a log or a shell."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        """Strings reach hosts' argv, env files and logs: a newline there forges a log
        line, a NUL breaks the host's exec. Nested tables check their own strings."""
        allowed = "\n\t" if info.field_name in cls.TEXT_FIELDS else ""
        check_no_control_characters(value, allowed)
        return value


def _control_character(text: str, allowed: str) -> str | None:
    """The first control character not `allowed`; bidi controls count unless newlines are
    allowed (free text such as a chat template may be right-to-left)."""
    bidi = _BIDI if not allowed else frozenset()
    return next(
        (
            char
            for char in text
            if (unicodedata.category(char) == "Cc" and char not in allowed) or char in bidi
        ),
        None,
    )


def check_no_control_characters(value: Any, allowed: str = "") -> None:
    """ValueError when a string in `value` (a string, a path, an array or a table of them)
    holds a control character (a newline, a tab, NUL, ESC...) other than those `allowed`;
    a table's keys may never hold one."""
    if isinstance(value, str | Path):
        text = str(value)
        char = _control_character(text, allowed)
        if char is not None:
            other = " other than newlines and tabs" if allowed else ""
            raise ValueError(
                f"must not contain control characters{other} (found {show_char(char)}):"
                " the value reaches"
                f" hosts, their command lines and logs; got {show_value(text)}"
            )
    elif isinstance(value, tuple | list):
        for item in value:
            check_no_control_characters(item, allowed)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_no_control_characters(key)
            check_no_control_characters(item, allowed)


def show_char(char: str) -> str:
    """A control character as a person names it: "a newline", "NUL", "U+001B"."""
    names = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab", "\0": "NUL"}
    if char in _BIDI:
        return f"the bidirectional control U+{ord(char):04X}"
    return names.get(char, f"U+{ord(char):04X}")


def check_address(value: str) -> str:
    """A DNS name, an ~/.ssh/config Host alias or an IP literal: it reaches ssh and bind
    calls, and never starts with "-" (an option to some tool)."""
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if len(value) > 253 or not _HOSTNAME.fullmatch(value):
        raise ValueError(
            'must be a hostname (letters, digits, "-", "_" and dots) or an IP'
            f" address; got {show_value(value)}"
        )
    return value


def check_user(value: str) -> str:
    """A login name: it reaches ssh, messages and suggested command lines."""
    if not _USER.fullmatch(value):
        raise ValueError(
            'user names use 1 to 64 of letters, digits, ".", "_", "-" and "@", not'
            f' starting with "-" or "@"; got {show_value(value)}'
        )
    return value


def check_currency(value: str) -> str:
    """An ISO 4217 code's shape: it is shown beside figures, never looked up."""
    if not _CURRENCY.fullmatch(value):
        raise ValueError(
            'must be an ISO 4217 currency code: three capital letters such as "USD" or'
            f' "EUR"; got {show_value(value)}'
        )
    return value


def check_fleet_name(value: str) -> str:
    """The fleet name becomes the user state directory's name: no "/", no "..", no spaces."""
    if not _FLEET_NAME.fullmatch(value) or len(value) > 63:
        raise ValueError(
            'fleet names use 1 to 63 of A-Z, a-z, 0-9, ".", "_" and "-", starting with a'
            " letter or digit (the name becomes a directory name); got"
            f" {show_value(value)}"
        )
    return value


def check_metrics_address(value: str) -> str:
    """[fleet] metrics_address: HOST:PORT or a port (core/export/address.py says how)."""
    parse_metrics_address(value)  # its ValueError says what is wrong
    return value


def check_name(value: str, what: str, max_length: int) -> str:
    """Names become directory, process and argv parts on hosts: keep them boring."""
    if not _NAME.fullmatch(value) or len(value) > max_length:
        raise ValueError(
            f'{what} names use 1 to {max_length} of a-z, 0-9 and "-", not starting with'
            f' "-" (they become file and process names on hosts); got {show_value(value)}'
        )
    return value


def _check_env_names(env: dict[str, str]) -> dict[str, str]:
    for name in env:
        check_env_name(name)
    return env


def check_env_name(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise ValueError(
            f"{show_value(name)} is not a valid environment variable name"
            " (letters, digits and _, not starting with a digit)"
        )
    return name


def _to_path(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a path (a string), got {show_value(value)}")
    if not value.strip():
        raise ValueError("expected a path, got an empty string")
    return Path(value)


def _local_path(value: Path, info: ValidationInfo) -> Path:
    """`~` is expanded; a relative path is relative to the inventory file, not the cwd."""
    path = value.expanduser()
    base = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if not path.is_absolute() and isinstance(base, Path):
        path = base / path
    return path


LocalPath = Annotated[
    Path,
    BeforeValidator(_to_path),
    AfterValidator(_local_path),
    WithJsonSchema({"type": "string", "minLength": 1}),
]
"""A path on the console's machine (~ expanded, relative to the inventory file)."""

EnvName = Annotated[str, AfterValidator(check_env_name)]
EnvMap = Annotated[dict[str, str], AfterValidator(_check_env_names)]
Labels = dict[str, str]
NonNegativeInt = Annotated[int, Field(ge=0)]

KEY_ERROR_TYPE = "fleetdeck_key"


def key_error(key: str | tuple[str | int, ...], message: str) -> PydanticCustomError:
    """An error raised by a model-level check but about one of its keys.

    Model validators can only fail the whole table; the translator appends `key` to the
    location so the message points at the line where that key is written (a tuple: a key
    inside it, e.g. ("backends", 1, "deployment")).
    """
    return PydanticCustomError(KEY_ERROR_TYPE, "{message}", {"key": key, "message": message})
