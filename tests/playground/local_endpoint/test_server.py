"""Contract tests: the real azure-ai-inference SDK over real HTTP against the running endpoint."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from tests.conftest import TEST_KEY

USER = [{"role": "user", "content": "Write one sentence about the sea."}]


def sdk(url: str, key: str = "unused", **kwargs) -> ChatCompletionsClient:
    return ChatCompletionsClient(endpoint=url, credential=AzureKeyCredential(key), retry_total=0, **kwargs)


def raw(url: str, body: bytes | None = None, headers: dict | None = None, method: str | None = None):
    """(status, headers, body bytes) of a plain HTTP call: for what the SDK cannot send."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_complete_returns_a_reply_with_usage_and_model_name(endpoint):
    result = sdk(endpoint.url).complete(messages=USER, max_tokens=40)
    assert result.choices[0].message.content.strip()
    assert result.model == "SmolLM2-135M-Instruct"
    assert result.usage.prompt_tokens > 5
    assert 0 < result.usage.completion_tokens <= 40
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens


def test_any_model_name_is_served_by_the_one_model(endpoint):
    result = sdk(endpoint.url).complete(messages=USER, max_tokens=5, model="gpt-4o")
    assert result.model == "SmolLM2-135M-Instruct"


def test_stream_yields_text_then_finish_reason_then_usage(endpoint):
    with sdk(endpoint.url).complete(messages=USER, max_tokens=30, stream=True) as updates:
        updates = list(updates)
    text = "".join(c.delta.content or "" for u in updates for c in u.choices)
    finish = [c.finish_reason for u in updates for c in u.choices if c.finish_reason]
    assert text.strip()
    assert finish in (["stop"], ["length"])
    assert updates[-1].usage.completion_tokens > 0
    assert updates[-1].usage.prompt_tokens > 5


def test_stream_wire_format_is_lf_only_data_lines_ending_in_done(endpoint):
    body = json.dumps({"messages": USER, "max_tokens": 10, "stream": True}).encode()
    status, headers, data = raw(endpoint.url + "/chat/completions?api-version=2024-05-01-preview", body,
                                {"Content-Type": "application/json"})
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream"
    assert b"\r" not in data
    events = [line for line in data.decode().split("\n") if line]
    assert all(line.startswith("data: ") for line in events)
    assert events[-1] == "data: [DONE]"
    assert "usage" in json.loads(events[-2][len("data: "):])


def test_info_describes_the_model(endpoint):
    info = sdk(endpoint.url).get_model_info()
    assert info.model_name == "SmolLM2-135M-Instruct"
    assert info.model_type == "chat-completions"
    assert info.model_provider_name == "HuggingFaceTB"


def test_v1_prefix_serves_the_same_routes(endpoint):
    client = sdk(endpoint.url + "/v1")
    assert client.get_model_info().model_name == "SmolLM2-135M-Instruct"
    assert client.complete(messages=USER, max_tokens=3).usage.completion_tokens > 0


def test_multi_turn_history_and_system_prompt_reach_the_model(endpoint):
    turns = [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "I am planning a trip to the coast next week with my family."},
        {"role": "assistant", "content": "Ahoy! The coast be fine this time of year, matey."},
        {"role": "user", "content": "Who are you?"},
    ]
    last_only = sdk(endpoint.url).complete(messages=[turns[0], turns[-1]], max_tokens=1)
    whole = sdk(endpoint.url).complete(messages=turns, max_tokens=1)
    # The earlier turns are part of the prompt the model reads (about 30 tokens of them).
    assert whole.usage.prompt_tokens > last_only.usage.prompt_tokens + 20
    assert endpoint.last_request()["body"]["messages"] == turns


def test_max_tokens_caps_the_reply(endpoint):
    result = sdk(endpoint.url).complete(messages=USER, max_tokens=4, temperature=0.0)
    assert result.usage.completion_tokens == 4
    assert result.choices[0].finish_reason == "length"


