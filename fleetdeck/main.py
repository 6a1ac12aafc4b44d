"""`fleetdeck`: the headless CLI. Exit codes are contract (DESIGN.md):
0 done; 1 an operation failed; 2 usage or inventory error, nothing done; 3 partial
(some hosts unreachable, the rest done); 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from fleetdeck.core.commands.exit_codes import DONE, FAILED, INTERRUPTED, USAGE
from fleetdeck.core.errors import InventoryError, SecretError
from fleetdeck.hosts.errors import ActionableError

COMMANDS = (
    "tui", "demo", "check", "plan", "apply", "status", "down", "logs", "gpus", "schema",
    "run", "scale", "stop", "start", "restart", "events", "test", "export", "trust",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetdeck",
        description="Operations console for vLLM fleets on your own GPU machines.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str, *, file: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if file:
            p.add_argument("file", metavar="FILE", help="the fleet inventory (TOML)")
        return p

    tui = command("tui", "open the console on a fleet (the default command)", file=False)
    tui.add_argument("file", metavar="FILE", nargs="?", default="fleet.toml")
    demo = command("demo", "a self-contained simulated fleet on this machine", file=False)
    demo.add_argument("--headless", action="store_true", help="no screen: print status lines")
    demo.add_argument("--seconds", type=float, default=None, help="stop after this long")
    for name, text in (
        ("check", "check the inventory and every host: ssh, python, vllm, GPUs"),
        ("plan", "show what apply would start and stop"),
        ("gpus", "GPU readings of every host"),
    ):
        command(name, text).add_argument("--json", action="store_true")
    apply = command("apply", "start and stop replicas until the fleet matches the inventory")
    apply.add_argument("--json", action="store_true")
    apply.add_argument("--wait", action="store_true", help="wait until every replica is ready")
    apply.add_argument("--timeout", type=float, default=None, metavar="S")
    status = command("status", "the status of every host, deployment and replica")
    status.add_argument("--json", action="store_true")
    status.add_argument("--watch", action="store_true", help="keep printing (JSON lines)")
    status.add_argument("--interval", type=float, default=2.0, metavar="S")
    down = command("down", "stop and forget managed replicas")
    down.add_argument("deployment", nargs="?", metavar="DEPLOYMENT")
    down.add_argument("--json", action="store_true")
    logs = command("logs", "a replica's log")
    logs.add_argument("target", metavar="DEPLOYMENT[/REPLICA]")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("--tail", type=int, default=50, metavar="N")
    command("schema", "print the inventory's JSON Schema (for editor completion)", file=False)
    run = command("run", "the engine's control loops with no screen (events as JSON lines)")
    run.add_argument("--interval", type=float, default=5.0, metavar="S")
    scale = command("scale", "set a deployment's replica count (until the inventory changes it)")
    scale.add_argument("deployment", metavar="DEPLOYMENT")
    scale.add_argument("replicas", type=int, metavar="N")
    for name, text in (
        ("stop", "stop a deployment's replicas (scale to 0, remembered)"),
        ("start", "start a deployment again at the inventory's count"),
        ("restart", "replace every replica of a deployment (rolling unless update_strategy)"),
    ):
        p = command(name, text)
        p.add_argument("deployment", metavar="DEPLOYMENT")
    for p in (scale, *(sub.choices[n] for n in ("stop", "start", "restart"))):
        p.add_argument("--no-wait", action="store_true", help="do not wait for readiness")
        p.add_argument("--timeout", type=float, default=None, metavar="S")
    test = command("test", "send one real chat completion to a replica and print its latency")
    test.add_argument("deployment", metavar="DEPLOYMENT")
    test.add_argument("--prompt", default="Say hello in five words.")
    test.add_argument("--max-tokens", type=int, default=32)
    test.add_argument("--timeout", type=float, default=120.0, metavar="S")
    export = command("export", "print a deployment's configuration (secrets as references)")
    export.add_argument("deployment", metavar="DEPLOYMENT")
    export.add_argument("--format", choices=("toml", "json"), default="toml")
    events = command("events", "the event journal: what the engine did and why")
    events.add_argument("--json", action="store_true")
    events.add_argument("--tail", type=int, default=0, metavar="N")
    trust = command("trust", "add a host's SSH key to its known_hosts, after showing it")
    trust.add_argument("host", metavar="HOST", help="the host's name in the inventory")
    trust.add_argument("--yes", action="store_true", help="do not ask; trust what is shown")
    trust.add_argument(
        "--replace", action="store_true", help="replace a different key listed for this host"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # `fleetdeck FILE` and bare `fleetdeck` open the TUI.
    if not args_list or (args_list[0] not in COMMANDS and not args_list[0].startswith("-")):
        args_list.insert(0, "tui")
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse has printed the usage error
        return USAGE if exc.code not in (0, None) else DONE
    from fleetdeck.core.commands import (
        fleet_commands as commands,  # after parsing, so `--help` stays fast
    )

    try:
        return asyncio.run(commands.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except (InventoryError, SecretError) as exc:
        print(str(exc), file=sys.stderr)
        print("nothing was started or stopped.", file=sys.stderr)
        return USAGE
    except ActionableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return FAILED
    except Exception as exc:  # noqa: BLE001 - a person gets a sentence, not a traceback
        if os.environ.get("FLEETDECK_DEBUG"):
            raise
        print(f"error: fleetdeck failed unexpectedly: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("  next: run it again with FLEETDECK_DEBUG=1 for the traceback, and report it",
              file=sys.stderr)  # fmt: skip
        return FAILED


if __name__ == "__main__":
    raise SystemExit(main())
