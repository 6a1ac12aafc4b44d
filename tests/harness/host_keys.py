"""Making ed25519 keys with ssh-keygen and reading the host key a server presents."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
from pathlib import Path


def fingerprint(public_key: str) -> str:
    """OpenSSH's SHA256 fingerprint of a "type base64" public key."""
    digest = hashlib.sha256(base64.b64decode(public_key.split()[1])).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def generate_keys(paths: list[Path]) -> None:
    """One passphrase-less ed25519 key pair per path (``path`` and ``path.pub``)."""
    # All ssh-keygen processes in flight at once: start-up cost is one keygen, not n+1.
    running = [
        subprocess.Popen(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.parent.name]
            + ["-f", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for path in paths
    ]
    for path, process in zip(paths, running, strict=True):
        _, error = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"ssh-keygen for {path} failed: {error.decode().strip()}")


async def presented_host_keys(endpoints: list[tuple[str, int]], timeout: float) -> list[str]:
    """The "type base64" host key each (address, port) presents, or why there is none."""
    # Imported here: the root conftest imports this module, and asyncssh costs ~0.2 s
    # in every test process, most of which never start a fleet.
    import asyncssh

    async def fetch(address: str, port: int) -> str:
        try:
            key = await asyncio.wait_for(asyncssh.get_server_host_key(address, port), timeout)
        except (OSError, asyncssh.Error, asyncio.TimeoutError) as error:
            return f"no key ({error!r})"
        if key is None:
            return "no key"
        return " ".join(key.export_public_key().decode().split()[:2])

    return list(await asyncio.gather(*(fetch(address, port) for address, port in endpoints)))
