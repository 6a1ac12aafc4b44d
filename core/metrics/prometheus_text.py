"""Prometheus text exposition format (0.0.4), only as far as a vLLM /metrics page needs.

Lines are filtered by name first (`keep_lines`), so the parser sees ~100 lines of a
~600-line page. A line that does not parse is counted and skipped, never fatal: one odd
line from a future vLLM must not blank a replica's metrics.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

Labels = tuple[tuple[str, str], ...]

# A quoted label value, unrolled ("a*(\\.a*)*") because an alternation per character
# makes Python's re twice as slow on these lines.
_QUOTED = r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
_PAIR = r"[a-zA-Z_]\w*[ \t]*=[ \t]*" + _QUOTED
_LINE = re.compile(
    r"([a-zA-Z_:][\w:]*)"  # name
    r"(?:\{[ \t]*((?:" + _PAIR + r"[ \t]*,[ \t]*)*(?:" + _PAIR + r")?)[ \t]*\})?"  # {labels}
    r"[ \t]+(\S+)"  # value
    r"(?:[ \t]+-?\d+)?[ \t]*",  # timestamp (ignored)
    re.ASCII,
)
_LABEL = re.compile(r'([a-zA-Z_]\w*)[ \t]*=[ \t]*"([^"\\\n]*(?:\\.[^"\\\n]*)*)"', re.ASCII)
_ESCAPE = re.compile(r"\\(.)")
_ESCAPED = {"n": "\n", "\\": "\\", '"': '"'}


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: Labels
    value: float

    def label(self, name: str) -> str | None:
        return next((value for key, value in self.labels if key == name), None)


@dataclass(frozen=True, slots=True)
class ParsedLines:
    samples: tuple[Sample, ...]
    bad_lines: int


def keep_lines(text: str, prefixes: tuple[str, ...], names: Collection[str]) -> list[str]:
    """The sample lines whose metric name is in `names`; `prefixes` is a cheap pre-test."""
    kept = []
    for line in text.splitlines():
        if line.startswith(prefixes) and _line_name(line) in names:
            kept.append(line)
    return kept


def parse_lines(lines: Iterable[str]) -> ParsedLines:
    """Every sample line parsed; comments and blank lines skipped, bad lines counted."""
    samples = []
    bad = 0
    for line in lines:
        if not line or line.startswith("#") or line.isspace():
            continue
        sample = parse_sample(line)
        if sample is None:
            bad += 1
        else:
            samples.append(sample)
    return ParsedLines(tuple(samples), bad)


def parse_sample(line: str) -> Sample | None:
    """`name{label="value",...} value [timestamp]`, or None if the line is not that."""
    match = _LINE.fullmatch(line)
    if match is None:
        return None
    name, label_text, value_text = match.groups()
    value = parse_value(value_text)
    if value is None:
        return None
    labels: Labels = ()
    if label_text:
        labels = tuple(
            (key, _ESCAPE.sub(_unescape, raw) if "\\" in raw else raw)
            for key, raw in _LABEL.findall(label_text)
        )
    return Sample(name, labels, value)


def parse_value(text: str) -> float | None:
    """A sample value: decimal, exponent, +Inf/-Inf/NaN. None for anything else."""
    if "_" in text:  # float() accepts "1_000"; the exposition format does not.
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _unescape(match: re.Match[str]) -> str:
    char = match.group(1)
    return _ESCAPED.get(char, "\\" + char)


def _line_name(line: str) -> str:
    """The metric name a sample line starts with (up to `{` or whitespace)."""
    end = len(line)
    for stop in ("{", " ", "\t"):
        found = line.find(stop, 0, end)
        if found != -1:
            end = found
    return line[:end]
