"""The OpenAI v1 side of the endpoint: the official `openai` SDK over real HTTP against the
running endpoint, at base_url .../v1 and .../openai/v1; and the streaming conventions both
SDKs' sample code relies on."""

from __future__ import annotations

import json

import openai
import pytest
from openai import OpenAI

from tests.conftest import TEST_KEY
from tests.playground.local_endpoint.test_server import USER, raw, sdk

MODEL = "SmolLM2-135M-Instruct"


def oai(url: str, key: str = "unused", **kwargs) -> OpenAI:
    return OpenAI(base_url=url, api_key=key, max_retries=0, **kwargs)


@pytest.fixture(params=["/v1", "/openai/v1"])
def base_url(request, endpoint) -> str:
    return endpoint.url + request.param


def test_models_lists_the_one_model(base_url):
    models = oai(base_url).models.list()
    assert [m.id for m in models.data] == [MODEL]
    model = models.data[0]
    assert model.object == "model" and model.owned_by == "HuggingFaceTB" and model.created > 1_600_000_000
    assert oai(base_url).models.retrieve(MODEL).id == MODEL


@pytest.mark.parametrize("path", ["/models", "/v1/models", "/openai/v1/models"])
def test_models_wire_format(endpoint, path):
    status, headers, data = raw(endpoint.url + path)
    assert status == 200 and headers["Content-Type"] == "application/json"
    body = json.loads(data)
    assert body["object"] == "list"
    assert [set(m) for m in body["data"]] == [{"id", "object", "created", "owned_by"}]


def test_chat_completion(base_url):
    result = oai(base_url).chat.completions.create(model=MODEL, messages=USER, max_tokens=8)
    assert result.choices[0].message.content.strip()
    assert result.choices[0].message.role == "assistant"
    assert result.usage.completion_tokens <= 8 and result.usage.prompt_tokens > 5


def test_a_developer_message_is_the_system_prompt(base_url):
    def prompt_tokens(role: str) -> int:
        return oai(base_url).chat.completions.create(model=MODEL, max_tokens=1, messages=[
            {"role": role, "content": "You are a pirate."}, *USER]).usage.prompt_tokens

    assert prompt_tokens("developer") == prompt_tokens("system")


def test_stream_with_include_usage_ends_with_a_usage_chunk_without_choices(base_url):
    chunks = list(oai(base_url).chat.completions.create(
        model=MODEL, messages=USER, max_tokens=6, stream=True, stream_options={"include_usage": True},
        extra_body={"ignore_eos": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 6
    assert all(c.usage is None for c in chunks[:-1])  # usage comes once, at the end
    assert [c.choices[0].finish_reason for c in chunks[:-1] if c.choices[0].finish_reason] == ["length"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]).strip()


def test_openai_sample_loop_runs_without_include_usage(base_url, capsys):
    stream = oai(base_url).chat.completions.create(model=MODEL, messages=USER, max_tokens=10, stream=True)
    for chunk in stream:  # the OpenAI quickstart's loop
        print(chunk.choices[0].delta.content or "", end="")
    assert capsys.readouterr().out.strip()


def test_azure_sample_loop_runs_and_usage_rides_on_the_finish_chunk(endpoint, capsys):
    """Microsoft's streaming sample reads choices[0] of every update: no update may have none.
    Usage still arrives, on the update that carries the finish_reason."""
    response = sdk(endpoint.url).complete(stream=True, messages=USER, max_tokens=10)
    updates = []
    for update in response:
        print(update.choices[0].delta.content or "", end="")
        updates.append(update)
    response.close()
    assert capsys.readouterr().out.strip()
    finish = [u for u in updates if u.choices[0].finish_reason]
    assert len(finish) == 1 and finish[0] is updates[-1]
    assert finish[0].usage.completion_tokens > 0 and finish[0].usage.prompt_tokens > 5


def test_the_azure_sdk_with_include_usage_gets_the_openai_convention(endpoint):
    with sdk(endpoint.url).complete(stream=True, messages=USER, max_tokens=5,
                                    model_extras={"stream_options": {"include_usage": True}}) as response:
        updates = list(response)
    assert updates[-1].choices == [] and updates[-1].usage.completion_tokens > 0
    assert all(u.usage is None for u in updates[:-1])


def test_errors_parse_as_api_status_errors(base_url):
    with pytest.raises(openai.BadRequestError) as caught:
        oai(base_url).chat.completions.create(model=MODEL, messages=USER, temperature=5)
    error = caught.value
    assert error.status_code == 400 and error.code == "invalid_parameter" and error.param == "temperature"
    assert "'temperature' must be between 0 and 2" in error.message
    assert error.body == {"code": "invalid_parameter", "status": 400, "param": "temperature",
                          "message": error.body["message"]}
    with pytest.raises(openai.NotFoundError) as missing:
        oai(base_url).models.retrieve("gpt-4o")
    assert missing.value.code == "model_not_found"


def test_a_wrong_key_is_an_authentication_error(keyed_endpoint):
    with pytest.raises(openai.AuthenticationError) as caught:
        oai(keyed_endpoint.url + "/v1", "wrong").models.list()
    assert caught.value.code == "unauthorized"
    # The OpenAI SDK sends the key as a Bearer token, which the endpoint accepts.
    assert oai(keyed_endpoint.url + "/openai/v1", TEST_KEY).models.list().data[0].id == MODEL


# --- max_completion_tokens ------------------------------------------------------------

def test_max_completion_tokens_caps_the_reply(base_url):
    result = oai(base_url).chat.completions.create(model=MODEL, messages=USER, max_completion_tokens=4,
                                                   extra_body={"ignore_eos": True})
    assert result.usage.completion_tokens == 4 and result.choices[0].finish_reason == "length"


def test_max_tokens_and_max_completion_tokens_must_agree(base_url):
    same = oai(base_url).chat.completions.create(model=MODEL, messages=USER, max_tokens=3, max_completion_tokens=3,
                                                 extra_body={"ignore_eos": True})
    assert same.usage.completion_tokens == 3
    with pytest.raises(openai.BadRequestError) as caught:
        oai(base_url).chat.completions.create(model=MODEL, messages=USER, max_tokens=3, max_completion_tokens=5)
    assert caught.value.param == "max_completion_tokens"
    assert "'max_tokens' (3)" in caught.value.message and "'max_completion_tokens' (5)" in caught.value.message
