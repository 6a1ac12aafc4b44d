"""The console's command table, its parsing, fuzzy matching, completion and palette entries
(pure functions), the remembered preferences, and the themes the CLI offers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.color import Color

from fleetdeck.registry import CONSOLE_THEMES
from fleetdeck.themes import FLEETDECK_HIGH_CONTRAST, THEME_NAMES, THEMED_VARIABLES, THEMES
from fleetdeck.tui.commands import (
    COMMANDS,
    Invocation,
    Jump,
    Names,
    ParseError,
    available_commands,
    complete,
    fuzzy_rank,
    fuzzy_score,
    palette_entries,
    parse,
)
from fleetdeck.tui.preferences import Preferences, PreferencesFile

NAMES = Names(
    deployments=("llama8b", "qwen", "mistral"),
    hosts=("gpu-a", "gpu-b"),
    themes=("fleetdeck-dark", "fleetdeck-light"),
)
BY_NAME = {command.name: command for command in COMMANDS}


@pytest.mark.parametrize(
    ("line", "action", "args"),
    [
        ("scale llama8b 3", "scale_to", ("llama8b", 3)),
        (":scale qwen 0", "scale_to", ("qwen", 0)),
        ("start qwen", "start", ("qwen",)),
        ("stop mistral", "stop", ("mistral",)),
        ("  restart llama8b ", "restart", ("llama8b",)),
        ("hosts", "hosts", ()),
        ("logs qwen", "open_logs", ("qwen",)),
        ("events", "toggle_events", ()),
        ("theme fleetdeck-light", "set_theme", ("fleetdeck-light",)),
        ("help", "help", ()),
        ("quit", "quit", ()),
    ],
)
def test_every_command_parses_to_its_action(line: str, action: str, args: tuple[object]) -> None:
    parsed = parse(line, COMMANDS, NAMES)
    assert isinstance(parsed, Invocation)
    assert (parsed.command.action, parsed.args) == (action, args)


def test_a_bare_name_jumps_to_that_deployment_or_host() -> None:
    assert parse("qwen", COMMANDS, NAMES) == Jump("deployment", "qwen")
    assert parse(":gpu-b", COMMANDS, NAMES) == Jump("host", "gpu-b")


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("", "type a command"),
        ("scale llama8b", "usage: :scale NAME N"),
        ("scale llama8b three", "N is a whole number"),
        ("scale llama8b -1", "N is a whole number"),
        ("stop lama", "no deployment 'lama': did you mean llama8b?"),
        ("theme neon", "no theme 'neon'"),
        ("scl", "no command or name 'scl': did you mean scale?"),
        ("stop llama8b now", "usage: :stop NAME"),
    ],
)
def test_what_does_not_parse_says_why(line: str, says: str) -> None:
    parsed = parse(line, COMMANDS, NAMES)
    assert isinstance(parsed, ParseError)
    assert says in parsed.message


def test_an_unavailable_command_says_why_rather_than_unknown() -> None:
    offered = [c for c in COMMANDS if c.name != "stop"]
    parsed = parse("stop qwen", offered, NAMES, {"stop": "this console is read-only"})
    assert parsed == ParseError("stop is not available: this console is read-only")


def test_fuzzy_prefers_prefixes_then_runs_then_scattered_letters() -> None:
    assert fuzzy_score("", "x") == 0
    assert fuzzy_score("zz", "llama8b") is None
    assert fuzzy_score("LL", "llama8b") == fuzzy_score("ll", "llama8b")
    assert fuzzy_rank("st", ["restart", "start", "stop", "hosts"]) == [
        "stop",
        "start",
        "hosts",
        "restart",
    ]
    assert fuzzy_rank("l8", ["llama8b", "qwen"]) == ["llama8b"]


def test_completion_offers_commands_and_names_then_each_arguments_names() -> None:
    first = [c.line for c in complete("s", COMMANDS, NAMES)]
    assert first[:2] == ["stop ", "scale "]
    # A name is a jump (here the commands that contain an "s" fill the first eight).
    assert "mistral" in [c.line for c in complete("mi", COMMANDS, NAMES)]
    assert [c.line for c in complete("stop q", COMMANDS, NAMES)] == ["stop qwen"]
    # The first of two arguments leaves a space for the next; a count is typed, not listed.
    assert [c.line for c in complete("scale ll", COMMANDS, NAMES)] == ["scale llama8b "]
    assert complete("scale llama8b ", COMMANDS, NAMES) == []
    assert complete("nosuch x", COMMANDS, NAMES) == []
    assert [c.line for c in complete("theme li", COMMANDS, NAMES)] == ["theme fleetdeck-light"]


def test_the_palette_spells_each_command_out_for_every_name() -> None:
    entries = {e.text: e for e in palette_entries(COMMANDS, NAMES)}
    assert entries["stop qwen"].runs and entries["stop qwen"].line == "stop qwen"
    scale = entries["scale qwen N"]
    assert not scale.runs and scale.line == "scale qwen ", "the count is typed on the line"
    assert entries["help"].runs
    assert entries["go to llama8b"].line == "llama8b"
    assert entries["go to host gpu-a"].line == "gpu-a"
    assert entries["theme fleetdeck-dark"].runs
    # With no deployments yet, an entry still opens the line for the name to be typed.
    empty = {e.text: e for e in palette_entries(COMMANDS, Names())}
    assert not empty["stop NAME"].runs


def test_an_entry_whose_action_the_app_lacks_is_hidden_and_read_only_hides_changes() -> None:
    def has(action: str) -> bool:
        return action not in {"hosts", "open_logs"}

    names = [c.name for c in available_commands(COMMANDS, has, readonly=False)]
    assert "hosts" not in names and "logs" not in names and "stop" in names
    readonly = [c.name for c in available_commands(COMMANDS, lambda _a: True, readonly=True)]
    assert readonly == ["hosts", "routes", "logs", "events", "theme", "help", "quit"]
    changes = {"scale", "start", "route", "stop", "restart", "new", "edit", "clone", "trust"}
    assert {c.name for c in COMMANDS if c.changes_fleet} == changes


# -- preferences -------------------------------------------------------------------------
def test_preferences_are_written_atomically_and_read_back(tmp_path: Path) -> None:
    store = PreferencesFile(tmp_path / "fleetdeck" / "console.json")
    assert store.load().preferences == Preferences() and store.load().problem is None
    store.save(Preferences(theme="fleetdeck-light"))
    assert store.load().preferences.theme == "fleetdeck-light"
    assert json.loads(store.path.read_text()) == {"theme": "fleetdeck-light"}
    assert [p.name for p in store.path.parent.iterdir()] == ["console.json"], "no temp file left"


@pytest.mark.parametrize("text", ["{not json", '["a"]', '{"theme": 3}'])
def test_a_broken_preferences_file_is_a_problem_not_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "console.json"
    path.write_text(text)
    loaded = PreferencesFile(path).load()
    assert loaded.preferences == Preferences()
    assert loaded.problem is not None and str(path) in loaded.problem


# -- themes ------------------------------------------------------------------------------
def test_the_cli_offers_exactly_the_registered_themes() -> None:
    assert CONSOLE_THEMES == THEME_NAMES
    assert len(THEMES) >= 3


@pytest.mark.parametrize("theme", THEMES, ids=lambda t: t.name)
def test_every_theme_defines_every_variable_of_its_own(theme: object) -> None:
    assert set(THEMED_VARIABLES) <= set(theme.variables)  # type: ignore[attr-defined]


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    parsed = Color.parse(colour)
    return 0.2126 * channel(parsed.r) + 0.7152 * channel(parsed.g) + 0.0722 * channel(parsed.b)


def test_high_contrast_is_black_and_white_with_statuses_above_7_to_1() -> None:
    theme = FLEETDECK_HIGH_CONTRAST
    assert theme.background is not None and theme.foreground is not None
    assert _luminance(theme.background) == 0.0 and _luminance(theme.foreground) == 1.0
    for variable in THEMED_VARIABLES:
        if variable == "log-match-text":
            continue  # drawn on log-match, not on the background: checked below
        ratio = (_luminance(theme.variables[variable]) + 0.05) / 0.05
        assert ratio >= 7, f"{variable}: contrast {ratio:.1f}:1"
    match = _luminance(theme.variables["log-match"]) + 0.05
    text = _luminance(theme.variables["log-match-text"]) + 0.05
    assert max(match, text) / min(match, text) >= 7, "a search match stays readable"
