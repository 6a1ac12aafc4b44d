"""The console's commands, declared once: the `:` command line, the ctrl+p palette and the
`?` help are all built from `COMMANDS`.

Everything here is pure: parsing a command line, fuzzy matching, completion and the
palette's entries take the command table and the names in the current snapshot, and
return values. The app decides what is available (an entry whose action it lacks, or
one that changes the fleet in a read-only console, is left out) and runs the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

ArgKind = Literal["deployment", "host", "count", "theme", "endpoint"]
JumpKind = Literal["deployment", "host"]


@dataclass(frozen=True)
class Arg:
    label: str
    """How usage shows it: NAME, N, THEME."""
    kind: ArgKind


@dataclass(frozen=True)
class ConsoleCommand:
    name: str
    args: tuple[Arg, ...]
    help: str
    action: str
    """The app method `action_<action>` it calls, with the parsed arguments in order."""
    changes_fleet: bool = False
    """Hidden in a read-only console."""

    @property
    def usage(self) -> str:
        return " ".join([self.name, *(arg.label for arg in self.args)])


_NAME = Arg("NAME", "deployment")

COMMANDS: tuple[ConsoleCommand, ...] = (
    ConsoleCommand("scale", (_NAME, Arg("N", "count")),
                   "set a deployment's replica count (0 asks first)", "scale_to", True),
    ConsoleCommand("start", (_NAME,), "start a deployment at its inventory count", "start", True),
    ConsoleCommand("route", (Arg("ENDPOINT", "endpoint"), Arg("DEPLOYMENT", "deployment")),
                   "blue-green: all of an endpoint's traffic to one of its backends",
                   "route_to", True),
    ConsoleCommand("stop", (_NAME,), "stop every replica of a deployment (asks first)",
                   "stop", True),
    ConsoleCommand("restart", (_NAME,), "rolling restart of a deployment (asks first)",
                   "restart", True),
    ConsoleCommand("new", (), "a new deployment, in a form that writes the inventory",
                   "new_deployment", True),
    ConsoleCommand("edit", (_NAME,), "edit a deployment's inventory entry in a form",
                   "edit_deployment", True),
    ConsoleCommand("clone", (_NAME,), "a new deployment, starting from a copy of this one",
                   "clone_deployment", True),
    ConsoleCommand("trust", (Arg("HOST", "host"),),
                   "check a host's key and trust it (shows the fingerprint first)",
                   "trust_host", True),
    ConsoleCommand("hosts", (), "the hosts screen", "hosts"),
    ConsoleCommand("routes", (), "every endpoint's backends, side by side", "routes"),
    ConsoleCommand("logs", (_NAME,), "a deployment's logs", "open_logs"),
    ConsoleCommand("events", (), "show / hide the events panel", "toggle_events"),
    ConsoleCommand("theme", (Arg("THEME", "theme"),), "switch colours (remembered)",
                   "set_theme"),
    ConsoleCommand("help", (), "every key and command", "help"),
    ConsoleCommand("quit", (), "quit fleetdeck", "quit"),
)  # fmt: skip


def available_commands(
    commands: Iterable[ConsoleCommand], has_action: Callable[[str], bool], *, readonly: bool
) -> tuple[ConsoleCommand, ...]:
    """The entries this app can run: its action exists, and it may change the fleet."""
    return tuple(
        command
        for command in commands
        if has_action(command.action) and not (readonly and command.changes_fleet)
    )


@dataclass(frozen=True)
class Names:
    """The names a command line can refer to, from the current snapshot and the app."""

    deployments: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()

    def of(self, kind: ArgKind) -> tuple[str, ...]:
        if kind == "deployment":
            return self.deployments
        if kind == "endpoint":
            return self.endpoints
        if kind == "theme":
            return self.themes
        if kind == "host":
            return self.hosts
        return ()  # a count is typed, not picked


# -- fuzzy matching ----------------------------------------------------------------------
def fuzzy_score(query: str, candidate: str) -> int | None:
    """How well `query` matches `candidate` as a subsequence (case-insensitive); None: no
    match. A prefix beats runs of letters, which beat scattered letters."""
    wanted, text = query.lower(), candidate.lower()
    if not wanted:
        return 0
    score, position, previous = 0, -1, -2
    for char in wanted:
        position = text.find(char, position + 1)
        if position < 0:
            return None
        score += 3 if position == previous + 1 else 1
        previous = position
    if text.startswith(wanted):
        score += 10
    return score


def fuzzy_rank(query: str, candidates: Iterable[str]) -> list[str]:
    """The candidates that match, best first; ties go to the shorter, then by name."""
    scored = [(fuzzy_score(query, c), c) for c in candidates]
    matched = [(score, c) for score, c in scored if score is not None]
    return [c for _, c in sorted(matched, key=lambda item: (-item[0], len(item[1]), item[1]))]


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    ranked = fuzzy_rank(word, candidates)
    return f": did you mean {ranked[0]}?" if ranked else ""


# -- parsing -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Invocation:
    command: ConsoleCommand
    args: tuple[str | int, ...]


@dataclass(frozen=True)
class Jump:
    """`:NAME`: go to that deployment (open it) or host (select its row)."""

    kind: JumpKind
    name: str


@dataclass(frozen=True)
class ParseError:
    message: str


Parsed = Invocation | Jump | ParseError


def parse(
    line: str,
    commands: Sequence[ConsoleCommand],
    names: Names,
    unavailable: Mapping[str, str] | None = None,
) -> Parsed:
    """Read one command line (with or without its leading `:`).

    `unavailable` maps a command this console will not run to why ("read-only"), so
    that typing it says so rather than "unknown".
    """
    words = line.strip().removeprefix(":").split()
    if not words:
        return ParseError("type a command or a name; Tab completes, Esc closes")
    head, *rest = words
    command = next((c for c in commands if c.name == head), None)
    if command is None:
        if unavailable and head in unavailable:
            return ParseError(f"{head} is not available: {unavailable[head]}")
        if not rest and head in names.deployments:
            return Jump("deployment", head)
        if not rest and head in names.hosts:
            return Jump("host", head)
        known = [c.name for c in commands] + [*names.deployments, *names.hosts]
        return ParseError(f"no command or name {head!r}{_did_you_mean(head, known)}")
    if len(rest) != len(command.args):
        return ParseError(f"usage: :{command.usage}")
    values: list[str | int] = []
    for arg, word in zip(command.args, rest, strict=True):
        if arg.kind == "count":
            if not word.isdigit():
                return ParseError(f"{arg.label} is a whole number, 0 or more, not {word!r}")
            values.append(int(word))
            continue
        known_names = names.of(arg.kind)
        if word not in known_names:
            return ParseError(f"no {arg.kind} {word!r}{_did_you_mean(word, known_names)}")
        values.append(word)
    return Invocation(command, tuple(values))


# -- completion --------------------------------------------------------------------------
@dataclass(frozen=True)
class Completion:
    line: str
    """The whole command line Tab turns the input into."""
    label: str
    """What the list shows for it: `:stop NAME`, or the name offered."""
    help: str


def complete(
    line: str, commands: Sequence[ConsoleCommand], names: Names, limit: int = 8
) -> list[Completion]:
    """What the line being typed may become, best first: a command or a name while the
    first word is typed, then the argument's names (deployments, themes)."""
    words = line.lstrip().removeprefix(":").split(" ")
    if len(words) == 1:
        options: dict[str, Completion] = {}
        for command in commands:
            spaced = command.name + (" " if command.args else "")
            options[command.name] = Completion(spaced, f":{command.usage}", command.help)
        for name in names.deployments:
            options.setdefault(name, Completion(name, name, "open this deployment"))
        for name in names.hosts:
            options.setdefault(name, Completion(name, name, "select this host"))
        return [options[key] for key in fuzzy_rank(words[0], options)][:limit]
    typing = next((c for c in commands if c.name == words[0]), None)
    position = len(words) - 2  # the argument being typed
    if typing is None or position >= len(typing.args):
        return []
    arg = typing.args[position]
    more = position + 1 < len(typing.args)
    typed = " ".join(words[:-1]) + " "
    return [
        Completion(typed + name + (" " if more else ""), name, f"{arg.label} of :{typing.usage}")
        for name in fuzzy_rank(words[-1], names.of(arg.kind))
    ][:limit]


