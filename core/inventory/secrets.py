"""Secret references: the inventory says where a secret is, never what it is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import model_validator

from fleetdeck.core.errors import SecretError
from fleetdeck.core.inventory.fields import EnvName, InventoryModel, LocalPath

PLAIN_SECRET_MESSAGE = (
    'secrets are references: write { env = "NAME" } or { file = "PATH" }'
    " and keep the value itself out of the inventory"
)


class SecretRef(InventoryModel):
    """Where a secret lives: an environment variable or a file on the console's machine."""

    env: EnvName | None = None
    """Environment variable that holds the secret, read where fleetdeck runs."""
    file: LocalPath | None = None
    """File that holds the secret (trailing newline ignored); relative to the inventory."""

    @model_validator(mode="before")
    @classmethod
    def _reference_not_value(cls, data: Any) -> Any:
        if isinstance(data, str):  # never echo `data`: it is probably the secret itself
            raise ValueError(PLAIN_SECRET_MESSAGE)
        return data

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError('write exactly one of { env = "NAME" } or { file = "PATH" }')
        return self

    def describe(self) -> str:
        """`env:NAME` or `file:PATH`: safe to print, says where the value comes from."""
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"

    def resolve(self, key_path: str) -> str:
        """The secret's value; SecretError naming `key_path` when it cannot be had."""
        title = f"secret {key_path} ({self.describe()}) is not available"
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise SecretError(
                    title,
                    f"environment variable {self.env} is not set",
                    f"export {self.env}=... in the shell that runs fleetdeck,"
                    f' or point {key_path} at a file with {{ file = "PATH" }}',
                )
            return _non_empty(value.rstrip("\r\n"), title, f"variable {self.env}")
        assert self.file is not None  # guaranteed by _exactly_one_source
        return _non_empty(_read_secret_file(self.file, key_path, title), title, str(self.file))

    def __repr__(self) -> str:
        return f"SecretRef({self.describe()})"


def _read_secret_file(path: Path, key_path: str, title: str) -> str:
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SecretError(
            title,
            f"cannot read {path}: {reason}",
            f"put the secret in {path} (chmod 600), or fix {key_path}.file",
        ) from exc


def _non_empty(value: str, title: str, source: str) -> str:
    if not value.strip():
        raise SecretError(title, f"{source} is empty", f"put the secret into {source}")
    return value


def mask_secret(value: str) -> str:
    """`sk-…f3a9`: enough to tell two keys apart, never more than a quarter of one."""
    if len(value) < 16:
        return "****"
    if len(value) < 28:
        return f"…{value[-4:]}"
    return f"{value[:3]}…{value[-4:]}"
