"""OpenAITransport against the real embedded endpoint (its OpenAI-style `/v1` routes) and against
local fakes of what cannot be reached from here: Microsoft Foundry's `/openai/v1/` (tests/
playground/transports/foundry.py says which documented wire behaviour each fake reproduces),
GitHub Models' retired routes (reference.md section 2), and an OpenAI-compatible server such
as Ollama or vLLM (`/v1/models` with `owned_by`, no auth)."""

from __future__ import annotations

import json
import sys
import time
import types

import pytest

from playground.errors import PlaygroundError
from playground.settings import Secret
from playground.transports import open_transport, openai_v1
from playground.transports.base import rate_limits
from playground.transports.openai_v1 import OpenAITransport
from playground.types import OPENAI, ChatParams, Endpoint
from tests.conftest import TEST_KEY
from tests.playground.transports import foundry
from tests.support.app_server import free_port
from tests.support.fake_service import DONE, FakeService, Reply, chunk, sse
from tests.support.github_models import DAILY_LIMIT_429, RETIRED_403

HELLO = [{"role": "user", "content": "Say hello."}]
WIRE_ONLY = {"messages", "stream", "stream_options", "model"}  # what the transport adds around the parameters


def transport(url: str, key: str | None = None, *, read_timeout: float = 30.0, entra: bool = False) -> OpenAITransport:
    return OpenAITransport(Endpoint(url, "Test endpoint", Secret(key) if key else None, "TEST_KEY_VARIABLE",
                                    entra=entra, api=OPENAI), read_timeout=read_timeout)


def parameters(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in WIRE_ONLY}


def header(request: dict, name: str) -> str | None:
    return {k.lower(): v for k, v in request["headers"].items()}.get(name.lower())


def raised(call, *args, **kwargs) -> PlaygroundError:
    with pytest.raises(PlaygroundError) as caught:
        result = call(*args, **kwargs)
        list(result)  # a stream raises mid-way only when read
    return caught.value


# -- the real embedded endpoint, through base_url=.../v1 -----------------------------------------

@pytest.fixture(scope="module")
def v1(endpoint) -> OpenAITransport:
    chat = transport(endpoint.url + "/v1")
    yield chat
    chat.close()


def test_open_transport_picks_this_adapter_for_openai_endpoints(endpoint):
    chat = open_transport(Endpoint(endpoint.url + "/v1", "Embedded", api=OPENAI))
    assert isinstance(chat, OpenAITransport)
    chat.close()


def test_stream_yields_chunks_usage_and_time_to_first_token(v1, endpoint):
    stream = v1.stream_chat(HELLO, ChatParams(max_tokens=16, temperature=0.0))
    chunks = list(stream)
    assert len(chunks) > 1 and stream.text == "".join(chunks) and stream.text.strip()
    assert stream.finish_reason in ("stop", "length")
    assert stream.prompt_tokens > 5 and 0 < stream.completion_tokens <= 16  # from the include_usage chunk
    assert 0 < stream.time_to_first_token < 30
    request = endpoint.last_request()
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["stream"] is True and request["body"]["stream_options"] == {"include_usage": True}
    assert "model" not in request["body"]  # none chosen: the server's one model answers


def test_complete_returns_the_whole_reply_with_usage(v1):
    reply = v1.complete_chat(HELLO, ChatParams(max_tokens=8, temperature=0.0))
    assert reply.text.strip() and reply.finish_reason in ("stop", "length")
    assert reply.prompt_tokens > 5 and 0 < reply.completion_tokens <= 8 and reply.elapsed > 0
    assert reply.logprobs == (None,) and reply.tool_calls == ()


def test_every_parameter_reaches_the_body_exactly(v1, endpoint):
    params = ChatParams(temperature=0.3, top_p=0.8, max_tokens=6, presence_penalty=0.0, frequency_penalty=0.5,
                        stop=("\n\n", "END"), seed=7, extras={"top_k": 20, "ignore_eos": False})
    list(v1.stream_chat(HELLO, params))
    body = endpoint.last_request()["body"]
    assert parameters(body) == {**params.body(), "top_k": 20, "ignore_eos": False}
    assert "presence_penalty" not in body  # 0 is the default: not sent
    assert body["max_tokens"] == 6 and "max_completion_tokens" not in body


