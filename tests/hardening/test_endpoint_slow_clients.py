"""Clients that hold the embedded endpoint: one that sends headers and stalls (or trickles them)
is dropped after --request-timeout and never holds a copy of the model; an idle keep-alive
connection is closed after the same time, while long streams and queued requests are not cut;
a generation that would never end is cut by --max-reply-seconds (finish_reason "length"), so
the request queued behind it gets its turn. Real endpoint processes with one copy of the model."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from tests.conftest import TEST_THREADS, start_endpoint

TIMEOUT = 2.0  # --request-timeout of the endpoint under test
CAP = 6.0  # --max-reply-seconds of the endpoint under test
SLACK = 10.0  # a busy machine may be this late to notice
USER = [{"role": "user", "content": "Write one sentence about the sea."}]
ENDLESS = {"messages": USER, "max_tokens": 8000, "ignore_eos": True}


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    running = start_endpoint(tmp_path_factory.mktemp("strict"), *TEST_THREADS, "--request-timeout", str(TIMEOUT),
                             "--max-reply-seconds", str(CAP), "--keep-alive", "0.5")
    yield running
    running.stop()


def head(port: int, length: int) -> bytes:
    return (b"POST /chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (port, length))


def post(port: int, payload: dict, timeout: float = 60) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/chat/completions", json.dumps(payload), {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def stream(port: int, payload: dict, timeout: float = 120) -> list[dict]:
    """The events of a streamed reply (keep-alive lines left out)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/chat/completions", json.dumps({**payload, "stream": True}),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200, response.read()
        return [json.loads(line[6:]) for line in response if line.startswith(b"data: {")]
    finally:
        conn.close()


def seconds_until_hung_up(sock: socket.socket, limit: float) -> float:
    """Read (and discard) whatever the server sends until it closes; fails past `limit` seconds."""
    begin = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - begin


def text_of(events: list[dict]) -> str:
    return "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])


def finish_of(events: list[dict]) -> str | None:
    return next((c["finish_reason"] for e in events for c in e["choices"] if c["finish_reason"]), None)


# --- slow senders -------------------------------------------------------------------------


def test_a_client_that_sends_headers_and_stalls_is_dropped_and_holds_no_model(strict):
    with socket.create_connection(("127.0.0.1", strict.port), timeout=30) as stalled:
        stalled.sendall(head(strict.port, 100) + b'{"messages": [')
        sent = time.monotonic()
        # Meanwhile the one copy of the model serves others.
        status, reply = post(strict.port, {"messages": USER, "max_tokens": 3})
        assert status == 200 and reply["usage"]["completion_tokens"] == 3
        assert time.monotonic() - sent < TIMEOUT, "the normal request was too slow to show anything"
        waited = seconds_until_hung_up(stalled, TIMEOUT + SLACK)
    assert time.monotonic() - sent >= TIMEOUT - 0.5
    assert waited < TIMEOUT + SLACK


def test_headers_trickled_byte_by_byte_do_not_keep_the_connection(strict):
    """A timeout on each read alone would let a byte every half second hold the connection forever."""
    with socket.create_connection(("127.0.0.1", strict.port), timeout=30) as sock:
        sock.sendall(b"POST /chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        begin = time.monotonic()
        sock.settimeout(0.5)  # the trickle's pace: one byte, then up to half a second for an answer
        while time.monotonic() - begin < TIMEOUT + SLACK:
            try:
                sock.sendall(b"X")
                if sock.recv(65536) == b"":
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        else:
            pytest.fail("the endpoint kept a connection that never finished its headers")
        assert time.monotonic() - begin >= TIMEOUT - 0.5


def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(strict):
    conn = http.client.HTTPConnection("127.0.0.1", strict.port, timeout=30)
    try:
        conn.request("GET", "/info")
        response = conn.getresponse()
        response.read()
        assert response.status == 200 and not response.will_close
        assert conn.sock is not None
        waited = seconds_until_hung_up(conn.sock, TIMEOUT + SLACK)
    finally:
        conn.close()
    assert TIMEOUT - 0.5 <= waited < TIMEOUT + SLACK


def test_a_slow_body_that_does_not_arrive_in_time_gets_408(strict):
    body = json.dumps({"messages": USER, "max_tokens": 2}).encode()
    with socket.create_connection(("127.0.0.1", strict.port), timeout=TIMEOUT + SLACK) as sock:
        sock.sendall(head(strict.port, len(body)) + body[:10])
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 408
        error = json.loads(response.read())["error"]
    assert error["code"] == "request_timeout" and f"{TIMEOUT:g} seconds" in error["message"]


# --- long replies and waiting are not reading ------------------------------------------------


def test_a_stream_longer_than_the_request_timeout_is_not_cut(strict):
    begin = time.monotonic()
    events = stream(strict.port, {"messages": USER, "max_tokens": 200, "ignore_eos": True})
    elapsed = time.monotonic() - begin
    assert finish_of(events) == "length" and events[-1]["usage"]["completion_tokens"] == 200
    if elapsed < TIMEOUT:
        pytest.skip(f"200 tokens took only {elapsed:.1f} s: too fast to show anything here")


# --- the time cap ---------------------------------------------------------------------------


def test_an_endless_generation_is_cut_by_the_time_cap_and_the_queued_request_is_served(strict):
    started, events, served = threading.Event(), [], []

    def endless() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", strict.port, timeout=120)
        conn.request("POST", "/chat/completions", json.dumps({**ENDLESS, "stream": True}),
                     {"Content-Type": "application/json"})
        for line in conn.getresponse():
            if line.startswith(b"data: {"):
                started.set()
                events.append(json.loads(line[6:]))
        conn.close()

    holder = threading.Thread(target=endless)
    holder.start()
    try:
        assert started.wait(60)
        begin = time.monotonic()
        # Queued behind the endless one: served once the cap ends it (a read timeout that the
        # keep-alive lines keep from firing while it waits).
        queued = stream(strict.port, {"messages": USER, "max_tokens": 3}, timeout=CAP + SLACK)
        served.append(time.monotonic() - begin)
    finally:
        holder.join(timeout=CAP + 2 * SLACK)
    assert not holder.is_alive()
    assert finish_of(events) == "length"
    assert 0 < events[-1]["usage"]["completion_tokens"] < ENDLESS["max_tokens"]
    assert text_of(queued).strip() and served[0] < CAP + SLACK


def test_a_whole_reply_cut_by_the_cap_says_length_and_later_choices_are_empty(strict):
    begin = time.monotonic()
    status, reply = post(strict.port, {**ENDLESS, "n": 3}, timeout=CAP + 2 * SLACK)
    assert status == 200, reply
    assert time.monotonic() - begin < CAP + SLACK
    assert [choice["finish_reason"] for choice in reply["choices"]] == ["length"] * 3
    assert reply["choices"][0]["message"]["content"]
    assert [choice["message"]["content"] for choice in reply["choices"][1:]] == ["", ""]
    assert 0 < reply["usage"]["completion_tokens"] < ENDLESS["max_tokens"]
