"""What the endpoint passes on of requests' and responses' headers, and its own answers."""

from __future__ import annotations

import json

from multidict import CIMultiDict, CIMultiDictProxy

from fleetdeck.core.endpoint.headers import error_response, forwarded_headers, relayed_headers


def test_hop_by_hop_headers_are_not_forwarded_and_authorization_is() -> None:
    sent = CIMultiDict(
        [
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
        ]
    )
    assert list(forwarded_headers(CIMultiDictProxy(sent)).items()) == [
        ("Authorization", "Bearer key"),
        ("X-Custom", "a"),
        ("x-custom", "b"),
    ]


def test_upstream_hop_by_hop_headers_are_dropped_from_responses() -> None:
    upstream = [
        (b"content-type", b"text/event-stream"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Content-Length", b"12"),
        (b"Connection", b"close, X-Private"),
        (b"x-private", b"1"),
        (b"Keep-Alive", b"timeout=5"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]
    assert list(relayed_headers(upstream).items()) == [
        ("content-type", "text/event-stream"),
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
    ]


def test_error_responses_are_openai_shaped_json() -> None:
    response = error_response(503, "no ready replica of deployment llama", "unavailable")
    assert response.status == 503
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"] == "1"
    assert response.body is not None
    assert json.loads(bytes(response.body)) == {  # type: ignore[arg-type]
        "error": {"message": "no ready replica of deployment llama", "type": "unavailable"}
    }
