"""One problem found in an inventory, how it is written, and "did you mean" suggestions."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KeyPath = tuple[str | int, ...]
"""A location in the TOML document: table keys and array-of-tables indexes."""

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Problem:
    """Something wrong in the inventory, pinned to a file, a line and a key path."""

    file: str
    line: int | None
    """1-based line where the key (or its table's header) is written; None when no line applies."""
    key_path: str
    """TOML names with [i] for arrays, e.g. `deployments[1].vllm.max_model_len`."""
    message: str

    def format(self) -> str:
        """`FILE:LINE: key.path: message`; LINE is `-` when no line applies."""
        line = "-" if self.line is None else str(self.line)
        return f"{self.file}:{line}: {self.key_path}: {self.message}"


def format_key_path(path: Sequence[str | int]) -> str:
    """Render ("deployments", 1, "vllm", "dtype") as `deployments[1].vllm.dtype`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = part if _BARE_KEY.match(part) else '"' + "".join(map(_escape, part)) + '"'
        text += f".{name}" if text else name
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The allowed name closest to `word`, if one is close enough to be a likely typo.

    Dashes are treated as underscores first because vLLM's own flags use dashes and
    people copy them (`max-model-len` means `max_model_len`).
    """
    options = sorted(set(choices))
    normalized = word.replace("-", "_").lower()
    if normalized in options:
        return normalized
    matches = difflib.get_close_matches(normalized, options, n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_key_message(word: str, choices: Iterable[str]) -> str:
    """`unknown key; did you mean "x"?`, or the list of allowed keys when nothing is close."""
    options = sorted(set(choices))
    suggestion = did_you_mean(word, options)
    if suggestion is not None:
        return f'unknown key; did you mean "{suggestion}"?'
    if not options:
        return "unknown key; this table takes no keys"
    return "unknown key; allowed keys: " + ", ".join(options)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """File order, so the first line a person reads is the first one to fix."""
    unique = dict.fromkeys(problems)  # a key reached twice (e.g. via [defaults]) is told once
    return sorted(unique, key=lambda p: (p.file, p.line if p.line is not None else 1 << 30))


def show_value(value: object) -> str:
    """A value as it would be written in TOML, shortened, for "got ..." in messages."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = '"' + "".join(_escape(char) for char in value) + '"'
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, list | tuple):
        text = "an array"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    """A character as a TOML basic string writes it: control characters never printed raw
    (a newline in a message would forge a line of its own)."""
    if char in _ESCAPES:
        return _ESCAPES[char]
    if unicodedata.category(char) in ("Cc", "Cf"):  # Cf: bidi controls, zero-width spaces
        return f"\\u{ord(char):04X}"
    return char
