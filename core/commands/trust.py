"""`fleetdeck trust FILE HOST`: the only thing that ever adds a key to known_hosts.

It shows the key the host presents (host, address:port, SHA256 fingerprint) so a person
can compare it with what the host's owner reads on the host, then appends one OpenSSH
line to the host's known_hosts. A key that differs from the one already listed is never
replaced without --replace, and a revoked key never trusted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import asyncssh

from fleetdeck.core.commands.exit_codes import DONE, FAILED, USAGE
from fleetdeck.core.engine.host_session import ssh_target
from fleetdeck.core.inventory import Inventory
from fleetdeck.hosts.known_hosts import (
    add_host_key,
    fingerprint,
    key_lookup,
    known_keys,
    presented_key,
)
from fleetdeck.hosts.ssh_transport import SshTarget, unreachable


async def trust(inventory: Inventory, args: argparse.Namespace) -> int:
    host = inventory.host(args.host)
    if host is None:
        names = ", ".join(h.name for h in inventory.hosts) or "none"
        _say(f"{args.file}: no host named {args.host!r} (hosts: {names}); nothing written")
        return USAGE
    if host.transport == "local":
        _say(f'{host.name} is this machine (transport = "local"): it has no SSH key to trust')
        return USAGE
    target = ssh_target(host)
    file = host.known_hosts
    options = target.connect_options()
    lookup = await key_lookup(options)
    try:
        known = known_keys(file, lookup)
    except ValueError as exc:
        _say(f"error: {exc}\n  next: fix or remove that line; nothing written")
        return FAILED
    key = await _fetch(target, known.trusted)
    print(f"host         {host.name}")
    print(f"address      {lookup.pattern}" + _via(target, lookup.pattern))
    print(f"key          {key.get_algorithm()} {fingerprint(key)}")
    if key in known.revoked:
        _say(f"refused: {file} marks this key @revoked; nothing written")
        return FAILED
    if known.vouches_for(key):
        print(f"{file} already trusts this key; nothing written")
        return DONE
    replacing = bool(known.trusted)
    if replacing:
        listed = ", ".join(fingerprint(k) for k in known.trusted)
        print(f"known_hosts  {file} lists a DIFFERENT key for it: {listed}")
        if not args.replace:
            _say(
                "refused: the host's key has changed, which is what an attacker in the middle "
                "looks like; nothing written.\n  next: if the host was reinstalled (ask its "
                f"owner), run `fleetdeck trust {args.file} {host.name} --replace`"
            )
            return USAGE
    if not args.yes:
        refusal = await _ask(args, host.name)
        if refusal is not None:
            return refusal
    add_host_key(file, lookup, key, replace=replacing)
    print(f"{'replaced' if replacing else 'added'} {lookup.pattern} in {file}")
    return DONE


async def _fetch(target: SshTarget, listed: tuple[asyncssh.SSHKey, ...]) -> asyncssh.SSHKey:
    try:
        return await presented_key(target.connect_options(), target.connect_timeout_s, listed)
    except (OSError, asyncio.TimeoutError, asyncssh.Error) as exc:
        title = f"cannot fetch the host key of {target.host_name} ({target.where})"
        raise unreachable(target, exc, title) from exc


async def _ask(args: argparse.Namespace, host: str) -> int | None:
    """None when the person at the terminal says yes, else the exit code."""
    if not sys.stdin.isatty():
        _say(
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
    _say("not trusted; nothing written")
    return FAILED


def _via(target: SshTarget, pattern: str) -> str:
    # Say so when ~/.ssh/config turned the inventory's address into another name.
    return "" if target.address in pattern else f"  (inventory address {target.address})"


def _say(text: str) -> None:
    print(text, file=sys.stderr)
