"""The endpoint's HTTP/1.1 parsing and response framing, fed real bytes through a StreamReader."""

from __future__ import annotations

import asyncio
import json

import pytest

from fleetdeck.core.endpoint.http_messages import (
    BadRequest,
    RequestHead,
    body_length,
    parse_header_line,
    parse_request_line,
    read_body,
    read_head,
)
from fleetdeck.core.endpoint.http_responses import (
    Framing,
    choose_framing,
    chunk,
    end_to_end,
    error_response,
    response_head,
)


def reader_of(data: bytes, *, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=64 * 1024)
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


async def parse(data: bytes) -> tuple[RequestHead, bytes]:
    reader = reader_of(data)
    head = await read_head(reader)
    assert head is not None
    return head, await read_body(reader, head)


async def test_a_post_with_a_body_and_a_query() -> None:
    head, body = await parse(
        b"POST /v1/completions?trace=a%20b&x= HTTP/1.1\r\n"
        b"Host: 127.0.0.1:8000\r\n"
        b"content-type: application/json\r\n"
        b"CONTENT-LENGTH:  13 \r\n"
        b"Authorization: Bearer k\r\n"
        b"\r\n"
        b'{"prompt":""}GET / HTTP/1.1\r\n'  # the next (pipelined) request stays unread
    )
    assert (head.method, head.target, head.version) == (
        "POST",
        "/v1/completions?trace=a%20b&x=",
        (1, 1),
    )
    assert body == b'{"prompt":""}'
    # Header names are matched in any case.
    assert head.get("Content-Type") == head.get("CONTENT-TYPE") == "application/json"
    assert head.get("content-length") == "13"
    assert head.get("missing") is None


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS", "POST"])
async def test_no_content_length_means_no_body(method: str) -> None:
    head, body = await parse(f"{method} /health HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert head.method == method
    assert body == b""
    assert body_length(head) == 0


async def test_a_chunked_body_is_decoded_with_extensions_and_trailers() -> None:
    _, body = await parse(
        b"POST /v1/x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    assert body == b"hello world"


async def test_bare_lf_lines_and_leading_empty_lines_are_tolerated() -> None:
    head, body = await parse(b"\r\n\nGET /v1/models HTTP/1.0\nAccept: */*\n\n")
    assert (head.method, head.target, head.version) == ("GET", "/v1/models", (1, 0))
    assert head.headers == (("Accept", "*/*"),)
    assert body == b""


async def test_a_closed_connection_between_requests_is_not_an_error() -> None:
    assert await read_head(reader_of(b"")) is None
    assert await read_head(reader_of(b"\r\n")) is None
    with pytest.raises(asyncio.IncompleteReadError):
        await read_head(reader_of(b"GET / HTTP/1.1\r\nHost: x\r\n"))


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (b"GET /health", 400),
        (b"GET  /health HTTP/1.1", 400),
        (b"GET /health HTTP/1.1 extra", 400),
        (b"G(T /health HTTP/1.1", 400),
        (b"GET health HTTP/1.1", 400),
        (b"GET /he alth HTTP/1.1", 400),
        (b"GET /health HTTP/1", 400),
        (b"GET /health http/1.1", 400),
        (b"GET /health HTTP/2.0", 505),
        (b"GET /caf\xc3\xa9 HTTP/1.1", 400),
        (b"\x16\x03\x01\x02\x00\x01", 400),  # a TLS ClientHello on the plain port
    ],
)
def test_malformed_request_lines_are_refused(line: bytes, status: int) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_request_line(line)
    assert refused.value.status == status


def test_absolute_form_targets_become_origin_form() -> None:
    assert parse_request_line(b"GET http://127.0.0.1:9/v1/models?a=1 HTTP/1.1")[1] == (
        "/v1/models?a=1"
    )
    assert parse_request_line(b"GET http://h HTTP/1.1")[1] == "/"


@pytest.mark.parametrize(
    "line",
    [b"No-Colon", b"Bad Name: x", b"Name : x", b" folded continuation", b": empty-name"],
)
def test_malformed_header_lines_are_refused(line: bytes) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_header_line(line)
    assert refused.value.status == 400


def test_header_values_lose_surrounding_whitespace_only() -> None:
    assert parse_header_line(b"X-A:\t a  b \t") == ("X-A", "a  b")
    assert parse_header_line(b"X-Empty:") == ("X-Empty", "")
    assert parse_header_line(b"X-Latin: caf\xe9") == ("X-Latin", "café")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (b"Content-Length: 2\r\nContent-Length: 3\r\n", 400),
        (b"Content-Length: -1\r\n", 400),
        (b"Content-Length: 1e3\r\n", 400),
        (b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", 400),
        (b"Transfer-Encoding: gzip, chunked\r\n", 501),
        (b"Content-Length: 99999999999\r\n", 413),
    ],
)
async def test_ambiguous_or_huge_bodies_are_refused(headers: bytes, status: int) -> None:
    reader = reader_of(b"POST /v1/x HTTP/1.1\r\n" + headers + b"\r\n{}")
    head = await read_head(reader)
    assert head is not None
    with pytest.raises(BadRequest) as refused:
        await read_body(reader, head, max_bytes=1000)
    assert refused.value.status == status


