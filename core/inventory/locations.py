"""Where each key of a TOML document is written.

tomllib returns plain dicts without positions, so this scanner walks the text once more
and records the line of every key path: table headers, `[[array]]` tables with their
running index, dotted keys, inline tables and arrays (each element at its own line).
It only runs on text that tomllib already accepted, so it can be lenient; on anything
it does not understand it stops and keeps what it found, and lookups fall back to the
nearest enclosing table.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

from fleetdeck.core.inventory.problems import KeyPath

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}#\n]")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", "e": "\x1b"}
_ESCAPES |= {'"': '"', "\\": "\\"}


class _ScanStopped(Exception):
    """The text is not TOML this scanner understands; keep the lines found so far."""


class KeyLocations:
    """Line numbers of key paths, looked up exactly or by nearest written ancestor."""

    def __init__(self, lines: dict[KeyPath, int]) -> None:
        self._lines = dict(lines)

    def exact(self, path: Sequence[str | int]) -> int | None:
        """The line where exactly this key (or table header) is written, if it is."""
        return self._lines.get(tuple(path))

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of `path`, else of its nearest ancestor that is written in the file.

        A missing key thus points at the header of the table it belongs in.
        """
        parts = tuple(path)
        while parts:
            line = self._lines.get(parts)
            if line is not None:
                return line
            parts = parts[:-1]
        return None

    def __contains__(self, path: object) -> bool:
        return path in self._lines


def scan_key_lines(text: str) -> KeyLocations:
    """Map every key path written in `text` (valid TOML) to its 1-based line."""
    scanner = _Scanner(text)
    with contextlib.suppress(_ScanStopped, IndexError):
        scanner.document()
    return KeyLocations(scanner.lines)


def find_duplicate_key(text: str) -> tuple[KeyPath, int, int] | None:
    """The first key written twice in one table: (key path, first line, second line).

    tomllib refuses such a document with "Cannot overwrite a value" and, for a plain
    key, no position; this says where. The text need not be valid TOML: the scan stops
    where it stops understanding it.
    """
    scanner = _Scanner(text)
    with contextlib.suppress(_ScanStopped, IndexError):
        scanner.document()
    return scanner.duplicate


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[KeyPath, int] = {}
        self.array_counts: dict[KeyPath, int] = {}
        self.assigned: dict[KeyPath, int] = {}  # key = value lines, by full key path
        self.duplicate: tuple[KeyPath, int, int] | None = None

    # -- low level -------------------------------------------------------------------

    def startswith(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def advance(self, count: int = 1) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + count)
        self.pos += count

    def expect(self, token: str) -> None:
        if not self.startswith(token):
            raise _ScanStopped(f"expected {token!r} at line {self.line}")
        self.advance(len(token))

    def skip_space(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (char == "\n" and newlines):
                self.advance()
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end == -1 else end
            else:
                return

    def record(self, path: KeyPath, line: int) -> None:
        self.lines.setdefault(path, line)

    # -- structure -------------------------------------------------------------------

    def document(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip_space(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.startswith("[["):
                table = self.array_table_header()
            elif self.startswith("["):
                table = self.table_header()
            else:
                self.key_value(table)

    def resolve(self, parts: Sequence[str]) -> KeyPath:
        """Key names to a path, inserting the current index after every array of tables."""
        path: KeyPath = ()
        for part in parts:
            path = (*path, part)
            count = self.array_counts.get(path)
            if count is not None:
                path = (*path, count - 1)
        return path

    def table_header(self) -> KeyPath:
        line = self.line
        self.expect("[")
        parts = self.key()
        self.expect("]")
        path = self.resolve(parts)
        self.record(path, line)
        return path

    def array_table_header(self) -> KeyPath:
        line = self.line
        self.expect("[[")
        parts = self.key()
        self.expect("]]")
        array = (*self.resolve(parts[:-1]), parts[-1])
        index = self.array_counts.get(array, 0)
        self.array_counts[array] = index + 1
        path = (*array, index)
        self.record(array, line)
        self.record(path, line)
        return path

    def key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip_space(newlines=False)
            if self.startswith('"'):
                parts.append(self.basic_string())
            elif self.startswith("'"):
                parts.append(self.literal_string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if match is None:
                    raise _ScanStopped(f"no key at line {self.line}")
                parts.append(match.group())
                self.advance(len(match.group()))
            self.skip_space(newlines=False)
            if not self.startswith("."):
                return parts
            self.advance()

    def key_value(self, table: KeyPath) -> None:
        line = self.line
        parts = self.key()
        for end in range(1, len(parts) + 1):
            self.record((*table, *parts[:end]), line)
        full = (*table, *parts)
        if full in self.assigned and self.duplicate is None:
            self.duplicate = (full, self.assigned[full], line)
        self.assigned.setdefault(full, line)
        self.expect("=")
        self.skip_space(newlines=False)
        self.value((*table, *parts))

    def value(self, path: KeyPath) -> None:
        if self.startswith('"""') or self.startswith("'''"):
            self.multiline_string()
        elif self.startswith('"'):
            self.basic_string()
        elif self.startswith("'"):
            self.literal_string()
        elif self.startswith("["):
            self.array(path)
        elif self.startswith("{"):
            self.inline_table(path)
        else:
            match = _SCALAR_END.search(self.text, self.pos)
            end = len(self.text) if match is None else match.start()
            if end == self.pos:
                raise _ScanStopped(f"no value at line {self.line}")
            self.advance(end - self.pos)

    def array(self, path: KeyPath) -> None:
        self.expect("[")
        index = 0
        while True:
            self.skip_space(newlines=True)
            if self.startswith("]"):
                self.advance()
                return
            self.record((*path, index), self.line)
            self.value((*path, index))
            index += 1
            self.skip_space(newlines=True)
            if self.startswith(","):
                self.advance()

    def inline_table(self, path: KeyPath) -> None:
        self.expect("{")
        while True:
            self.skip_space(newlines=True)
            if self.startswith("}"):
                self.advance()
                return
            self.key_value(path)
            self.skip_space(newlines=True)
            if self.startswith(","):
                self.advance()

    # -- strings ---------------------------------------------------------------------

    def basic_string(self) -> str:
        self.expect('"')
        chars: list[str] = []
        while not self.startswith('"'):
            char = self.text[self.pos]
            if char == "\n":
                raise _ScanStopped(f"unterminated string at line {self.line}")
            if char != "\\":
                chars.append(char)
                self.advance()
                continue
            code = self.text[self.pos + 1]
            if code in "uU":
                width = 4 if code == "u" else 8
                chars.append(chr(int(self.text[self.pos + 2 : self.pos + 2 + width], 16)))
                self.advance(2 + width)
            else:
                chars.append(_ESCAPES.get(code, code))
                self.advance(2)
        self.advance()
        return "".join(chars)

    def literal_string(self) -> str:
        self.expect("'")
        end = self.text.find("'", self.pos)
        if end == -1 or "\n" in self.text[self.pos : end]:
            raise _ScanStopped(f"unterminated string at line {self.line}")
        content = self.text[self.pos : end]
        self.advance(end + 1 - self.pos)
        return content

    def multiline_string(self) -> None:
        quote = self.text[self.pos]
        self.advance(3)
        while self.pos < len(self.text):
            if quote == '"' and self.startswith("\\"):
                self.advance(2)
            elif self.startswith(quote * 3):
                run = 3
                while run < 5 and self.text.startswith(quote, self.pos + run):
                    run += 1  # up to two quotes right before the closing ones are content
                self.advance(run)
                return
            else:
                self.advance()
        raise _ScanStopped("unterminated multi-line string")