def test_llama_style_logprobs_become_openais_and_come_back_per_token(v1, endpoint):
    stream = v1.stream_chat(HELLO, ChatParams(max_tokens=5, temperature=0.0, extras={"logprobs": 3}))
    list(stream)
    body = endpoint.last_request()["body"]
    assert (body["logprobs"], body["top_logprobs"]) == (True, 3)
    assert stream.logprobs and all(1 <= len(entry["top_logprobs"]) <= 3 for entry in stream.logprobs)
    assert all(isinstance(entry["logprob"], float) and entry["token"] for entry in stream.logprobs)
    reply = v1.complete_chat(HELLO, ChatParams(max_tokens=4, temperature=0.0,
                                               extras={"logprobs": True, "top_logprobs": 2}))
    assert parameters(endpoint.last_request()["body"])["top_logprobs"] == 2
    assert reply.logprobs[0] and all(len(entry["top_logprobs"]) <= 2 for entry in reply.logprobs[0])


def test_n_2_non_streamed_gives_two_choices(v1, endpoint):
    reply = v1.complete_chat(HELLO, ChatParams(max_tokens=5, temperature=1.0, seed=3, extras={"n": 2}))
    assert endpoint.last_request()["body"]["n"] == 2
    assert len(reply.texts) == 2 and all(text.strip() for text in reply.texts)
    assert len(reply.finish_reasons) == 2 and len(reply.logprobs) == 2


def test_json_object_and_json_schema_response_formats(v1, endpoint):
    prompt = [{"role": "user", "content": "Give a JSON object with a key 'answer' saying hello."}]
    reply = v1.complete_chat(prompt, ChatParams(max_tokens=24, temperature=0.0, response_format="json_object"))
    assert endpoint.last_request()["body"]["response_format"] == {"type": "json_object"}
    assert reply.text.lstrip().startswith("{")

    schema = {"name": "greeting", "strict": True, "schema": {
        "type": "object", "properties": {"answer": {"type": "string", "maxLength": 12}}, "required": ["answer"]}}
    reply = v1.complete_chat(prompt, ChatParams(max_tokens=40, temperature=0.0, response_format=schema))
    assert endpoint.last_request()["body"]["response_format"] == {"type": "json_schema", "json_schema": schema}
    if reply.finish_reason == "stop":  # a reply cut by max_tokens is valid JSON only up to the cut
        assert isinstance(json.loads(reply.text)["answer"], str)
    else:
        assert reply.text.lstrip().startswith('{')


def test_stop_sequences_end_the_reply(v1, endpoint):
    prompt = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
    reply = v1.complete_chat(prompt, ChatParams(max_tokens=30, temperature=0.0, stop=(",",)))
    assert endpoint.last_request()["body"]["stop"] == [","]
    assert "," not in reply.text


def test_the_same_seed_gives_the_same_sampled_reply(v1, endpoint):
    params = ChatParams(max_tokens=8, temperature=1.0, seed=1234)
    # Measured here: the embedded endpoint's first request for a prompt (after a start or after
    # another prompt) can sample differently from the repeats, with either SDK (likely its KV-cache
    # reuse); so the comparison starts once this prompt has been seen.
    v1.complete_chat(HELLO, params)
    assert v1.complete_chat(HELLO, params).text == v1.complete_chat(HELLO, params).text
    assert endpoint.last_request()["body"]["seed"] == 1234


def test_an_out_of_range_value_comes_back_in_the_services_words(v1):
    error = raised(v1.stream_chat, HELLO, ChatParams(temperature=3.0))
    assert error.status == 400
    assert "'temperature' must be between 0 and 2" in error.message


def test_a_refused_key_names_the_variable_to_fix(keyed_endpoint):
    wrong = transport(keyed_endpoint.url + "/v1", "wrong")
    error = raised(wrong.stream_chat, HELLO, ChatParams(max_tokens=2))
    assert error.status == 401 and "TEST_KEY_VARIABLE" in error.message and "wrong" not in error.message
    right = transport(keyed_endpoint.url + "/v1", TEST_KEY)
    assert list(right.stream_chat(HELLO, ChatParams(max_tokens=2)))


# -- Microsoft Foundry's /openai/v1/, faked ----------------------------------------------------

def foundry_service(chat: list[Reply], models: list[Reply] | None = None, key: str | None = foundry.KEY) -> FakeService:
    return FakeService({foundry.CHAT: chat, foundry.MODELS: models or [foundry.MODEL_LIST]}, require_key=key)


def foundry_transport(fake: FakeService, key: str | None = foundry.KEY, **options) -> OpenAITransport:
    return transport(fake.url + foundry.BASE_PATH, key, **options)


