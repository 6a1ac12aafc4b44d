"""`fleetdeck`: the composition root. Parses the command line (fleetdeck.registry),
builds the engine behind the intent API, and hands it to the console or to a headless
command. Exit codes are contract (DESIGN.md and `fleetdeck --help`)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import select
import sys
from collections.abc import Sequence
from pathlib import Path

from fleetdeck.completion import autocomplete, completion_script
from fleetdeck.core.commands.exit_codes import BROKEN_PIPE, DONE, FAILED, INTERRUPTED, USAGE
from fleetdeck.registry import BY_NAME, build_parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        # Flush here rather than at exit: what is still buffered (`fleetdeck events |
        # head -1`, a --help) then fails where we can answer it; at exit Python would
        # print "Exception ignored ... BrokenPipeError" and end with status 120.
        sys.stdout.flush()
    except BrokenPipeError:
        return _stdout_closed()
    return code


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # `fleetdeck FILE` and bare `fleetdeck` open the console.
    if not args_list or (args_list[0] not in BY_NAME and not args_list[0].startswith("-")):
        if args_list and _is_unknown_command(args_list):
            return _unknown_command(args_list[0])
        args_list.insert(0, "tui")
    parser = build_parser()
    autocomplete(parser)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse has printed the usage error (or --help/--version)
        return USAGE if exc.code not in (0, None) else DONE
    if args.command is None:
        parser.print_help()
        return USAGE
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except OSError as exc:
        if exc.errno == errno.EPIPE and _stdout_is_gone():
            return _stdout_closed()
        return _failed(exc)  # a broken pipe to a host's process is a real failure
    except Exception as exc:  # noqa: BLE001 - a person gets a sentence, not a traceback
        return _failed(exc)


async def _run(args: argparse.Namespace) -> int:
    # Imported after parsing, so `--help`, `--version` and completion stay fast.
    from fleetdeck.core.errors import InventoryError, SecretError, UsageError
    from fleetdeck.hosts.errors import ActionableError

    try:
        return await _dispatch(args)
    except (InventoryError, SecretError) as exc:
        print(str(exc), file=sys.stderr)
        print("nothing was started or stopped.", file=sys.stderr)
        return USAGE
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except ActionableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return FAILED


async def _dispatch(args: argparse.Namespace) -> int:
    command: str = args.command
    if command == "completion":
        print(completion_script(args.shell), end="")
        return DONE
    if command == "schema":
        from fleetdeck.core.inventory import inventory_json_schema

        print(json.dumps(inventory_json_schema(), indent=2))
        return DONE
    if command == "demo":
        from fleetdeck.console import run_demo

        return await run_demo(
            headless=args.headless,
            seconds=args.seconds,
            readonly=args.readonly,
            theme=args.theme,
            metrics=args.metrics,
        )
    if command == "replay":
        return await _replay(args)
    from fleetdeck.core.engine.engine import Engine
    from fleetdeck.core.intents import FleetIntents
    from fleetdeck.core.inventory import load_inventory

    inventory = load_inventory(args.file)
    if command == "tui":
        from fleetdeck.console import open_console

        return await open_console(
            inventory,
            readonly=args.readonly,
            theme=args.theme,
            record=Path(args.record) if args.record else None,
            record_max_bytes=args.record_max_size,
            metrics=args.metrics,
        )
    intents = FleetIntents(Engine(inventory))
    try:
        return await BY_NAME[command].load_handler()(intents, args)
    finally:
        await intents.close()


def _is_unknown_command(args: list[str]) -> bool:
    """`fleetdeck staus fleet.toml`: a word that is neither a command nor a file, followed by
    another positional (the console takes one FILE), or one that is no file and no .toml."""
    word = args[0]
    if os.path.exists(word):
        return False
    followed = any(not arg.startswith("-") for arg in args[1:])
    return followed or not word.endswith(".toml")


def _unknown_command(word: str) -> int:
    import difflib

    close = difflib.get_close_matches(word, list(BY_NAME), n=1, cutoff=0.6)
    hint = f"did you mean `fleetdeck {close[0]}`? " if close else ""
    print(
        f"fleetdeck: error: unknown command {word!r} (and no file of that name);"
        f" {hint}`fleetdeck --help` lists the commands",
        file=sys.stderr,
    )
    return USAGE


async def _replay(args: argparse.Namespace) -> int:
    from fleetdeck.core.commands.replay import replay_headless
    from fleetdeck.core.errors import UsageError

    path = Path(args.recording)
    if args.headless:
        return replay_headless(path, args.at, as_json=args.json)
    if args.json or args.at is not None:
        raise UsageError("--at and --json go with --headless",
                         "the console starts at the beginning; `@` seeks in it",
                         f"fleetdeck replay {args.recording} --headless --at S")  # fmt: skip
    from fleetdeck.console import open_replay

    return await open_replay(path, theme=args.theme)


def _stdout_is_gone() -> bool:
    """Whether our own stdout lost its reader (and not, say, a subprocess's stdin)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))
    except (OSError, ValueError):
        return True  # stdout cannot even be asked: nothing more can be said there


def _stdout_closed() -> int:
    """The reader went away (`| head`): end quietly, as a shell tool does."""
    # Python would otherwise report the failed flush of stdout at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return BROKEN_PIPE


def _failed(exc: BaseException) -> int:
    if os.environ.get("FLEETDECK_DEBUG"):
        raise exc
    print(f"error: fleetdeck failed unexpectedly: {type(exc).__name__}: {exc}", file=sys.stderr)
    print("  next: run it again with FLEETDECK_DEBUG=1 for the traceback, and report it",
          file=sys.stderr)  # fmt: skip
    return FAILED


if __name__ == "__main__":
    raise SystemExit(main())
