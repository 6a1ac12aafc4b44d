"""known_hosts files: what one vouches for a host, and the one writer (`fleetdeck trust`).

Lookups go through asyncssh's own matcher, so "what fleetdeck thinks is trusted" is
exactly what the connection will accept. Writing keeps every line of the user's file
byte for byte, except (with replace) the entries naming this very host, and swaps the
file in atomically so a crash never leaves half a known_hosts behind.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncssh

from fleetdeck.hosts.errors import HostKeyRejected

if TYPE_CHECKING:  # ssh_transport imports this module
    from fleetdeck.hosts.ssh_transport import SshTarget

DEFAULT_SSH_PORT = 22


@dataclass(frozen=True)
class KeyLookup:
    """The name and port under which known_hosts lists a host, as asyncssh looks it up:
    ~/.ssh/config's HostKeyAlias, else its HostName, else the address we were given."""

    host: str
    port: int

    @property
    def pattern(self) -> str:
        """The host field of a known_hosts line: `host`, or `[host]:port` off port 22."""
        return self.host if self.port == DEFAULT_SSH_PORT else f"[{self.host}]:{self.port}"


@dataclass(frozen=True)
class KnownKeys:
    trusted: tuple[asyncssh.SSHKey, ...]
    revoked: tuple[asyncssh.SSHKey, ...]

    def vouches_for(self, key: asyncssh.SSHKey) -> bool:
        return key in self.trusted and key not in self.revoked


def fingerprint(key: asyncssh.SSHKey) -> str:
    """OpenSSH's `SHA256:...` fingerprint, as `ssh-keygen -l` prints it."""
    return str(key.get_fingerprint("sha256"))


def public_key_text(key: asyncssh.SSHKey) -> str:
    """`type base64` with no comment."""
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


def format_line(lookup: KeyLookup, key: asyncssh.SSHKey) -> str:
    return f"{lookup.pattern} {public_key_text(key)}"


async def key_lookup(options: Mapping[str, Any]) -> KeyLookup:
    """Resolve `options` (asyncssh.connect keyword arguments) through ~/.ssh/config."""
    resolved = await asyncssh.SSHClientConnectionOptions.construct(
        host=options["host"],
        port=options.get("port", ()),
        username=options.get("username", ()),
        config=options.get("config", ()),
        known_hosts=None,
        client_keys=None,  # no key files read just to learn a name
    )
    host = resolved.host_key_alias or resolved.host
    return KeyLookup(str(host), int(resolved.port))


async def fetch_host_key(
    options: Mapping[str, Any], timeout_s: float, algorithms: tuple[str, ...] = ()
) -> asyncssh.SSHKey:
    """The key the host presents (through ProxyJump if the config says so).

    `algorithms` asks for a key of those types, so a host holding several keys is
    compared with the one known_hosts lists rather than its preferred one.
    """
    key = await asyncio.wait_for(
        asyncssh.get_server_host_key(
            options["host"],
            options.get("port", ()),
            config=options.get("config", ()),
            server_host_key_algs=list(algorithms) if algorithms else (),
        ),
        timeout_s,
    )
    if key is None:
        raise asyncssh.KeyExchangeFailed("the host presented no host key")
    return key


def known_keys(path: Path, lookup: KeyLookup) -> KnownKeys:
    """What `path` says about the host; ValueError (naming the file) if it cannot be parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return KnownKeys((), ())
    try:
        entries = asyncssh.import_known_hosts(text)
    except (ValueError, asyncssh.KeyImportError) as exc:
        raise ValueError(f"{path} cannot be parsed: {exc}") from None
    port = None if lookup.port == DEFAULT_SSH_PORT else lookup.port
    trusted, _, revoked, *_ = entries.match(lookup.host, "", port)
    return KnownKeys(tuple(trusted), tuple(revoked))


def signature_algorithms(keys: tuple[asyncssh.SSHKey, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a.decode() for key in keys for a in key.sig_algorithms))


def add_host_key(path: Path, lookup: KeyLookup, key: asyncssh.SSHKey, *, replace: bool) -> None:
    """Append the host's key; with `replace`, first drop the entries naming this host."""
    try:
        old = path.read_bytes()
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        old, mode = b"", 0o600
    lines = old.decode("utf-8").splitlines(keepends=True)
    if replace:
        lines = [kept for line in lines if (kept := without_host(line, lookup.pattern))]
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lines.append(format_line(lookup, key) + "\n")
    write_atomically(path, "".join(lines).encode("utf-8"), mode)