def test_foundry_lists_its_models_and_describes_one():
    with foundry_service([foundry.stream("x")]) as fake:
        chat = foundry_transport(fake)
        entries = chat.list_models()
        info, first = chat.model_info("Llama-3.3-70B-Instruct"), chat.model_info()
    assert [(e.id, e.owned_by) for e in entries] == [
        ("gpt-4o-mini", "system"), ("Llama-3.3-70B-Instruct", "Meta"), ("DeepSeek-R1", None)]
    assert (info.name, info.model_type, info.provider) == ("Llama-3.3-70B-Instruct", "chat-completions", "Meta")
    assert first.name == "gpt-4o-mini"
    assert fake.requests[0]["path"] == "/openai/v1/models"
    assert header(fake.requests[0], "Authorization") == f"Bearer {foundry.KEY}"


def test_foundry_streams_with_usage_and_the_rate_limit_counters_reach_the_callback():
    seen = []
    with foundry_service([foundry.stream("Hello", ", ", "world")]) as fake:
        stream = foundry_transport(fake).stream_chat(HELLO, ChatParams(max_tokens=20), model="gpt-4o-mini",
                                                     on_headers=seen.append)
        assert list(stream) == ["Hello", ", ", "world"]
    assert (stream.finish_reason, stream.prompt_tokens, stream.completion_tokens) == ("stop", 12, 3)
    request = fake.requests[0]
    assert request["path"] == "/openai/v1/chat/completions" and request["body"]["model"] == "gpt-4o-mini"
    assert "api-version" not in fake.requests[0]["path"]
    limits = rate_limits(seen[0])
    assert (limits.remaining_requests, limits.remaining_tokens, limits.reset_requests) == (999, 199950, 360.0)


def test_a_filtered_prompt_names_the_categories():
    with foundry_service([foundry.CONTENT_FILTER_400]) as fake:
        error = raised(foundry_transport(fake).stream_chat, HELLO, ChatParams(), model="gpt-4o-mini")
    assert error.status == 400 and error.code == "content_filter"
    assert "filtered the prompt" in error.message and "(categories: hate)" in error.message


def test_a_filtered_reply_ends_with_finish_reason_content_filter():
    with foundry_service([foundry.stream("Some ", "text", finish_reason="content_filter")]) as fake:
        stream = foundry_transport(fake).stream_chat(HELLO, ChatParams(), model="gpt-4o-mini")
        assert "".join(stream) == "Some text"
    assert stream.finish_reason == "content_filter"


def test_a_wrong_key_and_a_forbidden_principal_name_the_variable():
    with foundry_service([foundry.FORBIDDEN_403]) as fake:
        refused = raised(foundry_transport(fake, "wrong-key").stream_chat, HELLO, ChatParams(), model="m")
        forbidden = raised(foundry_transport(fake).stream_chat, HELLO, ChatParams(), model="m")
    assert refused.status == 401 and "refused the credentials" in refused.message
    assert forbidden.status == 403 and "does not allow this credential" in forbidden.message
    assert all("TEST_KEY_VARIABLE" in e.message and "wrong-key" not in e.message for e in (refused, forbidden))


def test_too_many_tokens_says_the_limit_and_roughly_how_far_over():
    long_prompt = [{"role": "user", "content": "x" * 40_000}]  # about 10,000 tokens
    with foundry_service([foundry.TOKENS_LIMIT_413]) as fake:
        error = raised(foundry_transport(fake).stream_chat, long_prompt, ChatParams(), model="gpt-4o-mini")
    assert error.code == "tokens_limit_reached"
    assert "at most 8000 tokens" in error.message and "about 10000 tokens, roughly 2000 over" in error.message


def test_a_daily_429_fails_at_once_after_exactly_one_request():
    """retry-after: 24367 (GitHub's and Azure's daily quota): never slept through."""
    seen = []
    with foundry_service([DAILY_LIMIT_429]) as fake:
        started = time.monotonic()
        error = raised(foundry_transport(fake).stream_chat, HELLO, ChatParams(), model="m", on_headers=seen.append)
        took = time.monotonic() - started
    assert len(fake.requests) == 1 and took < 2
    assert error.status == 429 and error.retry_after == 24367
    assert "150 requests per day" in error.message and "Try again in 6 h 46 min" in error.message
    assert seen and seen[0]["retry-after"] == "24367"  # the 429's own headers reach the UI too


