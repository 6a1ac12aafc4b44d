"""Shell completion (bash, zsh, fish) through argcomplete, with names from the inventory.

`fleetdeck completion bash` prints the script to source. At TAB time argcomplete runs
`fleetdeck` with the words typed so far; the completers below read the FILE argument's
inventory (no host is contacted) and offer its deployment, replica or host names.
A completer never raises: an unreadable inventory simply offers nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

MAX_INVENTORY_BYTES = 4 * 1024 * 1024


def _inventory_tables(parsed_args: argparse.Namespace, table: str) -> list[dict[str, Any]]:
    path = Path(getattr(parsed_args, "file", "") or "fleet.toml")
    try:
        if path.stat().st_size > MAX_INVENTORY_BYTES:
            return []
        data = tomllib.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return []
    entries = data.get(table)
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _names(entries: Iterable[dict[str, Any]], prefix: str) -> list[str]:
    return sorted(str(e["name"]) for e in entries if str(e.get("name", "")).startswith(prefix))


def complete_deployments(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    return _names(_inventory_tables(parsed_args, "deployments"), prefix)


def complete_hosts(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    return _names(_inventory_tables(parsed_args, "hosts"), prefix)


def complete_replicas(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """Deployment names (a replica is DEPLOYMENT/REPLICA: `logs` takes either)."""
    return complete_deployments(prefix.partition("/")[0], parsed_args)


def completion_script(shell: str) -> str:
    from argcomplete.shell_integration import shellcode

    return str(shellcode(["fleetdeck"], shell=shell))


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer a shell's completion request (and exit) when one is running us."""
    import os

    if "_ARGCOMPLETE" not in os.environ:
        return
    import argcomplete

    argcomplete.autocomplete(parser)
