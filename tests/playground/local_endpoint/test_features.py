"""ChatClient's logprobs, complete_chat (n choices, JSON output) and refused extras, against
the real embedded endpoint."""

from __future__ import annotations

import json

import pytest

from playground.client import ChatClient, ChatParams, Endpoint, PlaygroundError, Reply
from playground.params import validate

SEA = [{"role": "user", "content": "Write one sentence about the sea."}]
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def client(url: str) -> ChatClient:
    return ChatClient(Endpoint(url, "Test endpoint"))


def _sorted_alternatives(entries: list[dict], top: int) -> None:
    assert entries
    for entry in entries:
        assert set(entry) == {"token", "logprob", "top_logprobs"}
        assert isinstance(entry["token"], str) and entry["logprob"] <= 0
        logprobs = [alt["logprob"] for alt in entry["top_logprobs"]]
        assert len(logprobs) == top and logprobs == sorted(logprobs, reverse=True)


def test_a_stream_collects_logprobs_with_sorted_alternatives(endpoint):
    stream = client(endpoint.url).stream_chat(
        SEA, ChatParams(max_tokens=10, temperature=0.0, extras={"logprobs": True, "top_logprobs": 4}))
    text = "".join(stream)
    assert len(stream.logprobs) == stream.completion_tokens == 10
    assert "".join(entry["token"] for entry in stream.logprobs) == text
    _sorted_alternatives(stream.logprobs, 4)
    assert all(e["token"] == e["top_logprobs"][0]["token"] for e in stream.logprobs)  # greedy


def test_a_stream_without_logprobs_has_none(endpoint):
    stream = client(endpoint.url).stream_chat(SEA, ChatParams(max_tokens=3))
    assert "".join(stream) and stream.logprobs == []


def test_a_stream_of_several_choices_shows_the_first_and_keeps_the_others(endpoint):
    stream = client(endpoint.url).stream_chat(
        SEA, ChatParams(max_tokens=4, temperature=1.0, seed=3, extras={"n": 2, "ignore_eos": True, "logprobs": True}))
    shown = "".join(stream)
    assert shown == stream.text == stream.choice_texts[0]
    assert set(stream.choice_texts) == {0, 1} and stream.choice_texts[1].strip()
    assert stream.completion_tokens == 8 and stream.finish_reason == "length"
    assert len(stream.logprobs) == 4  # the first choice's


def test_complete_chat_returns_n_choices_with_usage_and_logprobs(endpoint):
    params = ChatParams(max_tokens=5, temperature=1.0, seed=11, extras={"n": 3, "ignore_eos": True, "logprobs": 2})
    assert validate(params, model_id=None, streaming=True).stream is False  # n > 1 goes non-streaming
    reply = client(endpoint.url).complete_chat(SEA, params)
    assert isinstance(reply, Reply)
    assert len(reply.texts) == 3 and all(text.strip() for text in reply.texts)
    assert reply.finish_reasons == ("length", "length", "length")
    assert reply.prompt_tokens > 5 and reply.completion_tokens == 15
    assert reply.text == reply.texts[0] and reply.finish_reason == "length"
    for text, entries in zip(reply.texts, reply.logprobs, strict=True):
        assert "".join(e["token"] for e in entries) == text
        _sorted_alternatives(entries, 2)
    assert reply.elapsed > 0


def test_complete_chat_without_logprobs_has_none_per_choice(endpoint):
    reply = client(endpoint.url).complete_chat(SEA, ChatParams(max_tokens=3))
    assert reply.logprobs == (None,) and reply.text.strip()


def test_json_object_reply_parses(endpoint):
    reply = client(endpoint.url).complete_chat(SEA, ChatParams(max_tokens=200, temperature=0.0,
                                                               response_format="json_object"))
    assert reply.finish_reason == "stop"
    assert isinstance(json.loads(reply.text), dict)


def test_json_schema_reply_has_the_required_keys_streamed_too(endpoint):
    params = ChatParams(max_tokens=100, temperature=0.7, seed=4,
                        response_format={"name": "person", "schema": PERSON, "strict": True})
    assert validate(params, model_id=None, streaming=True).ok
    whole = client(endpoint.url).complete_chat(SEA, params)
    streamed = "".join(client(endpoint.url).stream_chat(SEA, params))
    for text in (whole.text, streamed):
        value = json.loads(text)
        assert {"name", "age"} <= set(value) and isinstance(value["age"], int)


def test_best_of_is_refused_naming_it(endpoint):
    params = ChatParams(max_tokens=3, extras={"best_of": 3})
    check = validate(params, model_id=None, streaming=True)
    assert check.ok and check.stream is False and check.warnings[0].field == "best_of"
    with pytest.raises(PlaygroundError) as caught:
        client(endpoint.url).complete_chat(SEA, params)
    assert caught.value.status == 400
    assert "'best_of' is not supported by the embedded model" in caught.value.message


def test_complete_chat_translates_errors_like_stream_chat(endpoint):
    with pytest.raises(PlaygroundError) as caught:
        client(endpoint.url).complete_chat(SEA, ChatParams(temperature=3.0))
    assert caught.value.status == 400 and "'temperature' must be between 0 and 2" in caught.value.message
    with pytest.raises(PlaygroundError) as unreachable:
        client("http://127.0.0.1:9").complete_chat(SEA, ChatParams())
    assert unreachable.value.code == "unreachable"


def test_complete_chat_reports_response_headers(endpoint):
    seen = []
    client(endpoint.url).complete_chat(SEA, ChatParams(max_tokens=2), on_headers=seen.append)
    assert seen and seen[0]["Content-Type"] == "application/json"