def test_a_short_429_is_waited_out_and_retried():
    seen = []
    with foundry_service([foundry.SHORT_429, foundry.stream("Hi")]) as fake:
        started = time.monotonic()
        stream = foundry_transport(fake).stream_chat(HELLO, ChatParams(), model="m", on_headers=seen.append)
        assert list(stream) == ["Hi"]
        took = time.monotonic() - started
    assert len(fake.requests) == 2 and 0.2 <= took < 3
    # Every response's headers reach the UI: the 429's counters, then the success's.
    assert [rate_limits(h).remaining_requests for h in seen] == [0, 999]


def test_a_long_retry_after_on_a_503_is_not_slept_through_either():
    busy = Reply(status=503, headers={"retry-after": "120"}, body={"error": {"code": "busy", "message": "Busy"}})
    with foundry_service([busy, foundry.stream("never")]) as fake:
        error = raised(foundry_transport(fake).stream_chat, HELLO, ChatParams(), model="m")
    assert len(fake.requests) == 1 and error.status == 503 and error.retry_after == 120


def test_a_500_is_retried_twice_then_says_server_error():
    with foundry_service([foundry.SERVER_500]) as fake:
        error = raised(foundry_transport(fake).stream_chat, HELLO, ChatParams(), model="m")
    assert len(fake.requests) == 3  # the first try and two retries, no more
    assert error.status == 500 and "server error (HTTP 500)" in error.message
    assert "The server had an error while processing your request." in error.message


def test_a_500_then_success_is_retried_with_backoff():
    with foundry_service([foundry.SERVER_500, foundry.completion("Recovered")]) as fake:
        reply = foundry_transport(fake).complete_chat(HELLO, ChatParams(), model="m")
    assert reply.text == "Recovered" and len(fake.requests) == 2


def test_a_400_is_not_retried():
    with foundry_service([foundry.CONTENT_FILTER_400]) as fake:
        raised(foundry_transport(fake).complete_chat, HELLO, ChatParams(), model="m")
    assert len(fake.requests) == 1


def test_a_stream_cut_mid_way_keeps_the_partial_reply():
    events = [chunk("The "), chunk("sea "), chunk("is "), chunk("deep."), chunk(finish_reason="stop")]
    with foundry_service([Reply(events=events, cut_after=3)]) as fake:
        stream = foundry_transport(fake).stream_chat(HELLO, ChatParams(), model="m")
        received = []
        with pytest.raises(PlaygroundError) as caught:
            for text in stream:
                received.append(text)
    assert received == ["The ", "sea ", "is "] and stream.text == "The sea is "
    assert caught.value.code == "stream_interrupted" and "kept" in caught.value.message
    assert len(fake.requests) == 1  # never retried mid-stream: the text already shown would repeat


@pytest.mark.parametrize("bad_line", [
    b"data: {broken\n\n",
    b'data: {"id": "x", "choices": [{"index": 0, "delta": {"content": "y"}\n\n',  # truncated JSON
])
def test_a_malformed_stream_keeps_the_partial_text(bad_line):
    reply = Reply(raw=[sse(chunk("Hello ")), sse(chunk("there")), bad_line, sse(chunk(" never shown")), DONE])
    with foundry_service([reply]) as fake:
        stream = foundry_transport(fake).stream_chat(HELLO, ChatParams(), model="m")
        received = []
        with pytest.raises(PlaygroundError) as caught:
            for text in stream:
                received.append(text)
    assert caught.value.code == "malformed_stream" and "malformed stream" in caught.value.message
    assert received == ["Hello ", "there"] and stream.text == "Hello there"


def test_sse_framing_the_spec_allows_is_read_not_refused():
    """CRLF endings, `: ping` comments and `event:` lines are valid SSE (servers built on
    sse-starlette send them); the OpenAI SDK reads them, unlike azure-ai-inference."""
    reply = Reply(raw=[b": ping\r\n\r\n", b"data: " + json.dumps(chunk("Hi")).encode() + b"\r\n\r\n",
                       b"event: message\ndata: " + json.dumps(chunk(" there", finish_reason="stop")).encode() + b"\n\n",
                       DONE])
    with foundry_service([reply]) as fake:
        stream = foundry_transport(fake).stream_chat(HELLO, ChatParams(), model="m")
        assert "".join(stream) == "Hi there"
    assert stream.finish_reason == "stop"


def test_an_error_event_inside_the_stream_keeps_the_partial_text():
    reply = Reply(raw=[sse(chunk("Half ")), sse({"error": {"code": "server_error", "message": "Model overloaded"}}),
                       DONE])
    with foundry_service([reply]) as fake:
        stream = foundry_transport(fake).stream_chat(HELLO, ChatParams(), model="m")
        with pytest.raises(PlaygroundError) as caught:
            list(stream)
    assert stream.text == "Half " and "Model overloaded" in caught.value.message and "kept" in caught.value.message


