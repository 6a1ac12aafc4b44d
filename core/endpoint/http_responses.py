"""HTTP/1.1 responses to the endpoint's clients: status line, headers and body framing.

A relayed response keeps the upstream's status, reason and end-to-end headers. Its body
is framed by the upstream's Content-Length when there is one; otherwise it is re-chunked
(so Server-Sent Events flow piece by piece) for HTTP/1.1 clients, or ends with the
connection for HTTP/1.0 ones.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from http import HTTPStatus

from fleetdeck.core.endpoint.http_messages import HOP_BY_HOP

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Framing(enum.Enum):
    NONE = "none"  # HEAD, 1xx, 204, 304: no body whatever the headers say
    LENGTH = "length"  # the upstream's Content-Length
    CHUNKED = "chunked"
    CLOSE = "close"  # the body ends when the connection does (HTTP/1.0 clients)


def choose_framing(
    method: str, status: int, has_content_length: bool, client_version: tuple[int, int]
) -> Framing:
    if method == "HEAD" or status < 200 or status in (204, 304):
        return Framing.NONE
    if has_content_length:
        return Framing.LENGTH
    return Framing.CHUNKED if client_version >= (1, 1) else Framing.CLOSE


def end_to_end(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` minus hop-by-hop ones, including those the Connection header names."""
    pairs = list(headers)
    listed = {
        token.strip().lower()
        for key, value in pairs
        if key.lower() == b"connection"
        for token in value.split(b",")
    }
    return [
        (key, value)
        for key, value in pairs
        if key.decode("latin-1").lower() not in HOP_BY_HOP and key.lower() not in listed
    ]


def response_head(
    status: int,
    reason: str,
    headers: Iterable[tuple[bytes, bytes]],
    framing: Framing,
    keep_alive: bool,
    client_version: tuple[int, int],
) -> bytes:
    """Status line and headers; ``headers`` must already be end-to-end only.

    A Content-Length among ``headers`` is kept only for Framing.LENGTH (and NONE, where
    it describes what a GET would have returned).
    """
    lines = [f"HTTP/1.1 {status} {reason or _phrase(status)}".encode("latin-1")]
    for key, value in headers:
        if framing not in (Framing.LENGTH, Framing.NONE) and key.lower() == b"content-length":
            continue
        lines.append(key + b": " + value)
    if framing is Framing.CHUNKED:
        lines.append(b"Transfer-Encoding: chunked")
    if not keep_alive:
        lines.append(b"Connection: close")
    elif client_version < (1, 1):
        lines.append(b"Connection: keep-alive")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (never the empty last chunk)."""
    return b"%x\r\n%b\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"


def error_response(
    status: int, message: str, error_type: str, *, keep_alive: bool = False
) -> bytes:
    """A whole JSON error response in OpenAI's shape, as vLLM clients expect it."""
    body = json.dumps({"error": {"message": message, "type": error_type}}).encode()
    headers = [
        (b"Content-Type", b"application/json"),
        (b"Content-Length", str(len(body)).encode()),
    ]
    if status == 503:
        headers.append((b"Retry-After", b"1"))
    return response_head(status, "", headers, Framing.LENGTH, keep_alive, (1, 1)) + body


def json_response(
    status: int, payload: object, *, keep_alive: bool, head_only: bool = False
) -> bytes:
    """A whole small JSON response the endpoint answers itself (its /health)."""
    body = json.dumps(payload).encode()
    headers = [
        (b"Content-Type", b"application/json"),
        (b"Content-Length", str(len(body)).encode()),
    ]
    framing = Framing.NONE if head_only else Framing.LENGTH
    head = response_head(status, "", headers, framing, keep_alive, (1, 1))
    return head if head_only else head + body


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
