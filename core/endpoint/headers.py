"""What an endpoint passes on of a request's and a response's headers, and the answers it
gives itself (OpenAI-shaped errors, /health)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

# Headers that describe one connection, not the message (RFC 9110 7.6.1), plus Proxy-*
# ones, which are meant for this proxy alone.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Set again by the HTTP client for the upstream request, or by the server for the client.
_NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "expect"}
_NOT_RELAYED = HOP_BY_HOP | {"content-length"}


def _connection_tokens(headers: CIMultiDictProxy[str]) -> set[str]:
    return {
        token.strip().lower()
        for value in headers.getall("Connection", [])
        for token in value.split(",")
        if token.strip()
    }


def forwarded_headers(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """A client request's end-to-end headers, for the replica (Authorization included:
    vLLM checks the key itself)."""
    listed = _connection_tokens(headers)
    return CIMultiDict(
        (name, value)
        for name, value in headers.items()
        if name.lower() not in _NOT_FORWARDED and name.lower() not in listed
    )


def relayed_headers(raw: Iterable[tuple[bytes, bytes]]) -> CIMultiDict[str]:
    """A replica's response headers, for the client; framing is the server's to set."""
    pairs = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]
    listed = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return CIMultiDict(
        (name, value)
        for name, value in pairs
        if name.lower() not in _NOT_RELAYED and name.lower() not in listed
    )


def json_response(status: int, payload: object) -> web.Response:
    # json.dumps' default separators: the body clients and tests have always seen.
    body = json.dumps(payload).encode()
    return web.Response(status=status, body=body, headers={"Content-Type": "application/json"})


def error_response(status: int, message: str, error_type: str) -> web.Response:
    """An error in the shape OpenAI clients parse: {"error": {"message", "type"}}."""
    response = json_response(status, {"error": {"message": message, "type": error_type}})
    if status == 503:
        response.headers["Retry-After"] = "1"  # replicas come and go within seconds
    return response
