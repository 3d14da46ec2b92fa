"""What a user sees when the stream fails: the embedded endpoint killed mid-reply and restarted,
a malformed SSE line, CRLF framing, a 500, nothing listening (tests/fake_service.py scripts the
bytes). Always through playground.client.ChatClient, the one SDK wrapper the pages use."""

from __future__ import annotations

import pytest

from playground.client import ChatClient, ChatParams, Endpoint, PlaygroundError
from tests.conftest import start_endpoint
from tests.support.app_server import free_port
from tests.support.fake_service import DONE, FakeService, Reply, chunk, sse

PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


def event(text: str) -> bytes:
    return sse(chunk(text))


def client(url: str) -> ChatClient:
    return ChatClient(Endpoint(url, "The test endpoint"), read_timeout=15)


def read_until_error(stream) -> tuple[list[str], PlaygroundError | None]:
    received: list[str] = []
    try:
        for piece in stream:
            received.append(piece)
    except PlaygroundError as error:
        return received, error
    return received, None


def test_endpoint_killed_mid_stream_keeps_the_partial_text_and_works_again_after_a_restart(tmp_path):
    first = start_endpoint(tmp_path / "first")
    port = first.port
    chat = client(first.url)
    # ignore_eos: the reply cannot end on its own before the kill.
    stream = chat.stream_chat(PROMPT, ChatParams(max_tokens=2000, extras={"ignore_eos": True}))
    received: list[str] = []
    with pytest.raises(PlaygroundError) as caught:
        for piece in stream:
            received.append(piece)
            if len(received) == 5:
                first.process.kill()  # SIGKILL: no clean shutdown, the socket just dies
                first.process.wait(timeout=10)
    assert caught.value.code == "stream_interrupted"
    assert "broke off" in caught.value.message and "kept" in caught.value.message
    assert len(received) >= 5 and stream.text == "".join(received) and stream.text.strip()
    assert stream.finish_reason is None

    # While it is down: a plain, fixable error, not a hang.
    with pytest.raises(PlaygroundError) as down:
        chat.stream_chat(PROMPT, ChatParams(max_tokens=2))
    assert down.value.code == "unreachable" and f":{port}" in down.value.message

    second = start_endpoint(tmp_path / "second", "--port", str(port))
    try:
        assert second.port == port
        again = chat.stream_chat([{"role": "user", "content": "Hi"}], ChatParams(max_tokens=5))
        assert "".join(again).strip() and again.finish_reason in ("stop", "length")
    finally:
        second.stop()


@pytest.mark.parametrize("bad_line", [
    b"data: {broken\n\n",
    b'data: {"id": "x", "choices": [{"index": 0, "delta": {"content": "y"}\n\n',  # truncated JSON
    b"data: " + event("after a CRLF")[6:-2] + b"\r\n\r\n",  # CRLF line ending
    b": keep-alive ping\n\n",  # an SSE comment the SDK does not accept
    b"event: message\n" + event("typed")[:-1],  # an event: line
])
def test_a_malformed_stream_keeps_the_partial_text_and_says_the_stream_was_malformed(bad_line):
    reply = Reply(raw=[event("Hello "), event("there"), bad_line, event(" never shown"), DONE])
    with FakeService([reply]) as server:
        stream = client(server.url).stream_chat(PROMPT, ChatParams())
        received, error = read_until_error(stream)
    assert error is not None and error.code == "malformed_stream", error
    assert "malformed stream" in error.message and "kept" in error.message
    assert received == ["Hello ", "there"] and stream.text == "Hello there"


def test_a_stream_cut_without_done_keeps_the_partial_text():
    reply = Reply(events=[chunk("Partial "), chunk("reply")], cut_after=2)
    with FakeService([reply]) as server:
        stream = client(server.url).stream_chat(PROMPT, ChatParams())
        received, error = read_until_error(stream)
    assert error is not None and error.code == "stream_interrupted"
    assert stream.text == "Partial reply" == "".join(received)


def test_a_500_says_server_error_and_is_retried_a_bounded_number_of_times():
    body = {"error": {"code": "internal_error", "message": "The model crashed.", "status": 500}}
    with FakeService([Reply(status=500, body=body)]) as server:
        with pytest.raises(PlaygroundError) as caught:
            client(server.url).stream_chat(PROMPT, ChatParams())
        attempts = len(server.requests)
    assert caught.value.status == 500
    assert "server error (HTTP 500)" in caught.value.message and "The model crashed." in caught.value.message
    assert 1 <= attempts <= 3  # BoundedRetryPolicy: at most two retries


def test_a_500_with_a_non_json_body_still_says_what_happened():
    with FakeService([Reply(status=500, raw=[b"<html>oops</html>"])]) as server:
        with pytest.raises(PlaygroundError) as caught:
            client(server.url).stream_chat(PROMPT, ChatParams())
    assert caught.value.status == 500 and "HTTP 500" in caught.value.message


def test_connection_refused_names_the_address_to_check():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(PlaygroundError) as caught:
        client(url).stream_chat(PROMPT, ChatParams())
    assert caught.value.code == "unreachable"
    assert url in caught.value.message and "is it running" in caught.value.message


def test_an_unresolvable_host_is_unreachable_too():
    with pytest.raises(PlaygroundError) as caught:
        client("http://playground-no-such-host.invalid:8765").stream_chat(PROMPT, ChatParams())
    assert caught.value.code == "unreachable"
