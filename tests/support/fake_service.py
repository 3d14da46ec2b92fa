"""A scriptable local HTTP server that reproduces a cloud endpoint's documented wire behaviour.

GitHub Models and Azure AI Foundry cannot be reached from here, so tests replay what their docs
and reference.md section 1-2 describe: JSON error bodies `{"error": {"code", "message"}}` with
their status codes and headers (e.g. `retry-after: 24367` on the daily 429), and SSE streams as
`data: <json>\\n\\n` lines in chunked HTTP, ending in `data: [DONE]` or cut off mid-way.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int = 200
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    events: list[dict] | None = None  # an SSE stream when set, ended by data: [DONE]
    raw: list[bytes] | None = None  # or exactly these bytes, one HTTP chunk each (malformed streams)
    cut_after: int | None = None  # drop the connection after this many events (or raw chunks)
    first_byte_delay: float = 0.0
    empty: bool = False  # no body at all (content-length: 0), as GitHub's retired routes answer
    # A stream that stops after this many events until `release` is set: a test sees it mid-way.
    hold_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)


def sse(event: dict) -> bytes:
    """One well-formed SSE line as the service sends it."""
    return b"data: " + json.dumps(event).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"


def chunk(content: str | None = None, finish_reason: str | None = None, usage: dict | None = None) -> dict:
    """One streaming update as the service sends it."""
    choices = [] if usage else [{"index": 0, "delta": {"content": content} if content else {},
                                 "finish_reason": finish_reason}]
    event = {"id": "chatcmpl-fake", "created": 0, "model": "fake-model", "object": "chat.completion.chunk",
             "choices": choices}
    if usage:
        event["usage"] = usage
    return event


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that resets its keep-alive connection is expected here, not an error.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


# What Azure (Foundry, Azure OpenAI) answers a missing or wrong key with.
UNAUTHORIZED_401 = Reply(status=401, body={"error": {
    "code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                              "provide a valid key for an active subscription and use a correct regional API "
                              "endpoint for your resource."}})


class FakeService:
    """Answers each request with the next scripted Reply (the last one repeats). `replies` is
    one script for every path, or {path suffix: script} to answer routes separately.
    With `require_key`, a request without that key (as `api-key: K` or `Authorization: Bearer K`,
    as Azure accepts it) gets Azure's 401 instead and does not advance the script."""

    def __init__(self, replies: list[Reply] | dict[str, list[Reply]], require_key: str | None = None):
        self.routes = replies if isinstance(replies, dict) else {"": replies}
        self.require_key = require_key
        self.requests: list[dict] = []
        self.served: dict[str, int] = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._answer()

            def do_POST(self):
                self._answer()

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                service.requests.append({"path": path, "headers": dict(self.headers),
                                         "body": json.loads(body) if body else None})
                route = max((r for r in service.routes if path.endswith(r)), key=len, default=None)
                if route is None:
                    self.send_error(404)
                    return
                if service.require_key and service.require_key not in (
                        self.headers.get("api-key"), self.headers.get("Authorization", "").removeprefix("Bearer ")):
                    reply = UNAUTHORIZED_401
                else:
                    script = service.routes[route]
                    served = service.served[route] = service.served.get(route, 0) + 1
                    reply = script[min(served, len(script)) - 1]
                time.sleep(reply.first_byte_delay)
                if reply.events is None and reply.raw is None:
                    data = b"" if reply.empty else json.dumps(reply.body or {}).encode()
                    self.send_response(reply.status)
                    if data:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                chunks = reply.raw if reply.raw is not None else [sse(event) for event in reply.events] + [DONE]
                for index, data in enumerate(chunks):
                    if reply.cut_after is not None and index == reply.cut_after:
                        break
                    if index == reply.hold_after:
                        reply.release.wait(timeout=120)
                    self._chunk(data)
                else:
                    self._chunk(b"")
                    return
                self.close_connection = True
                self.connection.shutdown(2)  # mid-stream: no terminating chunk

            def _chunk(self, data: bytes):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeService:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def tool_call_reply(call_id: str = "call_1", name: str = "get_weather", arguments: str = '{"city": "Oslo"}') -> Reply:
    """A streamed tool call as OpenAI-style services send it: id and name, the arguments in two
    pieces, finish_reason tool_calls, the usage."""
    def event(delta: dict, finish_reason: str | None = None) -> dict:
        return {"id": "chatcmpl-fake", "created": 0, "model": "fake-model", "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
    cut = len(arguments) // 2
    return Reply(events=[
        event({"role": "assistant", "content": None, "tool_calls": [
            {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
        event({"tool_calls": [{"index": 0, "function": {"arguments": arguments[:cut]}}]}),
        event({"tool_calls": [{"index": 0, "function": {"arguments": arguments[cut:]}}]}),
        event({}, "tool_calls"),
        chunk(usage={"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}),
    ])
