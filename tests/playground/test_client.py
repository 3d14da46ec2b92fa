"""ChatClient: the one SDK wrapper, against the real embedded endpoint and against local
servers that replay documented cloud wire behaviour (see tests/fake_service.py)."""

from __future__ import annotations

import socket

import pytest

from playground.client import ChatClient, ChatParams, Endpoint, PlaygroundError
from playground.settings import Secret
from tests.conftest import TEST_KEY
from tests.support.fake_service import FakeService, Reply, chunk
from tests.support.github_models import CONTENT_FILTER_400, DAILY_LIMIT_429, TOKENS_LIMIT_413, streamed_reply

HELLO = [{"role": "user", "content": "Say hello."}]


def client(url: str, key: str | None = None) -> ChatClient:
    return ChatClient(Endpoint(url, "Test endpoint", Secret(key) if key else None, "TEST_KEY_VARIABLE"))


def test_stream_yields_chunks_and_fills_in_the_metrics(endpoint):
    stream = client(endpoint.url).stream_chat(HELLO, ChatParams(max_tokens=20, temperature=0.0))
    chunks = list(stream)
    assert len(chunks) > 1
    assert stream.text == "".join(chunks) and stream.text.strip()
    assert stream.finish_reason in ("stop", "length")
    assert stream.prompt_tokens > 5 and 0 < stream.completion_tokens <= 20
    assert stream.time_to_first_token > 0
    assert stream.tokens_per_second is None or stream.tokens_per_second > 0


def test_parameters_are_sent_and_zero_penalties_left_out(endpoint):
    params = ChatParams(temperature=0.3, top_p=0.8, max_tokens=7, presence_penalty=0.0, frequency_penalty=0.5)
    list(client(endpoint.url).stream_chat(HELLO, params))
    body = endpoint.last_request()["body"]
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["frequency_penalty"]) == (0.3, 0.8, 7, 0.5)
    assert "presence_penalty" not in body


def test_model_info(endpoint):
    info = client(endpoint.url).model_info()
    assert (info.name, info.model_type, info.provider) == ("SmolLM2-135M-Instruct", "chat-completions", "HuggingFaceTB")


def test_refused_key_names_the_variable_to_fix(keyed_endpoint):
    with pytest.raises(PlaygroundError) as caught:
        client(keyed_endpoint.url, "wrong").stream_chat(HELLO, ChatParams(max_tokens=2))
    assert caught.value.status == 401
    assert "TEST_KEY_VARIABLE" in caught.value.message
    assert "wrong" not in caught.value.message
    assert list(client(keyed_endpoint.url, TEST_KEY).stream_chat(HELLO, ChatParams(max_tokens=2)))


def test_out_of_range_value_comes_back_as_the_services_words(endpoint):
    with pytest.raises(PlaygroundError) as caught:
        client(endpoint.url).stream_chat(HELLO, ChatParams(temperature=3.0))
    assert caught.value.status == 400
    assert "'temperature' must be between 0 and 2" in caught.value.message


def test_no_info_route_is_said_plainly():
    with FakeService([Reply(status=404, body={"error": {"code": "NotFound", "message": "Not found"}})]) as fake:
        with pytest.raises(PlaygroundError) as caught:
            client(fake.url).model_info()
    assert "has no /info route" in caught.value.message


def test_connection_refused_says_the_endpoint_cannot_be_reached():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    with pytest.raises(PlaygroundError) as caught:
        client(f"http://127.0.0.1:{port}").stream_chat(HELLO, ChatParams())
    assert caught.value.code == "unreachable"
    assert f"127.0.0.1:{port}" in caught.value.message


def test_a_429_with_a_long_retry_after_fails_at_once_without_retrying():
    """GitHub's daily limit answers 429 with retry-after: 24367; azure-core would sleep that long."""
    with FakeService([DAILY_LIMIT_429]) as fake:
        with pytest.raises(PlaygroundError) as caught:
            client(fake.url).stream_chat(HELLO, ChatParams())
    assert len(fake.requests) == 1
    assert caught.value.status == 429 and caught.value.retry_after == 24367
    assert "150 requests per day" in caught.value.message and "6 h 46 min" in caught.value.message


