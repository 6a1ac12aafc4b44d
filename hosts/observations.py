"""The host program's messages as the console sees them: typed, immutable, validated.

They are declared once, in hosts/remote/protocol.py (stdlib only, so the host program
can build its replies from the very same classes) and re-exported here for the console.
`parse_message` (a JSON line) and `read_message` (decoded JSON) validate what a host sent
against them with pydantic, which accepts stdlib dataclasses and returns instances of
them: a reply that does not match becomes a RemoteCommandFailed naming the host, the
command and the offending fields, never a KeyError deep inside the engine.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter, ValidationError

from fleetdeck.hosts.errors import RemoteCommandFailed
from fleetdeck.hosts.remote.protocol import (
    ExitRecord,
    FleetOverrides,
    FleetWriteReply,
    GpuProcess,
    GpuReading,
    HostLoad,
    HostObservation,
    LaunchReply,
    Lease,
    LeaseReply,
    LogErrorMessage,
    LogLineMessage,
    Message,
    OrphanProcess,
    ReplicaObservation,
    StopReply,
)

__all__ = [
    "ExitRecord",
    "FleetOverrides",
    "FleetWriteReply",
    "GpuProcess",
    "GpuReading",
    "HostLoad",
    "HostObservation",
    "LaunchReply",
    "Lease",
    "LeaseReply",
    "LogErrorMessage",
    "LogLineMessage",
    "OrphanProcess",
    "ReplicaObservation",
    "StopReply",
    "parse_message",
    "read_message",
]

M = TypeVar("M", bound=Message)

# Built once: a TypeAdapter compiles its validator when made (milliseconds), and
# observations arrive every second from every host.
_ADAPTERS: dict[type[Message], TypeAdapter[Any]] = {
    kind: TypeAdapter(kind)
    for kind in (
        HostObservation,
        LaunchReply,
        StopReply,
        LeaseReply,
        FleetWriteReply,
        LogLineMessage,
        LogErrorMessage,
    )
}
MAX_ERRORS_SHOWN = 3


def read_message(kind: type[M], data: object, *, host: str, command: str) -> M:
    """`data` (decoded JSON) as a `kind`, or RemoteCommandFailed saying what is wrong."""
    try:
        return cast(M, _ADAPTERS[kind].validate_python(data))
    except ValidationError as exc:
        raise _malformed(kind, exc, data, host, command) from None


def parse_message(kind: type[M], line: str, *, host: str, command: str) -> M:
    """A JSON line as a `kind`: RemoteCommandFailed when it is not one, ValueError when it
    is not JSON at all (a line cut short by a dropped connection: worth a retry).

    Parses and validates in one pass (pydantic-core's JSON parser): about half the time of
    json.loads and then validating the dicts, on an observation of 10 replicas.
    """
    try:
        return cast(M, _ADAPTERS[kind].validate_json(line))
    except ValidationError as exc:
        invalid = [e for e in exc.errors(include_url=False) if e["type"] == "json_invalid"]
        if invalid:
            reason = invalid[0]["msg"]
            raise ValueError(f"{host} sent a {command} line that is not JSON: {reason}") from None
        raise _malformed(kind, exc, json.loads(line), host, command) from None


def _malformed(
    kind: type[Message], error: ValidationError, data: object, host: str, command: str
) -> RemoteCommandFailed:
    return RemoteCommandFailed(
        f"{host} sent a reply to `{command}` that fleetdeck cannot read",
        f"not a valid {kind.__name__}: {describe(error, data)}",
        "the host program and this console ship together, so this is a bug or a "
        "hand-edited file in the host's state_dir; run `fleetdeck check FILE`, and "
        "report it with this message if it persists",
    )


def describe(error: ValidationError, data: object = None) -> str:
    """The first few problems, one line each: where (a dotted path), what, and the value."""
    problems = []
    for item in error.errors(include_url=False)[:MAX_ERRORS_SHOWN]:
        text = f"{_where(item['loc'], data)}: {item['msg'].lower()}"
        if item["type"] != "missing":
            text += f" (got {_short(item['input'])})"
        problems.append(text)
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def _where(loc: tuple[int | str, ...], data: object) -> str:
    """`loc` as a dotted path, each replica in it named: replicas.3 (llm/r1).port.

    The name is what a person can look for on the host (<state_dir>/llm/r1/spec.json).
    """
    parts = []
    for part in loc:
        parts.append(str(part))
        data = _child(data, part)
        if isinstance(data, dict) and {"deployment", "replica"} <= data.keys():
            parts[-1] += f" ({data['deployment']}/{data['replica']})"
    return ".".join(parts) or "the reply"


def _child(data: object, key: int | str) -> object:
    if isinstance(data, dict):
        return data.get(key)
    if isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
        return data[key]
    return None


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
