"""Every `fleetdeck` command, registered once: its name, help, example, arguments and
handler. The parser, `--help`, shell completion and dispatch are all built from this
table, so a new command is one entry here and one handler in core/commands/.

Why argparse (with argcomplete) rather than click: argparse is the standard library and
already carried every command; argcomplete, a small well-kept package, gives bash, zsh
and fish completion from the same parser, including deployment and host names read
from the inventory named on the command line.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from fleetdeck import arg_types
from fleetdeck.completion import complete_deployments, complete_hosts, complete_replicas

if TYPE_CHECKING:
    from fleetdeck.core.intents import FleetIntents

FleetHandler = Callable[["FleetIntents", argparse.Namespace], Awaitable[int]]
AddArguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    example: str
    arguments: AddArguments
    # "module:function" under fleetdeck.core.commands, imported only when the command
    # runs, so `--help` and a shell's TAB stay fast. None: the root runs it (tui, demo...).
    handler: str | None = None
    takes_file: bool = True

    def load_handler(self) -> FleetHandler:
        assert self.handler is not None, f"{self.name} is run by the composition root"
        module, _, function = self.handler.partition(":")
        loaded = importlib.import_module(f"fleetdeck.core.commands.{module}")
        return cast(FleetHandler, getattr(loaded, function))


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")


def _deployment(p: argparse.ArgumentParser) -> None:
    arg = p.add_argument("deployment", metavar="DEPLOYMENT", help="a deployment's name")
    arg.completer = complete_deployments  # type: ignore[attr-defined]


def _waiting(p: argparse.ArgumentParser) -> None:
    _deployment(p)
    p.add_argument("--no-wait", action="store_true", help="do not wait for readiness")
    p.add_argument("--timeout", type=arg_types.TIMEOUT, default=None, metavar="S",
                   help="how long to wait, at most 7 days "
                   "(default: the deployment's start_timeout)")  # fmt: skip


# The console's themes, by name. Kept here rather than imported from fleetdeck.themes,
# which loads Textual: `--help` and a shell's TAB stay fast.
# tests/unit/test_console_options.py checks that this is the list of registered themes.
CONSOLE_THEMES = ("fleetdeck-dark", "fleetdeck-light", "fleetdeck-high-contrast")


def _console_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--readonly",
        action="store_true",
        help="look, do not touch: every action of the console is disabled",
    )
    p.add_argument("--theme", choices=CONSOLE_THEMES, default=None,
                   help="the console's colours (remembered for next time; "
                   "default: the last one chosen, else fleetdeck-dark)")  # fmt: skip


def _record(p: argparse.ArgumentParser) -> None:
    p.add_argument("--record", metavar="REC", default=None,
                   help="record snapshots and events to REC, for `fleetdeck replay REC` "
                   "(an older REC moves to REC.1)")  # fmt: skip
    p.add_argument("--record-max-size", type=arg_types.byte_size, default=256 * 1024**2,
                   metavar="SIZE", help="when REC reaches SIZE it moves to REC.1 and a new "
                   "one starts (default 256M, ~14 hours of 80 replicas)")  # fmt: skip


def _metrics(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", metavar="ADDR", default=None,
                   help="serve Prometheus metrics at http://ADDR/metrics: HOST:PORT, or a "
                   "port alone for 127.0.0.1 (default: the inventory's [fleet] "
                   "metrics_address, else off)")  # fmt: skip


def _tui(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", nargs="?", default="fleet.toml",
                   help="the fleet inventory (TOML; default fleet.toml)")  # fmt: skip
    _console_options(p)
    _record(p)
    _metrics(p)


def _replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", metavar="REC", help="a recording (`--record REC`)")
    p.add_argument("--headless", action="store_true",
                   help="no screen: print the status table at --at")  # fmt: skip
    p.add_argument("--at", type=arg_types.PLAYBACK_AT, default=None, metavar="S",
                   help="seconds into it (with --headless; default: its end)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="with --headless: the snapshot as JSON")
    p.add_argument("--theme", choices=CONSOLE_THEMES, default=None,
                   help="the console's colours (default: the last one chosen)")  # fmt: skip


def _demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--headless", action="store_true", help="no screen: print status lines")
    p.add_argument("--seconds", type=arg_types.RUN_FOR, default=None, help="stop after this long")
    _console_options(p)
    _metrics(p)


def _apply(p: argparse.ArgumentParser) -> None:
    _json(p)
    p.add_argument("--wait", action="store_true", help="wait until every replica is ready")
    p.add_argument("--timeout", type=arg_types.TIMEOUT, default=None, metavar="S",
                   help="how long --wait waits, at most 7 days "
                   "(default: the longest start_timeout)")  # fmt: skip


def _status(p: argparse.ArgumentParser) -> None:
    _json(p)
    p.add_argument("--watch", action="store_true",
                   help="keep printing: a table per tick, or JSON lines with --json")  # fmt: skip
    p.add_argument(
        "--interval",
        type=arg_types.INTERVAL,
        default=2.0,
        metavar="S",
        help="seconds between --watch updates (0.1 to 86400)",
    )
    p.add_argument("--sample", type=arg_types.SAMPLE, default=None, metavar="S",
                   help="read /metrics twice, S apart, for request rates and latency "
                   "(default 1 for the table, 0 with --json)")  # fmt: skip


def _down(p: argparse.ArgumentParser) -> None:
    arg = p.add_argument("deployment", nargs="?", metavar="DEPLOYMENT",
                         help="only this deployment (default: all)")  # fmt: skip
    arg.completer = complete_deployments  # type: ignore[attr-defined]
    _json(p)


def _logs(p: argparse.ArgumentParser) -> None:
    arg = p.add_argument("target", metavar="DEPLOYMENT[/REPLICA]")
    arg.completer = complete_replicas  # type: ignore[attr-defined]
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument(
        "--tail", type=arg_types.LINES, default=50, metavar="N", help="start N lines back"
    )


def _run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interval", type=arg_types.INTERVAL, default=5.0, metavar="S",
                   help="seconds between reconcile ticks (0.1 to 86400)")  # fmt: skip
    _record(p)
    _metrics(p)


def _scale(p: argparse.ArgumentParser) -> None:
    _waiting(p)
    p.add_argument(
        "replicas",
        type=arg_types.REPLICAS,
        metavar="N",
        help="replicas wanted, 0 to 1024 (0 stops it)",
    )


def _route(p: argparse.ArgumentParser) -> None:
    p.add_argument("endpoint", metavar="ENDPOINT", help="an [[endpoints]] entry's name")
    to = p.add_argument(
        "--to", required=True, metavar="DEPLOYMENT", help="the backend that gets all traffic"
    )
    to.completer = complete_deployments  # type: ignore[attr-defined]


def _test(p: argparse.ArgumentParser) -> None:
    _deployment(p)
    p.add_argument("--prompt", default="Say hello in five words.")
    p.add_argument("--max-tokens", type=arg_types.TOKENS, default=32)
    p.add_argument("--timeout", type=arg_types.TIMEOUT, default=120.0, metavar="S")


def _export(p: argparse.ArgumentParser) -> None:
    _deployment(p)
    p.add_argument("--format", choices=("toml", "json"), default="toml")


def _events(p: argparse.ArgumentParser) -> None:
    _json(p)
    p.add_argument("--tail", type=arg_types.LINES, default=0, metavar="N", help="only the last N")
    arg = p.add_argument("--deployment", metavar="NAME", default=None,
                         help="only this deployment's events (its replicas' too)")  # fmt: skip
    arg.completer = complete_deployments  # type: ignore[attr-defined]


def _trust(p: argparse.ArgumentParser) -> None:
    arg = p.add_argument("host", metavar="HOST", help="the host's name in the inventory")
    arg.completer = complete_hosts  # type: ignore[attr-defined]
    p.add_argument("--yes", action="store_true", help="do not ask; trust what is shown")
    p.add_argument("--replace", action="store_true",
                   help="replace a different key listed for this host")  # fmt: skip


def _shell(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=("bash", "zsh", "fish"))


def _nothing(p: argparse.ArgumentParser) -> None:
    return None


COMMANDS: tuple[Command, ...] = (
    Command("tui", "open the console on a fleet (the default command)",
            "fleetdeck fleet.toml --readonly --theme fleetdeck-light", _tui, takes_file=False),
    Command("demo", "a self-contained simulated fleet on this machine",
            "fleetdeck demo --headless --seconds 20", _demo, takes_file=False),
    Command("replay", "play a recording in the console, read-only (or print one moment)",
            "fleetdeck replay night.rec --headless --at 3600", _replay, takes_file=False),
    Command("check", "check the inventory and every host: ssh, python, vllm, GPUs",
            "fleetdeck check fleet.toml", _json, "status:cmd_check"),
    Command("plan", "show what apply would start and stop",
            "fleetdeck plan fleet.toml --json", _json, "apply:cmd_plan"),
    Command("apply", "start and stop replicas until the fleet matches the inventory",
            "fleetdeck apply fleet.toml --wait --timeout 600", _apply, "apply:cmd_apply"),
    Command("status", "the status of every host, deployment and replica",
            "fleetdeck status fleet.toml --watch --json", _status, "status:cmd_status"),
    Command("down", "stop and forget managed replicas and their overrides",
            "fleetdeck down fleet.toml llama8b", _down, "apply:cmd_down"),
    Command("logs", "a replica's log (followed across reconnects with -f)",
            "fleetdeck logs fleet.toml llama8b/r1 -f --tail 100", _logs, "logs:cmd_logs"),
    Command("gpus", "GPU readings of every host",
            "fleetdeck gpus fleet.toml --json", _json, "status:cmd_gpus"),
    Command("schema", "print the inventory's JSON Schema (for editor completion)",
            "fleetdeck schema > fleetdeck.schema.json", _nothing, takes_file=False),
    Command("run", "the controller with no screen (events as JSON lines)",
            "fleetdeck run fleet.toml --interval 5", _run, "control:cmd_run"),
    Command("scale", "set a deployment's replica count (until the inventory changes it)",
            "fleetdeck scale fleet.toml llama8b 3", _scale, "control:cmd_scale"),
    Command("route", "blue-green: send all of an endpoint's traffic to one of its backends",
            "fleetdeck route fleet.toml chat --to llama-v2", _route, "control:cmd_route"),
    Command("stop", "stop a deployment's replicas (scale to 0, remembered)",
            "fleetdeck stop fleet.toml llama8b", _waiting, "control:cmd_stop"),
    Command("start", "start a deployment again at the inventory's count",
            "fleetdeck start fleet.toml llama8b", _waiting, "control:cmd_start"),
    Command("restart", "replace every replica (rolling unless update_strategy)",
            "fleetdeck restart fleet.toml llama8b --no-wait", _waiting, "control:cmd_restart"),
    Command("forget-failed", "remove the replicas fleetdeck gave up on (kept with their log)",
            "fleetdeck forget-failed fleet.toml llama8b", _deployment, "control:cmd_forget_failed"),
    Command("events", "the event journal: what the engine did and why, and the hosts' exits",
            "fleetdeck events fleet.toml --deployment llama8b", _events, "control:cmd_events"),
    Command("test", "send one real chat completion to a replica and print its latency",
            "fleetdeck test fleet.toml llama8b --prompt 'Hi'", _test, "client:cmd_test"),
    Command("export", "print a deployment's configuration (secrets as references)",
            "fleetdeck export fleet.toml llama8b --format json", _export, "client:cmd_export"),
    Command("trust", "add a host's SSH key to its known_hosts, after showing it",
            "fleetdeck trust fleet.toml gpu-a", _trust, "trust:cmd_trust"),
    Command("completion", "print a shell completion script",
            'eval "$(fleetdeck completion bash)"', _shell, takes_file=False),
)  # fmt: skip

BY_NAME = {command.name: command for command in COMMANDS}

EXIT_CODES = """\
exit codes:
  0    done
  1    an operation failed (a replica did not become ready, a host refused)
  2    usage or inventory error: nothing was started or stopped
  3    partial: some hosts were unreachable, the rest is done
  130  interrupted
  141  stdout closed early (a pipe into head): the shell's SIGPIPE convention"""


class _PrintVersion(argparse.Action):
    """`--version`: the installed version is read only when asked (see fleetdeck/__init__)."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        import fleetdeck

        print(f"fleetdeck {fleetdeck.__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetdeck",
        description="Operations console for vLLM fleets on your own GPU machines. "
        "`fleetdeck FILE` opens the console on a fleet.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_PrintVersion, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(
            command.name,
            help=command.summary,
            description=command.summary,
            epilog=f"example:\n  {command.example}\n\n{EXIT_CODES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if command.takes_file:
            p.add_argument("file", metavar="FILE", help="the fleet inventory (TOML)")
        command.arguments(p)
    return parser
