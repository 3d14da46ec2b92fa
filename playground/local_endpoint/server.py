"""HTTP front of the embedded model: the Azure AI Model Inference API on the standard library.

Streaming uses chunked transfer encoding with one SSE event per HTTP chunk: the SDK (through
urllib3) hands each chunk over as it arrives, where a close-delimited body would be buffered.

The same routes answer at the root, under /v1 and under /openai/v1, so both the Azure AI
Inference SDK and the OpenAI SDK (base_url .../v1 or .../openai/v1) can use the endpoint.

Browsers: a web page may send requests to 127.0.0.1 (or, through DNS rebinding, to a name of
its own that resolves there). A request whose Host header is not an address this server
answers at, or whose Origin is another site, is refused with 403; no CORS header is ever sent,
so no page of another origin can read an answer.

Clients that hold a connection: a request is read only as far as its Content-Length says, which
must be one whole number within the limit (anything else is refused before the body is read,
on every route, and the connection is closed); the whole request (line, headers, body) must
arrive within `request_timeout` seconds of the server being ready for it, which also ends idle
keep-alive connections and clients that trickle their headers a byte at a time. A copy of the
model is taken only once the body has been read and validated.
"""

from __future__ import annotations

import hmac
import io
import ipaddress
import json
import re
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .model import MODEL_NAME, MODEL_PROVIDER, ClientGone, EmbeddedModel, ModelInfo
from .validation import ChatRequest, RequestError, parse_json, validate_chat_request

PREFIXES = ("", "/v1", "/openai/v1")
CHAT_PATHS = {prefix + "/chat/completions" for prefix in PREFIXES}
INFO_PATHS = {prefix + "/info" for prefix in PREFIXES}
MODELS_PATHS = {prefix + "/models" for prefix in PREFIXES}
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_KEEP_ALIVE = 10.0  # seconds between keep-alive lines to a request waiting for the model
# Seconds a client has to send a whole request: ample for 8 MiB over a slow link, short enough
# that connections which send nothing (or a byte now and then) do not pile up. Also the longest
# a write may stall on a client that stopped reading.
DEFAULT_REQUEST_TIMEOUT = 30.0
# Levels of arrays and objects a request body may nest: json.loads recurses once per level and
# fails near Python's recursion limit (1000) with a RecursionError; the tool-schema grammar, the
# chat template and the request log recurse again over what it returns. Real requests (a tool's
# JSON schema included) stay far below.
MAX_JSON_DEPTH = 100
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class EndpointServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        model: EmbeddedModel,
        api_key: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        request_log: Callable[[dict[str, Any]], None] | None = None,
        keep_alive: float = DEFAULT_KEEP_ALIVE,
        allowed_hosts: Iterable[str] = (),
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ):
        super().__init__(address, Handler)
        self.keep_alive = keep_alive
        self.request_timeout = request_timeout
        self.model = model
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes
        self.request_log = request_log
        self.bound_host = address[0]
        self.allowed_hosts = {name.lower().strip("[]") for name in allowed_hosts}

    @property
    def info(self) -> ModelInfo | None:
        return getattr(self.model, "info", None)

    def host_allowed(self, header: str | None) -> bool:
        """Whether a Host header names this server. Bound to one address: a loopback name or
        that address, at our port. Bound to every interface: any IP literal and `localhost`, at
        any port (a NAT or container may map another; an address literal cannot be rebound to
        another site). Always: the names given with --allowed-host, at any port (a proxy or
        port forward in front uses its own)."""
        if not header:
            return False
        parts = urlsplit("//" + header)
        try:
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError:  # a port that is not a number
            return False
        if not host:
            return False
        if host in self.allowed_hosts:
            return True
        if self.bound_host in WILDCARD_HOSTS:
            if host == "localhost":
                return True
            try:
                ipaddress.ip_address(host)
            except ValueError:
                return False
            return True
        if port is not None and port != self.server_address[1]:
            return False
        return host in LOOPBACK_NAMES or host == self.bound_host.lower().strip("[]")