async def test_repeated_equal_content_lengths_are_one() -> None:
    _, body = await parse(b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-length: 2\r\n\r\nok")
    assert body == b"ok"


async def test_a_chunked_body_over_the_cap_or_malformed_is_refused() -> None:
    start = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    for chunks, status in ((b"800\r\n" + b"x" * 2048 + b"\r\n0\r\n\r\n", 413), (b"zz\r\n", 400)):
        reader = reader_of(start + chunks)
        head = await read_head(reader)
        assert head is not None
        with pytest.raises(BadRequest) as refused:
            await read_body(reader, head, max_bytes=1000)
        assert refused.value.status == status


async def test_too_many_or_too_long_headers_are_431() -> None:
    many = b"".join(b"X-%d: v\r\n" % i for i in range(101))
    long = b"X-Long: " + b"v" * 70_000 + b"\r\n"
    for headers in (many, long):
        with pytest.raises(BadRequest) as refused:
            await read_head(reader_of(b"GET / HTTP/1.1\r\n" + headers + b"\r\n"))
        assert refused.value.status == 431


def head_with(version: tuple[int, int], *headers: tuple[str, str]) -> RequestHead:
    return RequestHead("GET", "/", version, headers)


def test_keep_alive_follows_http_1_0_and_1_1_rules() -> None:
    assert head_with((1, 1)).keep_alive
    assert not head_with((1, 1), ("Connection", "Close")).keep_alive
    assert not head_with((1, 1), ("connection", "te, close")).keep_alive
    assert not head_with((1, 0)).keep_alive
    assert head_with((1, 0), ("Connection", "Keep-Alive")).keep_alive
    assert head_with((1, 1), ("Expect", "100-Continue")).expects_continue
    assert not head_with((1, 0), ("Expect", "100-continue")).expects_continue


def test_hop_by_hop_headers_are_not_forwarded_and_authorization_is() -> None:
    head = head_with(
        (1, 1),
        ("Host", "127.0.0.1:9000"),
        ("Connection", "keep-alive, X-Hop"),
        ("Keep-Alive", "timeout=5"),
        ("X-Hop", "gone"),
        ("Proxy-Authorization", "Basic x"),
        ("TE", "trailers"),
        ("Trailer", "X"),
        ("Upgrade", "websocket"),
        ("Content-Length", "2"),
        ("Expect", "100-continue"),
        ("Authorization", "Bearer key"),
        ("X-Custom", "a"),
        ("x-custom", "b"),
    )
    assert head.forwarded_headers() == [
        ("Authorization", "Bearer key"),
        ("X-Custom", "a"),
        ("x-custom", "b"),
    ]


@pytest.mark.parametrize(
    ("method", "status", "length", "version", "framing"),
    [
        ("GET", 200, True, (1, 1), Framing.LENGTH),
        ("POST", 200, False, (1, 1), Framing.CHUNKED),
        ("POST", 200, False, (1, 0), Framing.CLOSE),
        ("HEAD", 200, True, (1, 1), Framing.NONE),
        ("GET", 204, False, (1, 1), Framing.NONE),
        ("GET", 304, True, (1, 0), Framing.NONE),
    ],
)
def test_response_framing(
    method: str, status: int, length: bool, version: tuple[int, int], framing: Framing
) -> None:
    assert choose_framing(method, status, length, version) is framing


def test_upstream_hop_by_hop_headers_are_dropped_from_responses() -> None:
    upstream = [
        (b"content-type", b"text/event-stream"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Connection", b"close, X-Private"),
        (b"x-private", b"1"),
        (b"Keep-Alive", b"timeout=5"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]
    kept = end_to_end(upstream)
    assert kept == [
        (b"content-type", b"text/event-stream"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]
    head = response_head(200, "OK", kept, Framing.CHUNKED, True, (1, 1))
    assert head == (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nset-cookie: a=1\r\n"
        b"set-cookie: b=2\r\nTransfer-Encoding: chunked\r\n\r\n"
    )


def test_response_heads_say_how_the_connection_goes_on() -> None:
    length = [(b"Content-Length", b"2")]
    assert response_head(201, "", length, Framing.LENGTH, True, (1, 0)) == (
        b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n"
    )
    # A Content-Length is not sent with a close-delimited body.
    assert response_head(200, "Fine", length, Framing.CLOSE, False, (1, 0)) == (
        b"HTTP/1.1 200 Fine\r\nConnection: close\r\n\r\n"
    )
    assert chunk(b"data: x\n\n") == b"9\r\ndata: x\n\n\r\n"


def test_error_responses_are_openai_shaped_json() -> None:
    raw = error_response(503, "no ready replica of deployment llama", "unavailable")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 503 Service Unavailable"
    assert b"Content-Length: %d" % len(body) in lines
    assert b"Retry-After: 1" in lines and b"Connection: close" in lines
    assert json.loads(body) == {
        "error": {"message": "no ready replica of deployment llama", "type": "unavailable"}
    }
