"""`trust`: show the key a host presents, and add it to that host's known_hosts.

The only writer of known_hosts. `inspect_host_key` fetches the key and compares it with
what the file lists; `trust_host_key` writes it, and refuses a revoked key or a changed
one without `replace` (a changed key is what a machine in the middle looks like).
The person-facing questions (show, ask, confirm) belong to the CLI or the console.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from fleetdeck.core.engine.host_session import ssh_target
from fleetdeck.core.errors import FleetdeckError, UsageError
from fleetdeck.core.inventory import Host
from fleetdeck.hosts.known_hosts import (
    KeyLookup,
    add_host_key,
    fingerprint,
    key_lookup,
    known_keys,
    presented_key,
)
from fleetdeck.hosts.ssh_transport import unreachable


class KeyStanding(enum.Enum):
    NEW = "new"  # known_hosts lists no key for this host
    TRUSTED = "trusted"  # it lists this very key
    CHANGED = "changed"  # it lists a different key
    REVOKED = "revoked"  # it marks this key @revoked


@dataclass(frozen=True)
class HostKeyReport:
    host: str
    pattern: str  # "[address]:port" as known_hosts writes it
    inventory_address: str
    algorithm: str
    fingerprint: str
    known_hosts: Path
    standing: KeyStanding
    listed: tuple[str, ...]  # fingerprints known_hosts lists for the host now
    key: asyncssh.SSHKey
    lookup: KeyLookup


async def inspect_host_key(host: Host) -> HostKeyReport:
    if host.transport == "local":
        raise UsageError(
            f"{host.name} is this machine",
            'its transport is "local": it has no SSH key to trust',
            "nothing to do",
        )
    target = ssh_target(host)
    options = target.connect_options()
    lookup = await key_lookup(options)
    try:
        known = known_keys(host.known_hosts, lookup)
    except ValueError as exc:
        raise FleetdeckError(
            f"cannot read {host.known_hosts}", str(exc), "fix or remove that line"
        ) from exc
    try:
        key = await presented_key(options, target.connect_timeout_s, known.trusted)
    except (OSError, asyncio.TimeoutError, asyncssh.Error) as exc:
        title = f"cannot fetch the host key of {target.host_name} ({target.where})"
        raise unreachable(target, exc, title) from exc
    if key in known.revoked:
        standing = KeyStanding.REVOKED
    elif known.vouches_for(key):
        standing = KeyStanding.TRUSTED
    elif known.trusted:
        standing = KeyStanding.CHANGED
    else:
        standing = KeyStanding.NEW
    return HostKeyReport(
        host=host.name,
        pattern=lookup.pattern,
        inventory_address=target.address,
        algorithm=key.get_algorithm(),
        fingerprint=fingerprint(key),
        known_hosts=host.known_hosts,
        standing=standing,
        listed=tuple(fingerprint(k) for k in known.trusted),
        key=key,
        lookup=lookup,
    )


def trust_host_key(report: HostKeyReport, *, replace: bool) -> bool:
    """Write the reported key; False when known_hosts already trusts it (nothing written)."""
    if report.standing is KeyStanding.TRUSTED:
        return False
    if report.standing is KeyStanding.REVOKED:
        raise FleetdeckError(
            f"refused: {report.known_hosts} marks this key @revoked",
            f"{report.host} presents {report.fingerprint}",
            "nothing written; ask the host's owner",
        )
    if report.standing is KeyStanding.CHANGED and not replace:
        raise FleetdeckError(
            f"refused: the key of {report.host} has changed",
            f"it presents {report.fingerprint}; {report.known_hosts} lists "
            + ", ".join(report.listed),
            "nothing written; if the host was reinstalled (ask its owner), trust it again "
            "with replace",
        )
    changed = report.standing is KeyStanding.CHANGED
    add_host_key(report.known_hosts, report.lookup, report.key, replace=changed)
    return True
