"""known_hosts reading and writing (hosts.known_hosts), checked against asyncssh's matcher."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

import asyncssh
import pytest

from fleetdeck.hosts.known_hosts import (
    KeyLookup,
    add_host_key,
    fingerprint,
    format_line,
    key_lookup,
    known_keys,
    public_key_text,
    without_host,
)


def new_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519").convert_to_public()


def hashed(pattern: str, salt: bytes = b"0123456789abcdefghij") -> str:
    digest = hmac.new(salt, pattern.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def test_pattern_uses_brackets_off_port_22() -> None:
    assert KeyLookup("10.0.0.5", 22).pattern == "10.0.0.5"
    assert KeyLookup("10.0.0.5", 2222).pattern == "[10.0.0.5]:2222"


@pytest.mark.parametrize("port", [22, 2222])
def test_a_written_line_is_what_asyncssh_trusts(tmp_path: Path, port: int) -> None:
    key = new_key()
    lookup = KeyLookup("gpu-a.example", port)
    path = tmp_path / "known_hosts"
    add_host_key(path, lookup, key, replace=False)
    assert path.read_text() == f"{format_line(lookup, key)}\n"
    trusted, *_ = asyncssh.read_known_hosts(str(path)).match("gpu-a.example", "", port)
    assert trusted == [key]
    assert known_keys(path, lookup).vouches_for(key)
    assert not known_keys(path, KeyLookup("gpu-b.example", port)).trusted


def test_fingerprint_is_openssh_sha256() -> None:
    key = new_key()
    raw = base64.b64decode(public_key_text(key).split()[1])
    expected = base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
    assert fingerprint(key) == f"SHA256:{expected}"


def test_missing_file_vouches_for_nothing(tmp_path: Path) -> None:
    known = known_keys(tmp_path / "absent", KeyLookup("h", 22))
    assert known.trusted == () and known.revoked == ()


def test_unparseable_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_text("@bogus h ssh-ed25519 AAAA\n")
    with pytest.raises(ValueError, match=str(path)):
        known_keys(path, KeyLookup("h", 22))


def test_port_specific_lookup_falls_back_like_asyncssh(tmp_path: Path) -> None:
    old = new_key()
    path = tmp_path / "known_hosts"
    path.write_text(f"10.0.0.5 {public_key_text(old)}\n")
    # No [10.0.0.5]:2222 entry: asyncssh falls back to the port-less one, so do we.
    assert known_keys(path, KeyLookup("10.0.0.5", 2222)).trusted == (old,)


def test_hashed_and_revoked_entries_are_read(tmp_path: Path) -> None:
    good, bad = new_key(), new_key()
    path = tmp_path / "known_hosts"
    path.write_text(
        f"{hashed('[h]:2200')} {public_key_text(good)}\n@revoked [h]:2200 {public_key_text(bad)}\n"
    )
    known = known_keys(path, KeyLookup("h", 2200))
    assert known.trusted == (good,) and known.revoked == (bad,)
    assert known.vouches_for(good) and not known.vouches_for(bad)


def test_add_creates_a_private_file_and_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "ssh" / "known_hosts"
    add_host_key(path, KeyLookup("h", 22), new_key(), replace=False)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert os.listdir(path.parent) == ["known_hosts"]  # no temporary file left behind


def test_add_keeps_every_existing_byte_and_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    before = b"# mine\n\nother.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBad   comment"
    path.write_bytes(before)  # no trailing newline
    path.chmod(0o644)
    key = new_key()
    add_host_key(path, KeyLookup("h", 2200), key, replace=False)
    after = path.read_bytes()
    assert after == before + f"\n[h]:2200 {public_key_text(key)}\n".encode()
    assert path.stat().st_mode & 0o777 == 0o644


def test_replace_drops_only_this_hosts_entries(tmp_path: Path) -> None:
    old, other, new = new_key(), new_key(), new_key()
    kept = [
        "# comment [h]:2200\n",
        f"other {public_key_text(other)}\n",
        f"[h]:22000 {public_key_text(other)}\n",  # another port of the same address
        f"@cert-authority [h]:2200 {public_key_text(other)}\n",
        f"[h]:* {public_key_text(other)}\n",  # a wildcard is the user's policy
    ]
    path = tmp_path / "known_hosts"
    path.write_text(
        kept[0]
        + f"[h]:2200 {public_key_text(old)}\n"
        + kept[1]
        + f"alias,[h]:2200 {public_key_text(old)} note\n"
        + kept[2]
        + f"{hashed('[h]:2200')} {public_key_text(old)}\n"
        + kept[3]
        + kept[4]
    )
    add_host_key(path, KeyLookup("h", 2200), new, replace=True)
    lines = path.read_text().splitlines(keepends=True)
    assert lines == [
        kept[0],
        kept[1],
        f"alias {public_key_text(old)} note\n",
        kept[2],
        kept[3],
        kept[4],
        f"[h]:2200 {public_key_text(new)}\n",
    ]
    trusted = known_keys(path, KeyLookup("h", 2200)).trusted
    assert new in trusted and old not in trusted


def test_without_host_leaves_unrelated_lines_untouched() -> None:
    line = "  h2,h3 ssh-ed25519 AAAA x\n"
    assert without_host(line, "h") == line
    assert without_host("h ssh-ed25519 AAAA\n", "h") == ""
    assert without_host("\n", "h") == "\n"


async def test_lookup_follows_ssh_config_and_the_inventory_wins(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "Host gpu-a\n  HostName 10.9.8.7\n  Port 2201\n"
        "Host gpu-b\n  HostName 10.9.8.8\n  HostKeyAlias gpu-b-key\n"
    )
    paths = [str(config)]
    assert await key_lookup({"host": "gpu-a", "config": paths}) == KeyLookup("10.9.8.7", 2201)
    assert await key_lookup({"host": "gpu-a", "port": 22, "config": paths}) == KeyLookup(
        "10.9.8.7", 22
    )
    assert await key_lookup({"host": "gpu-b", "config": paths}) == KeyLookup("gpu-b-key", 22)
    assert await key_lookup({"host": "10.1.1.1", "config": paths}) == KeyLookup("10.1.1.1", 22)
