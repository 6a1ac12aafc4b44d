"""The key-path -> line scanner that gives tomllib's dicts their line numbers back."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from fleetdeck.core.inventory.locations import scan_key_lines

EXAMPLE = Path(__file__).parents[2] / "examples" / "fleet.toml"
BROKEN = Path(__file__).parent / "broken_inventories"

DOCUMENT = '''\
title = "x"          # line 1
[fleet]
name = "lab"

[[hosts]]
name = "a"
labels = { zone = "eu", "gpu kind" = "h100" }
note = """
[[hosts]]
name = "not a table"
"""
literal = \'\'\'
x = 1 \'\'\'
[[hosts]]
name = "b"
ports = [
  8100,
  [1, 2],
  { x = 1 },
]
placement.labels.zone = "us"

[hosts.simulate]
gpus = 2

[[deployments]]
name = "d0"
[deployments.vllm]
dtype = "auto"

[[deployments]]
name = "d1"
[[deployments.routes]]
path = "/a"
[[deployments.routes]]
path = "/b"
'''


def test_scanned_document_is_valid_toml() -> None:
    assert tomllib.loads(DOCUMENT)["hosts"][1]["simulate"] == {"gpus": 2}


def test_top_level_keys_and_tables() -> None:
    lines = scan_key_lines(DOCUMENT)
    assert lines.exact(("title",)) == 1
    assert lines.exact(("fleet",)) == 2
    assert lines.exact(("fleet", "name")) == 3


def test_array_tables_count_and_multiline_strings_are_skipped() -> None:
    lines = scan_key_lines(DOCUMENT)
    assert lines.exact(("hosts", 0)) == 5
    assert lines.exact(("hosts", 0, "name")) == 6
    assert lines.exact(("hosts", 0, "note")) == 8
    assert lines.exact(("hosts", 0, "literal")) == 12
    assert lines.exact(("hosts", 1)) == 14  # not the [[hosts]] inside the string
    assert lines.exact(("hosts", 1, "name")) == 15
    assert lines.exact(("hosts", 2)) is None


def test_inline_tables_map_to_their_key_line() -> None:
    lines = scan_key_lines(DOCUMENT)
    assert lines.exact(("hosts", 0, "labels")) == 7
    assert lines.exact(("hosts", 0, "labels", "zone")) == 7
    assert lines.exact(("hosts", 0, "labels", "gpu kind")) == 7


def test_multiline_array_elements_have_their_own_lines() -> None:
    lines = scan_key_lines(DOCUMENT)
    assert lines.exact(("hosts", 1, "ports")) == 16
    assert lines.exact(("hosts", 1, "ports", 0)) == 17
    assert lines.exact(("hosts", 1, "ports", 1, 1)) == 18
    assert lines.exact(("hosts", 1, "ports", 2, "x")) == 19


def test_dotted_keys_record_every_prefix() -> None:
    lines = scan_key_lines(DOCUMENT)
    assert lines.exact(("hosts", 1, "placement")) == 21
    assert lines.exact(("hosts", 1, "placement", "labels", "zone")) == 21


def test_subtables_attach_to_the_latest_array_entry() -> None:
    lines = scan_key_lines(DOCUMENT)
    assert lines.exact(("hosts", 1, "simulate")) == 23
    assert lines.exact(("hosts", 1, "simulate", "gpus")) == 24
    assert lines.exact(("deployments", 0, "vllm", "dtype")) == 29
    assert lines.exact(("deployments", 1, "name")) == 32


def test_nested_array_tables_count_per_parent() -> None:
    lines = scan_key_lines(DOCUMENT)
    assert lines.exact(("deployments", 1, "routes", 0, "path")) == 34
    assert lines.exact(("deployments", 1, "routes", 1, "path")) == 36
    assert lines.exact(("deployments", 0, "routes", 0)) is None


def test_missing_key_falls_back_to_its_table_header() -> None:
    lines = scan_key_lines(DOCUMENT)
    assert lines.line_of(("deployments", 0, "model")) == 26
    assert lines.line_of(("deployments", 0, "vllm", "max_model_len")) == 28
    assert lines.line_of(("nowhere",)) is None


def test_crlf_and_escaped_quoted_keys() -> None:
    text = '[a]\r\n"k\\"ey" = 1\r\n\'lit.key\' = 2\r\nb = "x\\"#y" # c\r\n'
    assert tomllib.loads(text)["a"] == {'k"ey': 1, "lit.key": 2, "b": 'x"#y'}
    lines = scan_key_lines(text)
    assert lines.exact(("a", 'k"ey')) == 2
    assert lines.exact(("a", "lit.key")) == 3
    assert lines.exact(("a", "b")) == 4


def test_multiline_basic_string_with_escaped_and_extra_quotes() -> None:
    text = 'a = """x \\""" y\n z""""\nb = 1\n'
    assert tomllib.loads(text)["b"] == 1
    assert scan_key_lines(text).exact(("b",)) == 3


def test_text_it_cannot_follow_keeps_what_it_found() -> None:
    lines = scan_key_lines("a = 1\n= broken\nb = 2\n")
    assert lines.exact(("a",)) == 1
    assert lines.exact(("b",)) is None


def test_spaced_headers_and_trailing_comments() -> None:
    text = '[ a . "b" ]  # header comment\nk = [ [1, 2], [ {x = 1} ] ] # c\n[[ c . d ]]\ny = 1\n'
    assert tomllib.loads(text)["a"]["b"]["k"][1][0] == {"x": 1}
    lines = scan_key_lines(text)
    assert lines.exact(("a", "b")) == 1
    assert lines.exact(("a", "b", "k", 1, 0, "x")) == 2
    assert lines.exact(("c", "d", 0, "y")) == 4


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _valid_toml_files() -> list[Path]:
    candidates = [EXAMPLE, *sorted(BROKEN.glob("*.toml"))]
    valid = []
    for path in candidates:
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            continue  # broken on purpose
        valid.append(path)
    return valid


@pytest.mark.parametrize("path", _valid_toml_files(), ids=lambda path: path.name)
def test_every_key_tomllib_sees_has_a_line(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    document = tomllib.loads(text)
    lines = scan_key_lines(text)
    text_lines = text.splitlines()
    for key_path in _paths(document):
        line = lines.exact(key_path)
        assert line is not None, key_path
        last = key_path[-1]
        if isinstance(last, str) and last.isidentifier():  # the key is written on its line
            assert last in text_lines[line - 1], (key_path, line)
