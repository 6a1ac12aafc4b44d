"""HTTP/1.1 requests from the endpoint's clients: request line, headers, body framing.

Only what a reverse proxy in front of vLLM needs, and strict where leniency would be a
smuggling risk: a request with both Content-Length and Transfer-Encoding, two different
Content-Lengths, obsolete line folding or whitespace before a header's colon is refused
with 400 rather than guessed at. Chunked request bodies are decoded (and forwarded with
a Content-Length), because the whole body is kept anyway: a request is only retried on
another replica if it can be sent again.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
MAX_LEADING_EMPTY_LINES = 4
DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024

# RFC 9110 token characters: methods and header names.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
# Headers that describe one connection, not the message (RFC 9110 7.6.1), plus
# Proxy-* ones, which are meant for this proxy alone.
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
# Set again by the HTTP client for the upstream request.
_NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "expect"}


class BadRequest(Exception):
    """A request this proxy answers itself with ``status`` and closes the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RequestHead:
    method: str
    target: str  # origin-form: path and query, exactly as the client sent them
    version: tuple[int, int]
    headers: tuple[tuple[str, str], ...]  # names as sent, in order

    def get(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def tokens(self, name: str) -> set[str]:
        """Lower-cased comma-separated tokens of every ``name`` header."""
        wanted = name.lower()
        return {
            token.strip().lower()
            for key, value in self.headers
            if key.lower() == wanted
            for token in value.split(",")
            if token.strip()
        }

    @property
    def keep_alive(self) -> bool:
        connection = self.tokens("connection")
        if self.version >= (1, 1):
            return "close" not in connection
        return "keep-alive" in connection

    @property
    def expects_continue(self) -> bool:
        return "100-continue" in self.tokens("expect") and self.version >= (1, 1)

    def forwarded_headers(self) -> list[tuple[str, str]]:
        """The end-to-end headers, for the upstream request (Authorization included)."""
        listed = self.tokens("connection")
        return [
            (key, value)
            for key, value in self.headers
            if key.lower() not in _NOT_FORWARDED and key.lower() not in listed
        ]


def parse_request_line(line: bytes) -> tuple[str, str, tuple[int, int]]:
    """``GET /v1/models?x=1 HTTP/1.1`` -> (method, origin-form target, version)."""
    parts = line.split(b" ")
    if len(parts) != 3 or not all(parts):
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    if not _TOKEN.fullmatch(method):
        raise BadRequest(400, "malformed request method")
    matched = _VERSION.fullmatch(version)
    if matched is None:
        raise BadRequest(400, "malformed HTTP version")
    major, minor = int(matched[1]), int(matched[2])
    if major != 1:
        raise BadRequest(505, f"HTTP/{major}.{minor} is not supported; use HTTP/1.1")
    return method.decode("ascii"), _origin_form(target), (major, minor)


def _origin_form(target: bytes) -> str:
    if any(byte <= 0x20 or byte >= 0x7F for byte in target):
        raise BadRequest(400, "malformed request target")
    text = target.decode("ascii")
    if text.startswith("/"):
        return text
    # Absolute-form (what a client configured to use a forward proxy sends).
    matched = re.fullmatch(r"https?://[^/?#]+([^#]*)", text, re.IGNORECASE)
    if matched is None:
        raise BadRequest(400, "malformed request target")
    rest = matched[1]
    return rest if rest.startswith("/") else "/" + rest


def parse_header_line(line: bytes) -> tuple[str, str]:
    """``Name: value`` -> (name, value without surrounding whitespace)."""
    if line[:1] in (b" ", b"\t"):
        raise BadRequest(400, "obsolete header line folding")
    name, colon, value = line.partition(b":")
    if not colon or not _TOKEN.fullmatch(name):
        raise BadRequest(400, "malformed header line")
    if b"\r" in value or b"\n" in value or b"\0" in value:
        raise BadRequest(400, "malformed header value")
    return name.decode("ascii"), value.strip(b" \t").decode("latin-1")


async def _read_line(reader: asyncio.StreamReader, budget: int) -> bytes:
    """One line without its CRLF (or bare LF); raises BadRequest past ``budget`` bytes."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError as error:
        raise BadRequest(431, "request header line too long") from error
    if len(line) > budget:
        raise BadRequest(431, "request headers too large")
    return line[:-2] if line.endswith(b"\r\n") else line[:-1]


async def read_head(reader: asyncio.StreamReader) -> RequestHead | None:
    """The next request's line and headers; None if the client closed between requests.

    Raises BadRequest for what must be answered with an error, and
    asyncio.IncompleteReadError when the client went away mid-head.
    """
    budget = MAX_HEAD_BYTES
    for _ in range(MAX_LEADING_EMPTY_LINES + 1):
        if reader.at_eof():
            return None
        try:
            line = await _read_line(reader, budget)
        except asyncio.IncompleteReadError as error:
            if not error.partial.strip():
                return None
            raise
        budget -= len(line) + 2
        if line:
            break
    else:
        raise BadRequest(400, "malformed request line")
    method, target, version = parse_request_line(line)
    headers: list[tuple[str, str]] = []
    while True:
        line = await _read_line(reader, budget)
        budget -= len(line) + 2
        if not line:
            break
        if len(headers) == MAX_HEADERS:
            raise BadRequest(431, f"more than {MAX_HEADERS} request headers")
        headers.append(parse_header_line(line))
    return RequestHead(method, target, version, tuple(headers))


def body_length(head: RequestHead) -> int | None:
    """The Content-Length to read, 0 for no body, or None for a chunked body."""
    lengths = {value.strip() for key, value in head.headers if key.lower() == "content-length"}
    codings = [
        token.strip().lower()
        for key, value in head.headers
        if key.lower() == "transfer-encoding"
        for token in value.split(",")
    ]
    if codings:
        if lengths:
            raise BadRequest(400, "both Content-Length and Transfer-Encoding given")
        if codings != ["chunked"]:
            raise BadRequest(501, "only the chunked transfer coding is supported")
        return None
    if not lengths:
        return 0  # no framing header: the request has no body, whatever its method
    if len(lengths) > 1:
        raise BadRequest(400, "conflicting Content-Length headers")
    (text,) = lengths
    if not text.isdigit() or not text.isascii():
        raise BadRequest(400, "malformed Content-Length")
    return int(text)


def expected_body(head: RequestHead, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> int | None:
    """Like body_length(), and 413 for a declared length over ``max_bytes``.

    Checked before a client that sent ``Expect: 100-continue`` is told to go on.
    """
    length = body_length(head)
    if length is not None and length > max_bytes:
        raise BadRequest(413, f"request body larger than {max_bytes} bytes")
    return length


async def read_body(
    reader: asyncio.StreamReader, head: RequestHead, max_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> bytes:
    """The whole body, de-chunked; raises BadRequest (413 past ``max_bytes``)."""
    length = expected_body(head, max_bytes)
    if length is None:
        return await _read_chunked(reader, max_bytes)
    return await reader.readexactly(length) if length else b""


async def _read_chunked(reader: asyncio.StreamReader, max_bytes: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_text = (await _read_line(reader, MAX_HEAD_BYTES)).split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise BadRequest(400, "malformed chunk size")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > max_bytes:
            raise BadRequest(413, f"request body larger than {max_bytes} bytes")
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise BadRequest(400, "malformed chunk")
    # Trailer fields are dropped: nothing upstream reads them.
    budget = MAX_HEAD_BYTES
    while line := await _read_line(reader, budget):
        budget -= len(line) + 2
    return b"".join(parts)
