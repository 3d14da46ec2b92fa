"""How the embedded endpoint reads a request body: a Content-Length that is negative, not a
number, doubled or missing, a chunked body and a body over the limit are refused on every
route, with or without the key, before anything is read; a body sent where none is used is
consumed, never read as a next request; JSON nested deeper than the limit gets a 400 naming
it. Raw sockets against the real endpoint, which must answer normally afterwards."""

from __future__ import annotations

import http.client
import json
import socket
from typing import BinaryIO

import pytest

from playground.local_endpoint.server import DEFAULT_MAX_BODY_BYTES, MAX_JSON_DEPTH
from tests.conftest import TEST_KEY

SMALL = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
# A chat request with the key, one with a wrong key, one to a route that does not exist.
TARGETS = {
    "chat": ("/chat/completions", f"Bearer {TEST_KEY}"),
    "wrong key": ("/chat/completions", "Bearer wrong"),
    "unknown route": ("/nowhere", f"Bearer {TEST_KEY}"),
}


def request_bytes(port: int, path: str, headers: dict[str, str], body: bytes = b"", method: str = "POST") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def read_response(answers: BinaryIO) -> tuple[int, dict[str, str], bytes]:
    """One response from the connection's reader, and not a byte more: whatever follows (a
    response to a request hidden in a body) stays there to be seen."""
    status = int(answers.readline().split()[1])
    headers = {}
    while (line := answers.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, answers.read(int(headers["content-length"]))


def hung_up(answers: BinaryIO) -> bool:
    """Whether the server closed the connection, with nothing more sent (it must not wait for,
    or parse, an unread body)."""
    try:
        return answers.read(1) == b""
    except ConnectionResetError:
        return True


def exchange(port: int, data: bytes) -> tuple[int, dict, bool]:
    """Send a raw request; its answer's status and error, and whether the server then hung up."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock, sock.makefile("rb") as answers:
        sock.sendall(data)
        status, _, payload = read_response(answers)
        return status, json.loads(payload)["error"], hung_up(answers)


def assert_still_serving(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/chat/completions", json.dumps(SMALL),
                     {"Content-Type": "application/json", "Authorization": f"Bearer {TEST_KEY}"})
        response = conn.getresponse()
        assert response.status == 200, response.read()
        assert json.loads(response.read())["choices"][0]["message"]["content"] is not None
    finally:
        conn.close()


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("length", ["-1", "abc", "+2", "1_0", "2, 2", " "])
def test_a_content_length_that_is_not_a_whole_number_gets_400(keyed_endpoint, target, length):
    path, authorization = TARGETS[target]
    status, error, closed = exchange(keyed_endpoint.port, request_bytes(
        keyed_endpoint.port, path, {"Authorization": authorization, "Content-Length": length}, b"{}"))
    assert status == 400, error
    assert error["code"] == "invalid_content_length" and "Content-Length" in error["message"]
    assert closed
    assert_still_serving(keyed_endpoint.port)


@pytest.mark.parametrize("target", TARGETS)
def test_two_content_lengths_get_400(keyed_endpoint, target):
    # Which one counts is exactly what a proxy in front and this server could disagree on.
    path, authorization = TARGETS[target]
    data = request_bytes(keyed_endpoint.port, path, {"Authorization": authorization, "Content-Length": "2"})
    data = data.replace(b"\r\n\r\n", b"\r\nContent-Length: 40\r\n\r\n") + b"{}"
    status, error, closed = exchange(keyed_endpoint.port, data)
    assert status == 400 and error["code"] == "invalid_content_length" and closed
    assert_still_serving(keyed_endpoint.port)


@pytest.mark.parametrize("target", TARGETS)
def test_a_post_without_content_length_gets_411(keyed_endpoint, target):
    path, authorization = TARGETS[target]
    status, error, closed = exchange(keyed_endpoint.port, request_bytes(
        keyed_endpoint.port, path, {"Authorization": authorization}))
    assert status == 411 and error["code"] == "length_required" and "Content-Length" in error["message"]
    assert closed
    assert_still_serving(keyed_endpoint.port)


@pytest.mark.parametrize("target", TARGETS)
def test_a_chunked_body_gets_411_and_is_never_read_as_a_request(keyed_endpoint, target):
    path, authorization = TARGETS[target]
    hidden = request_bytes(keyed_endpoint.port, "/info", {"Authorization": f"Bearer {TEST_KEY}"}, method="GET")
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(hidden), hidden)
    status, error, closed = exchange(keyed_endpoint.port, request_bytes(
        keyed_endpoint.port, path, {"Authorization": authorization, "Transfer-Encoding": "chunked"}, body))
    assert status == 411 and error["code"] == "length_required" and "chunked" in error["message"]
    assert closed  # the body was not read: the hidden GET /info must not be answered
    assert_still_serving(keyed_endpoint.port)


@pytest.mark.parametrize("target", TARGETS)
def test_a_body_over_the_limit_gets_413_before_it_is_sent(keyed_endpoint, target):
    path, authorization = TARGETS[target]
    length = DEFAULT_MAX_BODY_BYTES + 1
    status, error, closed = exchange(keyed_endpoint.port, request_bytes(
        keyed_endpoint.port, path, {"Authorization": authorization, "Content-Length": str(length)}))
    assert status == 413 and error["code"] == "request_too_large"
    assert str(DEFAULT_MAX_BODY_BYTES) in error["message"] and str(length) in error["message"]
    assert closed
    assert_still_serving(keyed_endpoint.port)


@pytest.mark.parametrize("method, path, authorization, expected", [
    ("POST", "/chat/completions", "Bearer wrong", 401),
    ("POST", "/nowhere", f"Bearer {TEST_KEY}", 404),
    ("GET", "/info", f"Bearer {TEST_KEY}", 200),
    ("GET", "/models", f"Bearer {TEST_KEY}", 200),
])
def test_a_body_that_is_not_used_is_consumed_and_the_connection_stays_in_step(keyed_endpoint, method, path,
                                                                                authorization, expected):
    # The body holds a whole request: were it left unread, it would be answered as the next one.
    port = keyed_endpoint.port
    hidden = request_bytes(port, "/nowhere-hidden", {"Authorization": f"Bearer {TEST_KEY}"}, method="GET")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock, sock.makefile("rb") as answers:
        sock.sendall(request_bytes(port, path, {"Authorization": authorization, "Content-Length": str(len(hidden))},
                                   hidden, method=method))
        assert read_response(answers)[0] == expected
        body = json.dumps(SMALL).encode()
        sock.sendall(request_bytes(port, "/chat/completions", {
            "Authorization": f"Bearer {TEST_KEY}", "Content-Length": str(len(body))}, body))
        status, _, payload = read_response(answers)
    assert status == 200, payload  # the chat request, not a 404 for the hidden one
    assert json.loads(payload)["object"] == "chat.completion"


# --- nesting ------------------------------------------------------------------------------


def post_json(port: int, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/chat/completions", body, {
            "Content-Type": "application/json", "Authorization": f"Bearer {TEST_KEY}", **(headers or {})})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def nested(depth: int, kind: str = "array") -> str:
    """JSON `depth` levels deep (this value itself counting as one level)."""
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("kind", ["array", "object"])
def test_a_body_nested_3000_levels_deep_gets_400_naming_the_limit(keyed_endpoint, kind):
    body = '{"messages": [{"role": "user", "content": "Hi"}], "deep": ' + nested(3000, kind) + "}"
    status, payload = post_json(keyed_endpoint.port, body.encode(), {"extra-parameters": "drop"})
    assert status == 400, payload
    error = payload["error"]
    assert error["code"] == "json_too_deep"
    assert f"{MAX_JSON_DEPTH} levels" in error["message"]
    assert_still_serving(keyed_endpoint.port)


def test_deep_nesting_inside_messages_and_tools_gets_the_same_400(keyed_endpoint):
    content = '{"messages": [{"role": "user", "content": ' + nested(MAX_JSON_DEPTH, "array") + "}]}"
    tools = ('{"messages": [{"role": "user", "content": "Hi"}], "tools": [{"type": "function", "function": '
             '{"name": "f", "parameters": ' + nested(MAX_JSON_DEPTH, "object") + "}}]}")
    for body in (content, tools):
        status, payload = post_json(keyed_endpoint.port, body.encode())
        assert status == 400 and payload["error"]["code"] == "json_too_deep", payload


def test_nesting_up_to_the_limit_is_accepted(keyed_endpoint):
    # The body object is level 1, so the dropped field may hold MAX_JSON_DEPTH - 1 levels.
    body = ('{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "deep": '
            + nested(MAX_JSON_DEPTH - 1) + "}")
    status, payload = post_json(keyed_endpoint.port, body.encode(), {"extra-parameters": "drop"})
    assert status == 200, payload


def test_brackets_inside_strings_are_not_nesting(keyed_endpoint):
    text = "[{" * 1200 + '\\"' + "}]" * 1200
    body = '{"messages": [{"role": "user", "content": "' + text + '"}], "max_tokens": 2}'
    status, payload = post_json(keyed_endpoint.port, body.encode())
    assert status == 200, payload
