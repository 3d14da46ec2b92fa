"""The embedded endpoint's request-size limit and key check, against the real server."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

from playground.client import ChatClient, ChatParams, Endpoint, PlaygroundError
from playground.local_endpoint import server as server_module
from playground.local_endpoint.server import EndpointServer
from playground.settings import Secret
from tests.conftest import TEST_KEY, start_endpoint

LIMIT = 4096
SMALL = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    running = start_endpoint(tmp_path_factory.mktemp("limited"), "--max-body-bytes", str(LIMIT))
    yield running
    running.stop()


def host(port: int) -> bytes:
    """The Host header of a raw request (the endpoint refuses names it does not serve)."""
    return b"127.0.0.1:%d" % port


def post(port: int, body: bytes, headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/chat/completions", body=body,
                     headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def assert_still_serving(port: int) -> None:
    status, _, body = post(port, json.dumps(SMALL).encode())
    assert status == 200, body
    assert json.loads(body)["choices"][0]["message"]["content"] is not None


def test_a_body_over_the_limit_gets_413_with_a_json_error_and_the_server_stays_up(limited):
    body = json.dumps({"messages": [{"role": "user", "content": "x" * (LIMIT * 2)}]}).encode()
    status, headers, data = post(limited.port, body)
    assert status == 413
    assert headers["content-type"] == "application/json"
    error = json.loads(data)["error"]
    assert error["code"] == "request_too_large" and error["status"] == 413
    assert str(LIMIT) in error["message"] and str(len(body)) in error["message"]
    assert_still_serving(limited.port)
    # Refused before the body was read: it never reached the request log.
    assert all(len(json.dumps(entry)) < LIMIT for entry in limited.requests())


def test_the_refused_body_is_never_read_as_a_next_request(limited):
    # The over-limit body hides a second request; after the 413 the server must hang up
    # rather than parse the body as one (request smuggling on a keep-alive connection).
    hidden = b"GET /info HTTP/1.1\r\nHost: %s\r\n\r\n" % host(limited.port)
    body = hidden + b" " * (LIMIT * 2)
    with socket.create_connection(("127.0.0.1", limited.port), timeout=10) as sock:
        sock.sendall(b"POST /chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (host(limited.port), len(body), body))
        answer = b""
        try:
            while piece := sock.recv(65536):
                answer += piece
        except ConnectionResetError:  # closing with the body unread may reset: also a hang-up
            pass
    assert answer.startswith(b"HTTP/1.1 413")
    assert answer.count(b"HTTP/1.1 ") == 1, answer


def test_a_huge_announced_body_is_refused_without_waiting_for_it(limited):
    # Announce 1 GB and send none of it: the answer must come from the header alone.
    with socket.create_connection(("127.0.0.1", limited.port), timeout=10) as sock:
        sock.sendall(b"POST /chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000000000\r\n\r\n{\"messages\": [" % host(limited.port))
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(payload)["error"]["code"] == "request_too_large"
    assert_still_serving(limited.port)


def test_the_client_reports_413_in_plain_words_and_the_next_request_works(limited):
    client = ChatClient(Endpoint(limited.url, "The embedded model"))
    with pytest.raises(PlaygroundError) as caught:
        client.stream_chat([{"role": "user", "content": "y" * 1_000_000}], ChatParams(max_tokens=2))
    assert caught.value.status == 413
    assert "too large" in caught.value.message and str(LIMIT) in caught.value.message
    assert "".join(client.stream_chat([{"role": "user", "content": "Hi"}], ChatParams(max_tokens=2)))


def test_a_body_at_the_limit_is_accepted(limited):
    body = json.dumps(SMALL).encode()
    body = body[:-1] + b" " * (LIMIT - len(body)) + b"}"
    assert len(body) == LIMIT
    status, _, data = post(limited.port, body)
    assert status == 200, data


def test_the_default_limit_is_8_mib(endpoint):
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=10) as sock:
        sock.sendall(b"POST /chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
                     % (host(endpoint.port), 8 * 1024 * 1024 + 1))
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 413")


# --- the key ------------------------------------------------------------------------------

WRONG_KEYS = sorted({"", "t", TEST_KEY[:-1], TEST_KEY + "0", TEST_KEY.upper(), TEST_KEY[::-1],
                     "x" * len(TEST_KEY), TEST_KEY[1:] + TEST_KEY[0], TEST_KEY[:8] + "#" + TEST_KEY[9:], "x" * 4096,
                     *("k" * n for n in range(0, 2 * len(TEST_KEY) + 2))})


@pytest.mark.parametrize("style", ["bearer", "api-key", "both"])
def test_every_wrong_key_of_every_length_gets_401(keyed_endpoint, style):
    messages = set()
    for key in WRONG_KEYS:
        headers = {}
        if style in ("bearer", "both"):
            headers["Authorization"] = f"Bearer {key}"
        if style in ("api-key", "both"):
            headers["api-key"] = key
        status, response_headers, body = post(keyed_endpoint.port, json.dumps(SMALL).encode(), headers)
        assert status == 401, (key, status)
        assert response_headers.get("www-authenticate") == "Bearer"
        error = json.loads(body)["error"]
        assert error["code"] == "unauthorized"
        messages.add(error["message"])
    assert len(messages) == 1  # the same words whatever was sent: nothing echoed, nothing hinted


def test_no_key_and_odd_header_forms_get_401(keyed_endpoint):
    for headers in ({}, {"Authorization": TEST_KEY}, {"Authorization": f"Basic {TEST_KEY}"},
                    {"Authorization": f"Token {TEST_KEY}"}, {"X-Api-Key": TEST_KEY},
                    {"Ocp-Apim-Subscription-Key": TEST_KEY}):
        status, _, _ = post(keyed_endpoint.port, json.dumps(SMALL).encode(), headers)
        assert status == 401, headers


def test_non_ascii_keys_get_401_not_500(keyed_endpoint):
    for raw in ("é".encode(), "ключ".encode(), b"\xff\xfe", TEST_KEY.encode() + "é".encode()):
        with socket.create_connection(("127.0.0.1", keyed_endpoint.port), timeout=10) as sock:
            sock.sendall(b"GET /info HTTP/1.1\r\nHost: " + host(keyed_endpoint.port) + b"\r\napi-key: " + raw
                         + b"\r\nConnection: close\r\n\r\n")
            answer = b""
            while piece := sock.recv(65536):
                answer += piece
        assert answer.startswith(b"HTTP/1.1 401"), (raw, answer[:40])


@pytest.mark.parametrize("headers", [
    {"Authorization": f"Bearer {TEST_KEY}"},
    {"Authorization": f"bearer {TEST_KEY}"},
    {"api-key": TEST_KEY},
    {"Authorization": "Bearer wrong", "api-key": TEST_KEY},  # either header may carry it
    {"Authorization": f"Bearer {TEST_KEY}", "api-key": "wrong"},
])
def test_the_right_key_in_either_header_works(keyed_endpoint, headers):
    status, _, body = post(keyed_endpoint.port, json.dumps(SMALL).encode(), headers)
    assert status == 200, body


def test_the_sdk_client_with_the_right_key_streams(keyed_endpoint):
    client = ChatClient(Endpoint(keyed_endpoint.url, "keyed", Secret(TEST_KEY)))
    assert "".join(client.stream_chat([{"role": "user", "content": "Hi"}], ChatParams(max_tokens=3)))


def test_every_offered_value_is_compared_with_compare_digest(monkeypatch):
    """Constant time: both headers go through hmac.compare_digest, even when the first matches,
    so the time taken does not say which header (or how much of a key) was right."""
    calls: list[tuple[bytes, bytes]] = []
    real = server_module.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(server_module.hmac, "compare_digest", spy)
    server = EndpointServer(("127.0.0.1", 0), model=None, api_key=TEST_KEY)  # /info needs no model
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        for headers, expected in (({"api-key": TEST_KEY}, 200), ({"Authorization": f"Bearer {TEST_KEY}"}, 200),
                                  ({"api-key": "nope"}, 401), ({}, 401)):
            calls.clear()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/info", headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            assert response.status == expected
            assert len(calls) == 2, headers  # never short-circuits
            assert all(b == TEST_KEY.encode() for _, b in calls)
    finally:
        server.shutdown()
        server.server_close()
