"""`trust FILE HOST`: show the key a host presents, ask, and add it to known_hosts.

The person at the terminal compares the fingerprint with what the host's owner reads on
the host (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`). A changed key is never
replaced without --replace, and a revoked key never trusted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from fleetdeck.core.commands.exit_codes import DONE, FAILED, USAGE
from fleetdeck.core.commands.reporting import say
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.intents.host_keys import KeyStanding


async def cmd_trust(intents: FleetIntents, args: argparse.Namespace) -> int:
    report = await intents.host_key(args.host)
    via = (
        ""
        if report.inventory_address in report.pattern
        else f"  (inventory address {report.inventory_address})"
    )
    print(f"host         {report.host}")
    print(f"address      {report.pattern}{via}")
    print(f"key          {report.algorithm} {report.fingerprint}")
    if report.standing is KeyStanding.REVOKED:
        say(f"refused: {report.known_hosts} marks this key @revoked; nothing written")
        return FAILED
    if report.standing is KeyStanding.TRUSTED:
        print(f"{report.known_hosts} already trusts this key; nothing written")
        return DONE
    if report.standing is KeyStanding.CHANGED:
        print(f"known_hosts  {report.known_hosts} lists a DIFFERENT key for it: "
              + ", ".join(report.listed))  # fmt: skip
        if not args.replace:
            say(
                "refused: the host's key has changed, which is what an attacker in the middle "
                "looks like; nothing written.\n  next: if the host was reinstalled (ask its "
                f"owner), run `fleetdeck trust {args.file} {report.host} --replace`"
            )
            return USAGE
    if not args.yes:
        refusal = await _ask(args, report.host)
        if refusal is not None:
            return refusal
    intents.trust(report, replace=args.replace)
    verb = "replaced" if report.standing is KeyStanding.CHANGED else "added"
    print(f"{verb} {report.pattern} in {report.known_hosts}")
    return DONE


async def _ask(args: argparse.Namespace, host: str) -> int | None:
    """None when the person at the terminal says yes, else the exit code."""
    if not sys.stdin.isatty():
        say(
            "stdin is not a terminal, so fleetdeck cannot ask; nothing written.\n"
            "  next: compare the fingerprint above with `ssh-keygen -lf "
            "/etc/ssh/ssh_host_ed25519_key.pub` on the host, then run "
            f"`fleetdeck trust {args.file} {host} --yes`"
        )
        return USAGE
    try:
        answer = await asyncio.to_thread(input, "Trust this key? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return None
    say("not trusted; nothing written")
    return FAILED