def without_host(line: str, pattern: str) -> str:
    """`line` with `pattern` taken out of its host list ("" when nothing is left).

    Comments, marker lines (@revoked, @cert-authority: the user's policy) and wildcard
    patterns are kept as they are.
    """
    body = line.strip()
    if not body or body.startswith(("#", "@")):
        return line
    hosts, _, rest = line.lstrip().partition(" ")
    if hosts.startswith("|"):
        return "" if hashed_host_matches(hosts, pattern) else line
    names = hosts.split(",")
    if pattern not in names:
        return line
    left = [name for name in names if name != pattern]
    return f"{','.join(left)} {rest}" if left else ""


def hashed_host_matches(field: str, pattern: str) -> bool:
    """OpenSSH's `|1|salt|hash` (HMAC-SHA1 of the host pattern)."""
    parts = field.split("|")
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt, expected = base64.b64decode(parts[2]), base64.b64decode(parts[3])
    except ValueError:
        return False
    return hmac.compare_digest(hmac.new(salt, pattern.encode(), hashlib.sha1).digest(), expected)


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write beside `path`, fsync, then rename over it: readers see old or new, never half."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


async def key_refusal(target: SshTarget, exc: Exception) -> HostKeyRejected | None:
    """Why the host's key was refused, with its fingerprint: unknown, changed or revoked.

    None when `exc` is a key exchange failure that known_hosts had no part in.
    """
    options = target.connect_options()
    known = KnownKeys((), ())
    where = target.where
    with contextlib.suppress(OSError, ValueError):  # then it reads as an unknown key
        lookup = await key_lookup(options)
        where = lookup.pattern
        if target.known_hosts is not None:
            known = known_keys(target.known_hosts, lookup)
    if isinstance(exc, asyncssh.KeyExchangeFailed) and not known.trusted:
        return None
    key: asyncssh.SSHKey | None = None
    with contextlib.suppress(OSError, asyncio.TimeoutError, asyncssh.Error):
        key = await presented_key(options, target.connect_timeout_s, known.trusted)
    shown = fingerprint(key) if key is not None else "unavailable (could not fetch it again)"
    name, file = target.host_name, target.known_hosts or "known_hosts"
    if key is not None and key in known.revoked:
        return HostKeyRejected(
            f"host {name} ({where}) presented a REVOKED host key",
            f"{file} marks {shown} as @revoked",
            "ask the host's owner for its new key; fleetdeck will not trust a revoked one",
            fingerprint(key),
        )
    if known.trusted:
        listed = ", ".join(fingerprint(k) for k in known.trusted)
        return HostKeyRejected(
            f"host {name} ({where}) presented a CHANGED host key",
            f"{file} lists {listed} for it, but it now presents {shown}: someone may be"
            " intercepting the connection, or the host was reinstalled",
            "ask the host's owner whether its key changed; only if so, run "
            f"`fleetdeck trust FILE {name} --replace`",
            fingerprint(key) if key is not None else None,
        )
    return HostKeyRejected(
        f"host {name} ({where}) is not in {file}",
        f"it presents the key {shown}, which nothing vouches for",
        "check that fingerprint with the host's owner (`ssh-keygen -lf "
        f"/etc/ssh/ssh_host_ed25519_key.pub` there), then run `fleetdeck trust FILE {name}`",
        fingerprint(key) if key is not None else None,
    )


async def presented_key(
    options: Mapping[str, Any], timeout_s: float, listed: tuple[asyncssh.SSHKey, ...] = ()
) -> asyncssh.SSHKey:
    """The key the host presents: of a type in `listed` if it has one (what a refused
    handshake asked for, compared like for like), else the one it prefers. Raises the
    last OSError, asyncio.TimeoutError or asyncssh.Error."""
    algorithms = signature_algorithms(listed)
    last: BaseException = asyncio.TimeoutError()
    for wanted in (algorithms, ()) if algorithms else ((),):
        try:
            return await fetch_host_key(options, timeout_s, wanted)
        except (OSError, asyncio.TimeoutError, asyncssh.Error) as exc:
            last = exc
    raise last