def test_stop_sequence_ends_the_reply_before_it(endpoint):
    client = sdk(endpoint.url)
    full = client.complete(messages=USER, max_tokens=40, temperature=0.0).choices[0].message.content
    words = full.split()
    assert len(words) > 4, full
    stop = " " + words[3]
    cut = client.complete(messages=USER, max_tokens=40, temperature=0.0, stop=[stop])
    assert cut.choices[0].message.content == full[: full.index(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_seed_makes_sampling_repeatable(endpoint):
    client = sdk(endpoint.url)
    replies = [
        client.complete(messages=USER, max_tokens=30, temperature=1.5, top_p=1.0, seed=seed).choices[0].message.content
        for seed in (7, 7, 8)
    ]
    assert replies[0] == replies[1]
    assert replies[0] != replies[2]


def test_penalties_and_sampling_parameters_are_accepted(endpoint):
    result = sdk(endpoint.url).complete(messages=USER, max_tokens=5, temperature=0.3, top_p=0.5,
                                        presence_penalty=1.5, frequency_penalty=-1.0)
    assert result.usage.completion_tokens > 0
    body = endpoint.last_request()["body"]
    assert (body["presence_penalty"], body["frequency_penalty"], body["top_p"]) == (1.5, -1.0, 0.5)


@pytest.mark.parametrize("params, field", [
    ({"temperature": 5}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"presence_penalty": -3}, "presence_penalty"),
    ({"frequency_penalty": 2.5}, "frequency_penalty"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
])
def test_out_of_range_parameters_get_400_naming_the_field(endpoint, params, field):
    with pytest.raises(HttpResponseError) as caught:
        sdk(endpoint.url).complete(messages=USER, **params)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "invalid_parameter"
    assert f"'{field}'" in caught.value.error.message


def test_malformed_json_gets_400_with_an_error_body(endpoint):
    status, _, data = raw(endpoint.url + "/chat/completions", b'{"messages": [', {"Content-Type": "application/json"})
    assert status == 400
    assert json.loads(data)["error"] == {"code": "invalid_json", "status": 400,
                                        "message": json.loads(data)["error"]["message"]}
    assert "not valid JSON" in json.loads(data)["error"]["message"]


def test_bad_message_role_names_the_message(endpoint):
    with pytest.raises(HttpResponseError) as caught:
        sdk(endpoint.url).complete(messages=[{"role": "wizard", "content": "hi"}])
    assert "messages[0].role" in caught.value.error.message


def test_prompt_longer_than_the_context_is_refused_and_the_endpoint_keeps_working(endpoint):
    long_prompt = [{"role": "user", "content": "word " * 9000}]
    for stream in (False, True):
        with pytest.raises(HttpResponseError) as caught:
            sdk(endpoint.url).complete(messages=long_prompt, stream=stream)
        assert caught.value.status_code == 400
        assert caught.value.error.code == "context_length_exceeded"
        assert "8192" in caught.value.error.message
    assert sdk(endpoint.url).complete(messages=USER, max_tokens=2).usage.completion_tokens > 0


def test_unknown_route_is_404_json(endpoint):
    status, headers, data = raw(endpoint.url + "/embeddings", b"{}", {"Content-Type": "application/json"})
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(data)["error"]["code"] == "not_found"


def test_wrong_or_missing_key_is_401_and_both_header_styles_work(keyed_endpoint):
    with pytest.raises(ClientAuthenticationError) as caught:
        sdk(keyed_endpoint.url, "wrong").complete(messages=USER, max_tokens=2)
    assert caught.value.status_code == 401
    status, _, _ = raw(keyed_endpoint.url + "/info")
    assert status == 401
    for header in ({"Authorization": f"Bearer {TEST_KEY}"}, {"api-key": TEST_KEY}):
        status, _, data = raw(keyed_endpoint.url + "/info", headers=header)
        assert status == 200, header
    assert sdk(keyed_endpoint.url, TEST_KEY).complete(messages=USER, max_tokens=2).usage.completion_tokens > 0


def test_concurrent_requests_all_complete(endpoint):
    results, errors = [], []

    def ask(n: int) -> None:
        try:
            with sdk(endpoint.url).complete(messages=USER, max_tokens=15, seed=n, stream=True) as updates:
                results.append("".join(c.delta.content or "" for u in updates for c in u.choices))
        except Exception as exc:  # collected: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(results) == 4 and all(text.strip() for text in results)


def test_a_client_that_hangs_up_frees_the_model_for_the_next_request(endpoint):
    with sdk(endpoint.url).complete(stream=True, messages=USER, max_tokens=3000,
                                    model_extras={"ignore_eos": True}) as updates:
        for count, _ in enumerate(updates):
            if count == 5:
                break
    # 3,000 tokens take well over 20 s here; this answer only arrives in time if generation stopped.
    quick = sdk(endpoint.url, read_timeout=20).complete(messages=USER, max_tokens=3)
    assert quick.usage.completion_tokens == 3


# --- extras llama.cpp can honour: logprobs, n, stop_token_ids, JSON output ------------------

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def _post(url: str, body: dict) -> tuple[int, dict | list]:
    """A raw call; a streamed answer comes back as the list of its events."""
    status, _, data = raw(url + "/chat/completions", json.dumps(body).encode(),
                          {"Content-Type": "application/json", "extra-parameters": "pass-through"})
    if body.get("stream") and status == 200:
        events = [line[len("data: "):] for line in data.decode().split("\n") if line.startswith("data: ")]
        return status, [json.loads(e) for e in events if e != "[DONE]"]
    return status, json.loads(data)


def _check_entries(entries: list[dict], top: int) -> None:
    for entry in entries:
        assert set(entry) == {"token", "logprob", "bytes", "top_logprobs"}
        assert entry["logprob"] <= 0 and bytes(entry["bytes"]).decode("utf-8", "replace") == entry["token"]
        alternatives = entry["top_logprobs"]
        assert len(alternatives) == top
        assert [a["logprob"] for a in alternatives] == sorted((a["logprob"] for a in alternatives), reverse=True)
        if alternatives:
            # The chosen token is at most as likely as the most likely alternative.
            assert entry["logprob"] <= alternatives[0]["logprob"] + 1e-9


def test_logprobs_come_back_per_token_with_sorted_alternatives(endpoint):
    result = sdk(endpoint.url).complete(messages=USER, max_tokens=12, temperature=0.0,
                                        model_extras={"logprobs": True, "top_logprobs": 3})
    choice = result.choices[0]
    entries = choice.get("logprobs")["content"]
    assert len(entries) == result.usage.completion_tokens == 12
    assert "".join(e["token"] for e in entries) == choice.message.content
    _check_entries(entries, 3)
    # Greedy decoding picks the most likely token every time.
    assert all(e["token"] == e["top_logprobs"][0]["token"] for e in entries)


def test_llama_style_integer_logprobs_means_that_many_alternatives(endpoint):
    result = sdk(endpoint.url).complete(messages=USER, max_tokens=4, model_extras={"logprobs": 2})
    _check_entries(result.choices[0].get("logprobs")["content"], 2)
    zero = sdk(endpoint.url).complete(messages=USER, max_tokens=4, model_extras={"logprobs": True})
    _check_entries(zero.choices[0].get("logprobs")["content"], 0)
    plain = sdk(endpoint.url).complete(messages=USER, max_tokens=4)
    assert plain.choices[0].get("logprobs") is None


def test_streamed_chunks_carry_the_logprobs_of_their_tokens(endpoint):
    with sdk(endpoint.url).complete(messages=USER, max_tokens=15, temperature=0.0, stream=True,
                                    model_extras={"logprobs": True, "top_logprobs": 2}) as updates:
        updates = list(updates)
    text, tokens = "", []
    for update in updates:
        for choice in update.choices:
            if choice.delta and choice.delta.content:
                text += choice.delta.content
                entries = choice.get("logprobs")["content"]
                assert "".join(e["token"] for e in entries) == choice.delta.content
                tokens += entries
    _check_entries(tokens, 2)
    assert len(tokens) == updates[-1].usage.completion_tokens == 15
    assert text.strip()


def test_logprobs_leave_out_the_tokens_of_a_stop_sequence(endpoint):
    client = sdk(endpoint.url)
    full = client.complete(messages=USER, max_tokens=30, temperature=0.0).choices[0].message.content
    stop = " " + full.split()[3]
    cut = client.complete(messages=USER, max_tokens=30, temperature=0.0, stop=[stop],
                          model_extras={"logprobs": True})
    content = cut.choices[0].message.content
    assert content == full[: full.index(stop)]
    assert "".join(e["token"] for e in cut.choices[0].get("logprobs")["content"]) == content


def test_n_generates_that_many_choices_and_sums_their_usage(endpoint):
    result = sdk(endpoint.url).complete(messages=USER, max_tokens=6, temperature=1.2, seed=5,
                                        model_extras={"n": 3, "ignore_eos": True})
    assert [c.index for c in result.choices] == [0, 1, 2]
    texts = [c.message.content for c in result.choices]
    assert all(t.strip() for t in texts) and len(set(texts)) > 1
    assert all(c.finish_reason == "length" for c in result.choices)
    assert result.usage.completion_tokens == 18
    single = sdk(endpoint.url).complete(messages=USER, max_tokens=6, model_extras={"ignore_eos": True})
    assert result.usage.prompt_tokens == single.usage.prompt_tokens  # the prompt is counted once
    # Choice i uses seed + i, so the same request repeats exactly.
    again = sdk(endpoint.url).complete(messages=USER, max_tokens=6, temperature=1.2, seed=5,
                                       model_extras={"n": 3, "ignore_eos": True})
    assert [c.message.content for c in again.choices] == texts


def test_n_streams_the_choices_one_after_the_other(endpoint):
    status, events = _post(endpoint.url, {"messages": USER, "max_tokens": 5, "stream": True, "n": 2,
                                          "ignore_eos": True, "logprobs": True})
    assert status == 200
    indexes = [c["index"] for e in events for c in e["choices"]]
    assert indexes == sorted(indexes) and set(indexes) == {0, 1}
    finishes = [(c["index"], c["finish_reason"]) for e in events for c in e["choices"] if c["finish_reason"]]
    assert finishes == [(0, "length"), (1, "length")]
    assert events[-1]["usage"]["completion_tokens"] == 10
    assert sum(len(c["logprobs"]["content"]) for e in events for c in e["choices"] if "logprobs" in c) == 10


def test_stop_token_ids_end_the_reply_before_that_token(endpoint):
    from llama_cpp import Llama

    from playground.local_endpoint.model import default_model_path

    client = sdk(endpoint.url)
    full = client.complete(messages=USER, max_tokens=20, temperature=0.0,
                           model_extras={"logprobs": True}).choices[0]
    tokens = [e["token"] for e in full.get("logprobs")["content"]]
    assert len(tokens) > 4, tokens
    vocab = Llama(model_path=str(default_model_path()), vocab_only=True, verbose=False)
    token_id = vocab.tokenize(tokens[3].encode(), add_bos=False, special=False)
    assert len(token_id) == 1
    cut = client.complete(messages=USER, max_tokens=20, temperature=0.0, model_extras={"stop_token_ids": token_id})
    assert cut.choices[0].message.content == "".join(tokens[: tokens.index(tokens[3])])
    assert cut.choices[0].finish_reason == "stop"


def _reply_text(result, stream: bool) -> tuple[str, list]:
    if stream:
        return ("".join(c["delta"].get("content") or "" for e in result for c in e["choices"]),
                [c["finish_reason"] for e in result for c in e["choices"] if c["finish_reason"]])
    return result["choices"][0]["message"]["content"], [result["choices"][0]["finish_reason"]]


@pytest.mark.parametrize("stream", [False, True])
def test_json_object_mode_constrains_the_reply_to_json(endpoint, stream):
    # A prompt that does not ask for JSON: only the grammar makes the reply JSON.
    plain = sdk(endpoint.url).complete(messages=USER, max_tokens=60, temperature=0.0).choices[0].message.content
    with pytest.raises(ValueError):
        json.loads(plain)
    status, result = _post(endpoint.url, {"messages": USER, "max_tokens": 200, "temperature": 0.0,
                                          "response_format": {"type": "json_object"}, "stream": stream})
    assert status == 200
    text, finish = _reply_text(result, stream)
    assert finish == ["stop"]
    assert isinstance(json.loads(text), dict)


@pytest.mark.parametrize("stream", [False, True])
def test_json_schema_constrains_the_reply_to_the_schema(endpoint, stream):
    response_format = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON, "strict": True}}
    for seed in (1, 2, 3):
        status, result = _post(endpoint.url, {"messages": USER, "max_tokens": 100, "temperature": 1.0,
                                              "seed": seed, "response_format": response_format, "stream": stream})
        assert status == 200
        text, finish = _reply_text(result, stream)
        assert finish == ["stop"]
        value = json.loads(text)
        assert set(value) == {"name", "age"}
        assert isinstance(value["name"], str) and isinstance(value["age"], int)


