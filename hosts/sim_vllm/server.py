"""The simulator's HTTP server: vLLM's routes, auth rule, errors and access log.

A thread per connection (ThreadingHTTPServer): a request mostly sleeps through its
simulated token latencies, so threads are cheap enough for hundreds at once. The
listening socket is bound long before it listens, as in vLLM: while the model loads the
port is taken but refuses connections.
"""

from __future__ import annotations

import hmac
import json
import socket
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fleetdeck.hosts.sim_vllm import openai_api
from fleetdeck.hosts.sim_vllm.engine import EngineDeadError, SimEngine
from fleetdeck.hosts.sim_vllm.log_writer import LogWriter
from fleetdeck.hosts.sim_vllm.options import SimOptions

VLLM_VERSION = "0.32.0"
# vLLM's AuthenticationMiddleware guards only these prefixes; /health and /metrics stay open.
GUARDED_PREFIXES = ("/v1", "/v2", "/inference")
_GENERATION_ROUTES = {
    "/v1/completions": openai_api.COMPLETION,
    "/v1/chat/completions": openai_api.CHAT,
}
_GET_ROUTES = ("/health", "/version", "/v1/models", "/metrics", "/ping", "/load")
_DEAD = openai_api.ApiError(500, str(EngineDeadError()), "InternalServerError")
_INJECTED = openai_api.ApiError(500, "simulated failure (--sim-error-rate)", "InternalServerError")


@dataclass
class ServerContext:
    options: SimOptions
    engine: SimEngine
    log: LogWriter
    created: int = field(default_factory=lambda: int(time.time()))
    stopping: threading.Event = field(default_factory=threading.Event)
    # --sim-error-rate: failures owed so far; a whole one fails the next request.
    errors_owed: float = 0.0
    errors_lock: threading.Lock = field(default_factory=threading.Lock)

    def injected_error(self) -> bool:
        """Whether this generation request is one --sim-error-rate fails (evenly spread)."""
        rate = self.options.error_rate
        if rate <= 0:
            return False
        with self.errors_lock:
            self.errors_owed += rate
            if self.errors_owed >= 1:
                self.errors_owed -= 1
                return True
        return False


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 2048  # uvicorn's backlog

    def __init__(self, bound: socket.socket, context: ServerContext) -> None:
        super().__init__(bound.getsockname()[:2], SimRequestHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = bound
        self.server_port = bound.getsockname()[1]
        self.context = context


class SimRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "uvicorn"
    sys_version = ""
    timeout = 5.0  # uvicorn's keep-alive timeout as vLLM sets it
    # Like uvicorn: without it, a kept-alive response whose head and body go out in two
    # writes waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True

    @property
    def ctx(self) -> ServerContext:
        server = self.server
        assert isinstance(server, SimHTTPServer)
        return server.context

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the access log is written by _respond, in uvicorn's format

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        raw = self._read_body()
        if self.ctx.stopping.is_set():
            self.close_connection = True
        if not self._authorized(path):
            self._send_json(401, {"error": "Unauthorized"})
        elif path in _GENERATION_ROUTES:
            if method != "POST":
                self._send_json(405, {"detail": "Method Not Allowed"})
            else:
                self._generate(_GENERATION_ROUTES[path], raw)
        elif path in _GET_ROUTES:
            if method != "GET":
                self._send_json(405, {"detail": "Method Not Allowed"})
            else:
                self._get(path)
        else:
            self._send_json(404, {"detail": "Not Found"})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _authorized(self, path: str) -> bool:
        key = self.ctx.options.api_key
        if not key or self.command == "OPTIONS" or not path.startswith(GUARDED_PREFIXES):
            return True
        given = self.headers.get("Authorization") or ""
        return hmac.compare_digest(given.encode(), f"Bearer {key}".encode())

    def _get(self, path: str) -> None:
        ctx = self.ctx
        if path == "/health":
            self._respond(503 if ctx.engine.dead else 200, b"", None)
        elif path == "/metrics":
            body = ctx.engine.metrics.render().encode()
            self._respond(200, body, "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/version":
            self._send_json(200, {"version": VLLM_VERSION})
        elif path == "/v1/models":
            opts = ctx.options
            names = opts.served_model_names or (opts.model,)
            self._send_json(
                200, openai_api.models_list(names, opts.model, opts.max_model_len, ctx.created)
            )
        elif path == "/load":
            self._send_json(200, {"server_load": ctx.engine.in_flight})
        else:  # /ping
            self._respond(200, b"", None)

    def _generate(self, kind: str, raw: bytes) -> None:
        opts = self.ctx.options
        names = opts.served_model_names or (opts.model,)
        try:
            request = openai_api.parse_generation(kind, raw, names, opts.max_model_len)
        except openai_api.ApiError as error:
            self._send_json(error.status, error.body())
            return
        if self.ctx.engine.dead:
            self._send_json(_DEAD.status, _DEAD.body())
        elif self.ctx.injected_error():
            self._send_json(_INJECTED.status, _INJECTED.body())
        elif request.stream:
            self._stream(request)
        else:
            self._complete(request)

    def _tokens(self, request: openai_api.GenerationRequest) -> Generator[str, None, None]:
        return self.ctx.engine.generate(
            request.prompt, request.prompt_tokens, request.max_tokens, request.finish_reason
        )

    def _complete(self, request: openai_api.GenerationRequest) -> None:
        created = int(time.time())
        try:
            pieces = list(self._tokens(request))
        except EngineDeadError:
            self._send_json(_DEAD.status, _DEAD.body())
            return
        body = openai_api.full_response(request, "".join(pieces), len(pieces), created)
        self._send_json(200, body)

    def _stream(self, request: openai_api.GenerationRequest) -> None:
        created = int(time.time())
        tokens = self._tokens(request)
        self.close_connection = True
        self.send_response_only(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")  # we close after a stream: say so
        self.end_headers()
        self._access_log(200)
        count = 0
        try:
            if request.kind == openai_api.CHAT:
                self._event(openai_api.stream_chunk(request, created, None))
            try:
                for piece in tokens:
                    count += 1
                    self._event(openai_api.stream_chunk(request, created, piece))
                self._event(openai_api.stream_chunk(request, created, "", request.finish_reason))
                if request.include_usage:
                    self._event(openai_api.usage_chunk(request, created, count))
            except EngineDeadError:
                self._event(_DEAD.body())
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")
        except OSError:
            pass  # the client went away; closing the generator records the abort
        finally:
            tokens.close()

    def _event(self, payload: dict[str, Any]) -> None:
        self._chunk(b"data: " + _dumps(payload) + b"\n\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        self._respond(status, _dumps(payload), "application/json")

    def _respond(self, status: int, body: bytes, content_type: str | None) -> None:
        self.send_response_only(status)
        if content_type:
            self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._access_log(status)

    def _access_log(self, status: int) -> None:
        host, port = self.client_address[:2]
        phrase = HTTPStatus(status).phrase
        self.ctx.log.uvicorn(
            f'{host}:{port} - "{self.command} {self.path} {self.request_version}" {status} {phrase}'
        )


def _dumps(payload: dict[str, Any]) -> bytes:
    # Starlette's JSONResponse: compact separators, UTF-8 text.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