# -- the palette -------------------------------------------------------------------------
@dataclass(frozen=True)
class PaletteEntry:
    text: str
    help: str
    line: str
    """The command line this entry stands for."""
    runs: bool
    """True: choosing it runs `line`; False: it opens the command line with `line` typed,
    for the argument that cannot be listed (a replica count)."""


def palette_entries(commands: Sequence[ConsoleCommand], names: Names) -> list[PaletteEntry]:
    """Every command, spelled out for each name its first argument may take, and a jump
    to each deployment and host."""
    entries: list[PaletteEntry] = []
    for command in commands:
        if not command.args:
            entries.append(PaletteEntry(command.name, command.help, command.name, True))
            continue
        first, rest = command.args[0], command.args[1:]
        values = names.of(first.kind)
        if not values:
            entries.append(PaletteEntry(command.usage, command.help, command.name + " ", False))
        for value in values:
            text = " ".join([command.name, value, *(arg.label for arg in rest)])
            line = f"{command.name} {value}" + (" " if rest else "")
            entries.append(PaletteEntry(text, command.help, line, not rest))
    for name in names.deployments:
        entries.append(PaletteEntry(f"go to {name}", "open this deployment", name, True))
    for name in names.hosts:
        entries.append(PaletteEntry(f"go to host {name}", "select this host", name, True))
    return entries