@pytest.mark.parametrize("extras, field, words", [
    ({"best_of": 3}, "best_of", "not supported by the embedded model"),
    ({"use_beam_search": True}, "use_beam_search", "not supported by the embedded model"),
    ({"skip_special_tokens": False}, "skip_special_tokens", "not supported by the embedded model"),
    ({"top_logprobs": 2}, "top_logprobs", "needs 'logprobs': true"),
    ({"logprobs": 21}, "logprobs", "between 0 and 20"),
    ({"logprobs": True, "top_logprobs": 21}, "top_logprobs", "between 0 and 20"),
    ({"logprobs": 2, "top_logprobs": 3}, "top_logprobs", "disagrees"),
    ({"n": 0}, "n", "between 1 and 8"),
    ({"n": 9}, "n", "between 1 and 8"),
    ({"n": 2.5}, "n", "must be an integer"),
    ({"stop_token_ids": ["x"]}, "stop_token_ids", "array of token ids"),
    ({"ignore_eos": "yes"}, "ignore_eos", "true or false"),
])
def test_extras_it_cannot_honour_get_400_naming_them(endpoint, extras, field, words):
    with pytest.raises(HttpResponseError) as caught:
        sdk(endpoint.url).complete(messages=USER, max_tokens=2, model_extras=extras)
    assert caught.value.status_code == 400
    assert f"'{field}'" in caught.value.error.message and words in caught.value.error.message


def test_no_op_values_of_llama_extras_are_accepted(endpoint):
    result = sdk(endpoint.url).complete(messages=USER, max_tokens=2, model_extras={
        "use_beam_search": False, "skip_special_tokens": True, "n": 1, "logprobs": False, "stop_token_ids": []})
    assert result.usage.completion_tokens == 2


def test_unknown_extras_are_still_refused_unless_dropped(endpoint):
    status, result = _post(endpoint.url, {"messages": USER, "max_tokens": 2, "mirostat": 2})
    assert status == 400 and result["error"]["code"] == "unsupported_parameter"
    status, _, _ = raw(endpoint.url + "/chat/completions",
                       json.dumps({"messages": USER, "max_tokens": 2, "mirostat": 2}).encode(),
                       {"Content-Type": "application/json", "extra-parameters": "drop"})
    assert status == 200