def test_github_models_retired_403_says_so_with_the_notice_and_no_token_advice():
    with foundry_service([RETIRED_403], [RETIRED_403], key=None) as fake:
        error = raised(foundry_transport(fake, "github-pat").stream_chat, HELLO, ChatParams(), model="openai/gpt-4o")
        listing = raised(foundry_transport(fake, "github-pat").list_models)
    for e in (error, listing):
        assert e.code == "retired" and e.status == 403
        assert "retired on 2026-07-30" in e.message
        assert "https://github.blog/changelog/2026-07-01-github-models-is-being-fully-retired-on-july-30-2026/" \
            in e.message
        assert "Check" not in e.message and "TEST_KEY_VARIABLE" not in e.message


def test_tool_calls_streamed_in_pieces_are_reassembled():
    def piece(**call) -> dict:
        return {"index": 0, "delta": {"tool_calls": [{"index": 0, **call}]}, "finish_reason": None}

    events = [{"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [choice]}
              for choice in (piece(id="call_1", type="function", function={"name": "get_weather", "arguments": ""}),
                             piece(function={"arguments": '{"city": '}), piece(function={"arguments": '"Oslo"}'}),
                             {"index": 0, "delta": {}, "finish_reason": "tool_calls"})]
    tools = ({"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}},)
    with foundry_service([Reply(events=events)]) as fake:
        stream = foundry_transport(fake).stream_chat(HELLO, ChatParams(tools=tools, tool_choice="auto"), model="m")
        assert list(stream) == ["", "", ""]  # no text, but each piece is a chance to redraw the call
    assert stream.text == "" and stream.finish_reason == "tool_calls"
    assert stream.tool_calls == ({"id": "call_1", "type": "function",
                                  "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},)
    body = fake.requests[0]["body"]
    assert (body["tools"], body["tool_choice"]) == ([dict(t) for t in tools], "auto")


def test_a_whole_reply_carries_every_choice_and_the_first_choices_tool_calls():
    calls = [{"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]
    with foundry_service([foundry.completion("one", "two", tool_calls=calls)]) as fake:
        reply = foundry_transport(fake).complete_chat(HELLO, ChatParams(extras={"n": 2, "best_of": 3}), model="m")
    assert reply.texts == ("one", "two") and reply.finish_reasons == ("stop", "stop")
    assert reply.tool_calls == tuple(calls) and (reply.prompt_tokens, reply.completion_tokens) == (12, 5)
    assert parameters(fake.requests[0]["body"]) == {"n": 2, "best_of": 3}  # best_of: extra_body


def test_messages_pass_through_as_wire_dicts():
    image = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQ"
             "AAAAABJRU5ErkJggg==")
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": image}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "describe", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "A single pixel."},
    ]
    with foundry_service([foundry.stream("A pixel.")]) as fake:
        list(foundry_transport(fake).stream_chat(messages, ChatParams(), model="gpt-4o-mini"))
    assert fake.requests[0]["body"]["messages"] == messages


def test_a_slow_first_byte_ends_after_the_read_timeout_without_retrying():
    """The service accepts the request and then sends nothing for longer than the timeout."""
    with foundry_service([Reply(events=[chunk("late")], first_byte_delay=3)]) as fake:
        started = time.monotonic()
        error = raised(foundry_transport(fake, read_timeout=0.5).stream_chat, HELLO, ChatParams(), model="m")
        took = time.monotonic() - started
    assert error.code == "timeout" and "stopped answering" in error.message
    assert len(fake.requests) == 1 and took < 2.5


def test_nothing_listening_is_unreachable_and_names_the_address():
    url = f"http://127.0.0.1:{free_port()}/openai/v1"
    error = raised(transport(url).stream_chat, HELLO, ChatParams(), model="m")
    assert error.code == "unreachable" and url in error.message


# -- credentials ---------------------------------------------------------------------------------

class FakeCredential:
    """Stands in for DefaultAzureCredential (no Entra ID here): hands out one token per scope."""

    scopes: list[str] = []
    fail = False

    def __init__(self, **options):
        self.options = options

    def get_token(self, *scopes, **kwargs):
        if FakeCredential.fail:
            from azure.identity import CredentialUnavailableError

            raise CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token")
        FakeCredential.scopes.extend(scopes)
        return types.SimpleNamespace(token="entra-token-1", expires_on=int(time.time()) + 3600)

    get_token_info = get_token


@pytest.fixture
def fake_entra(monkeypatch):
    import azure.identity

    FakeCredential.scopes, FakeCredential.fail = [], False
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", FakeCredential)
    return FakeCredential


def test_entra_id_sends_a_bearer_token_for_the_foundry_scope(fake_entra):
    with foundry_service([foundry.stream("Hi")], key="entra-token-1") as fake:
        stream = foundry_transport(fake, None, entra=True).stream_chat(HELLO, ChatParams(), model="m")
        assert list(stream) == ["Hi"]
    assert header(fake.requests[0], "Authorization") == "Bearer entra-token-1"
    assert fake_entra.scopes and set(fake_entra.scopes) == {openai_v1.ENTRA_SCOPE}


def test_no_entra_sign_in_says_how_to_fix_it(fake_entra):
    fake_entra.fail = True
    with foundry_service([foundry.stream("Hi")]) as fake:
        error = raised(foundry_transport(fake, None, entra=True).stream_chat, HELLO, ChatParams(), model="m")
    assert error.code == "no_credential" and "TEST_KEY_VARIABLE" in error.message and "az login" in error.message
    assert fake.requests == []


def test_a_keyless_endpoint_never_sends_the_environments_openai_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-openai-key")
    with FakeService([foundry.stream("Hi")]) as fake:
        list(transport(fake.url + "/v1").stream_chat(HELLO, ChatParams()))
    assert "sk-real-openai-key" not in json.dumps(fake.requests[0]["headers"])


# -- an OpenAI-compatible server (Ollama, vLLM), faked ---------------------------------------------

OLLAMA_MODELS = Reply(body={"object": "list", "data": [
    {"id": "llama3.2:1b", "object": "model", "created": 1733356800, "owned_by": "library"},
    {"id": "qwen2.5:0.5b", "object": "model", "created": 1733356800, "owned_by": "library"}]})


def test_an_openai_compatible_server_lists_its_models_and_chats_without_a_key():
    """Ollama's `/v1`: `GET /v1/models` with `owned_by`, `POST /v1/chat/completions`, no auth."""
    with FakeService({"/v1/models": [OLLAMA_MODELS], "/v1/chat/completions": [foundry.stream("Hi", "!")]}) as fake:
        chat = transport(fake.url + "/v1")
        entries = chat.list_models()
        info = chat.model_info("qwen2.5:0.5b")
        stream = chat.stream_chat(HELLO, ChatParams(max_tokens=5, extras={"top_k": 40}), model="llama3.2:1b")
        assert "".join(stream) == "Hi!"
    assert [(e.id, e.owned_by) for e in entries] == [("llama3.2:1b", "library"), ("qwen2.5:0.5b", "library")]
    assert (info.name, info.provider) == ("qwen2.5:0.5b", "library")
    assert parameters(fake.requests[-1]["body"]) == {"max_tokens": 5, "top_k": 40}


def test_a_server_without_a_model_list_says_so():
    with FakeService({"/v1/chat/completions": [foundry.stream("Hi")]}) as fake:  # /v1/models: 404
        chat = transport(fake.url + "/v1")
        listing = raised(chat.list_models)
        info = raised(chat.model_info)
    assert listing.code == "no_model_list" and listing.status == 404
    assert info.code == "no_info_route" and "has no /info route" in info.message


def test_the_adapter_module_is_imported_only_when_an_openai_endpoint_is_opened():
    # Model Inference users never pay for importing the openai SDK (checked in a fresh interpreter).
    import subprocess

    code = ("import sys; from playground.transports import open_transport; from playground.types import Endpoint; "
            "open_transport(Endpoint('http://127.0.0.1:9/v1', 'x')); print('openai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[3]))
    assert out.stdout.strip() == "False", out.stderr


def test_cancel_mid_stream_ends_quietly_with_the_text_so_far(v1):
    """The Stop button: cancel() closes the response; the iteration ends without an error."""
    stream = v1.stream_chat(HELLO, ChatParams(max_tokens=400, extras={"ignore_eos": True}))
    received = []
    for text in stream:
        received.append(text)
        if len(received) == 3:
            stream.cancel()
    assert len(received) == 3 and stream.text == "".join(received)
    assert stream.cancelled and stream.finish_reason is None
    assert v1.complete_chat(HELLO, ChatParams(max_tokens=2)).text  # the client still works after a cancel