def test_a_short_retry_after_is_retried_and_then_succeeds():
    ok = Reply(events=[chunk("Hi"), chunk(finish_reason="stop")])
    busy = Reply(status=503, headers={"retry-after": "0"}, body={"error": {"code": "busy", "message": "busy"}})
    with FakeService([busy, ok]) as fake:
        stream = client(fake.url).stream_chat(HELLO, ChatParams())
        assert list(stream) == ["Hi"]
    assert len(fake.requests) == 2


def test_a_stream_cut_mid_way_keeps_the_partial_reply():
    events = [chunk("The "), chunk("sea "), chunk("is "), chunk("deep."), chunk(finish_reason="stop")]
    with FakeService([Reply(events=events, cut_after=3)]) as fake:
        stream = client(fake.url).stream_chat(HELLO, ChatParams())
        received = []
        with pytest.raises(PlaygroundError) as caught:
            for text in stream:
                received.append(text)
    assert received == ["The ", "sea ", "is "]
    assert stream.text == "The sea is "
    assert caught.value.code == "stream_interrupted"


def test_a_filtered_prompt_names_the_categories():
    with FakeService([CONTENT_FILTER_400]) as fake:
        with pytest.raises(PlaygroundError) as caught:
            client(fake.url).stream_chat(HELLO, ChatParams())
    assert "filtered the prompt" in caught.value.message
    assert "jailbreak, violence" in caught.value.message


def test_a_filtered_reply_ends_with_finish_reason_content_filter():
    with FakeService([streamed_reply("Some ", "text", finish_reason="content_filter")]) as fake:
        stream = client(fake.url).stream_chat(HELLO, ChatParams())
        assert "".join(stream) == "Some text"
    assert stream.finish_reason == "content_filter"


def test_too_many_tokens_says_the_limit_and_roughly_how_far_over():
    long_prompt = [{"role": "user", "content": "x" * 40_000}]  # about 10,000 tokens
    with FakeService([TOKENS_LIMIT_413]) as fake:
        with pytest.raises(PlaygroundError) as caught:
            client(fake.url).stream_chat(long_prompt, ChatParams())
    assert "at most 8000 tokens" in caught.value.message
    assert "about 10000 tokens, roughly 2000 over" in caught.value.message


def test_unknown_model_and_forbidden_and_server_errors_say_what_happened():
    script = [Reply(status=404, body={"error": {"code": "unknown_model", "message": "Unknown model: nope"}}),
              Reply(status=403, body={"error": {"code": "no_access", "message": "No access"}}),
              Reply(status=502, body={"error": {"code": "bad_gateway", "message": "Upstream failed"}})]
    with FakeService(script) as fake:
        messages = []
        for _ in script:
            with pytest.raises(PlaygroundError) as caught:
                client(fake.url).stream_chat(HELLO, ChatParams(), model="nope")
            messages.append(caught.value.message)
    assert "does not know the model 'nope'" in messages[0]
    assert "does not allow this credential" in messages[1] and "TEST_KEY_VARIABLE" in messages[1]
    assert "server error (HTTP 502)" in messages[2] and "Upstream failed" in messages[2]


def test_a_slow_first_byte_ends_after_the_read_timeout_not_later():
    """The service accepts the request and then sends nothing for longer than the timeout."""
    with FakeService([Reply(events=[chunk("late")], first_byte_delay=4)]) as fake:
        slow = ChatClient(Endpoint(fake.url, "Slow endpoint"), read_timeout=1.0)
        with pytest.raises(PlaygroundError) as caught:
            slow.stream_chat(HELLO, ChatParams())
    assert caught.value.code == "timeout"
    assert "stopped answering" in caught.value.message


def test_rate_limit_headers_reach_the_callback():
    seen = []
    with FakeService([streamed_reply("Hi", headers={"x-ratelimit-remaining-requests": "14"})]) as fake:
        list(client(fake.url).stream_chat(HELLO, ChatParams(), on_headers=seen.append))
    assert seen and seen[0]["x-ratelimit-remaining-requests"] == "14"
