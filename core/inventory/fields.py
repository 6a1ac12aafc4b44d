"""The base model and the field types shared by several inventory tables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from fleetdeck.core.inventory.problems import show_value

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


class InventoryModel(BaseModel):
    """Immutable, rejects unknown keys, and never converts types (TOML has real types).

    Field docstrings become the descriptions in `fleetdeck schema`, i.e. editor help.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
    )


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


def key_error(key: str, message: str) -> PydanticCustomError:
    """An error raised by a model-level check but about one of its keys.

    Model validators can only fail the whole table; the translator appends `key` to the
    location so the message points at the line where that key is written.
    """
    return PydanticCustomError(KEY_ERROR_TYPE, "{message}", {"key": key, "message": message})