class _DeadlineReader(io.RawIOBase):
    """The socket as the request parser reads it: no read may wait past `deadline`. A timeout on
    each read alone would let a client that sends a byte now and then hold the connection forever."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._timeout = timeout
        self.deadline = time.monotonic() + timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request did not arrive in time")
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv_into(buffer)
        finally:
            self._sock.settimeout(self._timeout)  # writes keep the plain timeout


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EndpointServer
    server_version = "playground-local-endpoint"
    sys_version = ""
    disable_nagle_algorithm = True  # small SSE writes must leave at once
    _unread = 0  # bytes of the body announced and not read yet

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.request_timeout)  # a write stalls at most this long
        self.rfile.close()  # the stdlib's reader: replaced by one that keeps the request's deadline
        self._reader = _DeadlineReader(self.connection, self.server.request_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        # The whole request must arrive within the timeout from now: an idle keep-alive
        # connection is closed after that time too.
        self._reader.deadline = time.monotonic() + self.server.request_timeout
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # Access lines only (method, path without query, status): never headers or bodies.
        sys.stderr.write("local-endpoint: %s\n" % (format % args))

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        self.log_message('"%s %s" %s', self.command, urlsplit(self.path).path, str(code))

    # --- responses ---------------------------------------------------------------------

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: RequestError) -> None:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        self._send_json(error.status, error.body(), headers)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    # --- routing -----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_OPTIONS(self) -> None:
        # A CORS preflight: never granted (see the module docstring).
        self._dispatch("OPTIONS")

    def _model_description(self) -> tuple[str, str, int]:
        info = self.server.info
        return (info.name, info.provider, info.created) if info else (MODEL_NAME, MODEL_PROVIDER, 0)

    def _check_origin(self) -> None:
        host = self.headers.get("Host")
        if not self.server.host_allowed(host):
            raise RequestError(403, "forbidden_host", f"This endpoint does not answer requests for the host "
                               f"{(host or '(none)')[:100]!r}. Use http://127.0.0.1:{self.server.server_address[1]}, "
                               "or start it with --allowed-host NAME.")
        origin = self.headers.get("Origin")
        if origin is not None and origin.lower() != f"http://{host}".lower():
            raise RequestError(403, "cross_origin", "This endpoint does not answer requests from web pages of "
                               "other origins.")

    def _dispatch(self, method: str) -> None:
        self._streaming = False
        path = urlsplit(self.path).path.rstrip("/") or "/"
        try:
            self._check_framing()
            self._check_origin()
            if path not in CHAT_PATHS:
                self._discard_body()  # only a chat request has a use for a body
            name, provider, created = self._model_description()
            if path in INFO_PATHS:
                self._require_method(method, "GET")
                self._authorize()
                self._send_json(200, {
                    "model_name": name,
                    "model_type": "chat-completions",
                    "model_provider_name": provider,
                })
            elif path in MODELS_PATHS or path.rsplit("/", 1)[0] in MODELS_PATHS:
                self._require_method(method, "GET")
                self._authorize()
                model = {"id": name, "object": "model", "created": created, "owned_by": provider}
                if path in MODELS_PATHS:
                    self._send_json(200, {"object": "list", "data": [model]})
                elif path.rsplit("/", 1)[1] == name:
                    self._send_json(200, model)
                else:
                    raise RequestError(404, "model_not_found", f"This endpoint serves one model, {name!r}.")
            elif path in CHAT_PATHS:
                self._require_method(method, "POST")
                self._authorize()
                self._chat(path)
            else:
                raise RequestError(404, "not_found", f"No route {method} {path}. This endpoint serves "
                                   "GET /info, GET /models and POST /chat/completions (also under /v1 and /openai/v1).")
        except RequestError as error:
            self._discard_body()
            self._send_error(error)
        except (BrokenPipeError, ConnectionResetError, TimeoutError, ClientGone):
            self.close_connection = True
        except Exception as exc:  # a bug or a llama.cpp failure must not kill the connection silently
            self.log_message("internal error: %r", exc)
            self.close_connection = True
            if not self._streaming:
                self._send_error(RequestError(500, "internal_error", "The embedded model failed on this request."))
        if self._unread:
            self.close_connection = True  # what is left of the body must never be read as a next request

    def _require_method(self, method: str, allowed: str) -> None:
        if method != allowed:
            raise RequestError(405, "method_not_allowed", f"Use {allowed} on this route.")

    def _authorize(self) -> None:
        expected = self.server.api_key
        if not expected:
            return
        bearer = self.headers.get("Authorization", "")
        offered = [self.headers.get("api-key", ""), bearer[7:] if bearer.lower().startswith("bearer ") else ""]
        # Compare every offered value in constant time; never short-circuit on the first match.
        matches = [hmac.compare_digest(value.encode(), expected.encode()) for value in offered]
        if not any(matches):
            raise RequestError(401, "unauthorized", "Missing or wrong API key: send it as "
                               "'Authorization: Bearer <key>' or 'api-key: <key>'.")

    # --- the body ------------------------------------------------------------------------

    def _check_framing(self) -> None:
        """Settle how long the body is before anything else, on every route: no route may read
        past the limit, wait for a body that does not come, or leave part of one to be read as
        the next request. A refused body is never read: the connection is closed instead."""
        self._unread = 0
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            raise RequestError(411, "length_required", "Send the body with a Content-Length header: "
                               "this endpoint does not accept Transfer-Encoding (chunked bodies).")
        values = self.headers.get_all("Content-Length") or []
        if not values:
            if self.command == "POST":
                self.close_connection = True
                raise RequestError(411, "length_required", "Send the body with a Content-Length header.")
            return
        text = values[0].strip()
        if len(values) > 1 or not (text.isascii() and text.isdigit()):
            self.close_connection = True
            raise RequestError(400, "invalid_content_length", "The Content-Length header must be one whole "
                               f"number of bytes, got {', '.join(values)[:40]!r}.")
        length = int(text)
        if length > self.server.max_body_bytes:
            self.close_connection = True
            raise RequestError(413, "request_too_large",
                               f"The request body is {length} bytes; the limit is {self.server.max_body_bytes}.")
        self._unread = length

    def _read_body(self) -> bytes:
        length, self._unread = self._unread, 0
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True
            raise RequestError(408, "request_timeout", "The request did not arrive in full within "
                               f"{self.server.request_timeout:g} seconds.") from None
        if len(body) < length:
            self.close_connection = True
            raise RequestError(400, "incomplete_body", f"The connection ended after {len(body)} of the "
                               f"{length} bytes that Content-Length announced.")
        return body

    def _discard_body(self) -> None:
        # Read a body no one uses, so a keep-alive connection stays in step; one that does not
        # arrive in time closes the connection instead (the answer stays the original one).
        if self._unread and not self.close_connection:
            try:
                self._read_body()
            except RequestError:
                pass

    # --- chat --------------------------------------------------------------------------

    def _chat(self, path: str) -> None:
        raw = self._read_body()
        check_json_depth(raw)
        body = parse_json(raw)
        extra = self.headers.get("extra-parameters")
        if self.server.request_log:
            self.server.request_log({"path": path, "extra-parameters": extra, "body": body})
        request = validate_chat_request(body, self.server.model.n_ctx, extra)
        if request.stream:
            self._stream(request)
        else:
            self._send_json(200, self.server.model.complete(request, self._client_gone))

    def _client_gone(self) -> bool:
        """Whether the client closed its side (timed out, gave up) while a whole reply is being
        generated: its socket then reads as end-of-file. A streamed request finds out by
        failing to write; a non-streamed one writes nothing until the end, so it asks."""
        try:
            # poll, not select: select fails on descriptors past 1023, which many open
            # connections reach, and would then take every client for gone.
            poller = select.poll()
            poller.register(self.connection, select.POLLIN)
            return bool(poller.poll(0)) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _start_stream(self) -> None:
        if not self._streaming:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._streaming = True

    def _keep_alive(self) -> None:
        # Queued behind other generations: an empty SSE line (which the SDK skips) keeps the
        # client's read timeout from firing while it waits its turn.
        self._start_stream()
        self._write_chunk(b"\n")

    def _stream(self, request: ChatRequest) -> None:
        chunks: Generator[dict[str, Any], None, None] = self.server.model.stream(
            request, self._keep_alive, self.server.keep_alive)
        try:
            # The first chunk comes only after validation and the context check, so errors
            # can still be sent as a plain JSON status instead of inside the stream.
            first = next(chunks)
            self._start_stream()
            for chunk in _prepend(first, chunks):
                self._write_chunk(b"data: " + json.dumps(chunk).encode("utf-8") + b"\n\n")
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            # The client hung up (a Stop button) or stopped reading: end generation and free the model.
            self.close_connection = True
        finally:
            chunks.close()


def check_json_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse a body whose arrays and objects nest deeper than `limit`, before it is parsed
    (see MAX_JSON_DEPTH). Brackets inside strings are text, so strings are left out first."""
    depth = 0
    for byte in _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            raise RequestError(400, "json_too_deep", "The request body's arrays and objects are nested more "
                               f"than {limit} levels deep; the limit is {limit} levels.")


def _prepend(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def json_lines_logger(path: str) -> Callable[[dict[str, Any]], None]:
    """Appends each request (path, extra-parameters header, body; never auth headers)."""
    lock = threading.Lock()

    def log(entry: dict[str, Any]) -> None:
        with lock, open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    return log
