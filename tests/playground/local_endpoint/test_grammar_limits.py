"""JSON-schema grammar bombs: a schema whose grammar llama.cpp cannot build (or builds into a
per-token CPU sink) gets a 400 naming the field and the limit before any byte of a reply, and the
endpoint keeps answering. Real endpoint, real SDKs (openai, azure-ai-inference) over real HTTP.

These endpoints are the module's own, not the shared session one: before the limits, each bomb
killed the process (llama.cpp refused the grammar and the sampler it returned was NULL)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import jsonschema
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import (
    ChatCompletionsNamedToolChoice,
    ChatCompletionsNamedToolChoiceFunction,
    ChatCompletionsToolDefinition,
    FunctionDefinition,
    UserMessage,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError

from tests.conftest import TEST_THREADS, RunningEndpoint, start_endpoint

ASK = [{"role": "user", "content": "Describe a cat as JSON."}]
RF = "response_format.json_schema.schema"
# The documented limits (README, the embedded endpoint's section).
MAX_REPETITION = 1000
MAX_ALTERNATIVES = 256
MAX_SCHEMA_NODES = 1000
MAX_SCHEMA_DEPTH = 32
MAX_GRAMMAR_BYTES = 262144


def one(**field) -> dict:
    """An object schema with the one required property `x`."""
    return {"type": "object", "properties": {"x": field}, "required": ["x"], "additionalProperties": False}


STRING_BOMB = one(type="string", maxLength=2000)
ITEMS_BOMB = one(type="array", items={"type": "integer"}, maxItems=2500)
PATTERN_BOMB = one(type="string", pattern="^[a-z]{0,2500}$")


@pytest.fixture(scope="module")
def holder(tmp_path_factory):
    box: dict[str, RunningEndpoint] = {}
    yield box, tmp_path_factory
    if "running" in box:
        box["running"].stop()


@pytest.fixture
def own(holder) -> RunningEndpoint:
    """This module's endpoint, started again if an earlier test killed it (as every bomb did)."""
    box, factory = holder
    if "running" not in box or box["running"].process.poll() is not None:
        box["running"] = start_endpoint(factory.mktemp("grammar"), *TEST_THREADS)
    return box["running"]


def oai(endpoint: RunningEndpoint) -> openai.OpenAI:
    return openai.OpenAI(base_url=endpoint.url + "/v1", api_key="unused", max_retries=0, timeout=120)


def azure(endpoint: RunningEndpoint) -> ChatCompletionsClient:
    return ChatCompletionsClient(endpoint=endpoint.url, credential=AzureKeyCredential("unused"), retry_total=0)


def post(endpoint: RunningEndpoint, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(endpoint.url + "/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def schema_format(schema: dict) -> dict:
    return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}


def refused(endpoint: RunningEndpoint, body: dict) -> dict:
    """The error of a request that must be refused with 400."""
    status, result = post(endpoint, {"messages": ASK, "max_tokens": 5, **body})
    assert status == 400, result
    return result["error"]


def assert_still_answers(endpoint: RunningEndpoint) -> None:
    reply = oai(endpoint).chat.completions.create(model="m", messages=ASK, max_tokens=3)
    assert reply.choices[0].message.content is not None
    assert endpoint.process.poll() is None


# --- the bombs of the issue -------------------------------------------------------------

@pytest.mark.parametrize("schema, field, value", [
    (STRING_BOMB, "maxLength", 2000),
    (ITEMS_BOMB, "maxItems", 2500),
    (PATTERN_BOMB, "pattern", 2500),
])
def test_openai_sdk_response_format_bomb_is_a_400_naming_field_and_limit(own, schema, field, value):
    with pytest.raises(openai.BadRequestError) as caught:
        oai(own).chat.completions.create(model="m", messages=ASK, max_tokens=5, response_format=schema_format(schema))
    error = caught.value.body
    assert caught.value.param == f"{RF}.properties.x.{field}"
    assert error["code"] == "invalid_parameter"
    assert f"'{RF}.properties.x.{field}'" in error["message"]
    assert str(value) in error["message"] and f"at most {MAX_REPETITION}" in error["message"]
    assert_still_answers(own)


def test_azure_sdk_forced_tool_with_the_bomb_schema_is_a_400(own):
    tools = [ChatCompletionsToolDefinition(function=FunctionDefinition(name="fill", parameters=STRING_BOMB))]
    with pytest.raises(HttpResponseError) as caught:
        azure(own).complete(messages=[UserMessage("Fill it in.")], tools=tools, max_tokens=5,
                            tool_choice=ChatCompletionsNamedToolChoice(
                                function=ChatCompletionsNamedToolChoiceFunction(name="fill")))
    assert caught.value.status_code == 400
    assert "'tools[0].function.parameters.properties.x.maxLength'" in caught.value.error.message
    assert f"at most {MAX_REPETITION}" in caught.value.error.message
    assert_still_answers(own)


def test_a_bomb_in_any_tool_is_refused_with_tool_choice_auto(own):
    tools = [{"type": "function", "function": {"name": "ok", "parameters": one(type="string")}},
             {"type": "function", "function": {"name": "bomb", "parameters": ITEMS_BOMB}}]
    error = refused(own, {"tools": tools, "tool_choice": "auto"})
    assert error["param"] == "tools[1].function.parameters.properties.x.maxItems"
    assert f"at most {MAX_REPETITION}" in error["message"]
    assert_still_answers(own)


def test_a_streamed_bomb_is_a_400_before_any_byte_of_a_stream(own):
    with pytest.raises(openai.BadRequestError) as caught:
        stream = oai(own).chat.completions.create(model="m", messages=ASK, max_tokens=5, stream=True,
                                                  response_format=schema_format(STRING_BOMB))
        list(stream)
    assert caught.value.param == f"{RF}.properties.x.maxLength"
    assert_still_answers(own)


# --- what else multiplies the grammar -----------------------------------------------------

def test_repetitions_that_add_up_inside_one_pattern_are_refused(own):
    # Each count is under the limit, but llama.cpp counts them together inside one group.
    error = refused(own, {"response_format": schema_format(one(type="string", pattern="^(a{0,600}b{0,600})?$"))})
    assert error["param"] == f"{RF}.properties.x.pattern"
    assert "1201" in error["message"] and f"at most {MAX_REPETITION}" in error["message"]
    assert_still_answers(own)


def test_an_escape_llama_cpp_cannot_parse_is_refused_naming_the_pattern(own):
    error = refused(own, {"response_format": schema_format(one(type="string", pattern=r"^\d{3}$"))})
    assert error["param"] == f"{RF}.properties.x.pattern" and "\\d" in error["message"]
    assert_still_answers(own)


def test_a_recursive_ref_is_refused(own):
    # Left recursion: llama.cpp refuses the grammar. Ambiguous recursion builds, but then
    # doubles the grammar's work with every `[` the model writes.
    schema = {"type": "object", "properties": {"x": {"$ref": "#/$defs/a"}}, "required": ["x"],
              "$defs": {"a": {"anyOf": [{"$ref": "#/$defs/a"}, {"type": "string"}]}}}
    error = refused(own, {"response_format": schema_format(schema)})
    assert error["param"] == f"{RF}.$defs.a.anyOf[0].$ref" and "recursive" in error["message"]
    assert_still_answers(own)


@pytest.mark.parametrize("schema, param, words", [
    (one(enum=[f"v{i}" for i in range(MAX_ALTERNATIVES + 1)]), f"{RF}.properties.x.enum",
     f"at most {MAX_ALTERNATIVES}"),
    (one(anyOf=[{"const": i} for i in range(MAX_ALTERNATIVES + 1)]), f"{RF}.properties.x.anyOf",
     f"at most {MAX_ALTERNATIVES}"),
    ({"type": "object", "properties": {f"p{i}": {"type": "integer"} for i in range(MAX_SCHEMA_NODES)},
      "required": [f"p{i}" for i in range(MAX_SCHEMA_NODES)]}, RF, f"more than {MAX_SCHEMA_NODES}"),
    (one(type="string", minLength=MAX_REPETITION + 1), f"{RF}.properties.x.minLength", f"at most {MAX_REPETITION}"),
    (one(type="array", items={"type": "integer"}, minItems=10**9), f"{RF}.properties.x.minItems",
     f"at most {MAX_REPETITION}"),
    ({"type": "object", "properties": {f"p{i}": {"type": "string", "maxLength": MAX_REPETITION} for i in range(60)},
      "required": [f"p{i}" for i in range(60)]}, RF, f"at most {MAX_GRAMMAR_BYTES}"),
])
def test_schemas_past_the_other_limits_are_refused(own, schema, param, words):
    error = refused(own, {"response_format": schema_format(schema)})
    assert error["param"] == param and words in error["message"], error


def test_a_schema_nested_past_the_depth_limit_is_refused(own):
    schema: dict = {"type": "integer"}
    for _ in range(MAX_SCHEMA_DEPTH + 1):
        schema = {"type": "array", "items": schema}
    error = refused(own, {"response_format": schema_format(schema)})
    assert error["param"].startswith(RF + ".items.items") and f"at most {MAX_SCHEMA_DEPTH}" in error["message"]


# --- just under the limits it works -----------------------------------------------------------

UNDER = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": MAX_REPETITION},
        "color": {"type": "string", "pattern": f"^[a-z]{{1,{MAX_REPETITION}}}$"},
        "tags": {"type": "array", "maxItems": MAX_REPETITION, "items": {"type": "string", "maxLength": 12}},
    },
    "required": ["name", "color", "tags"],
    "additionalProperties": False,
}


def test_a_schema_at_the_limits_still_gives_a_reply_that_parses(own):
    ask = [{"role": "user", "content": "Describe a cat as JSON with a name, a color and one tag."}]
    reply = oai(own).chat.completions.create(model="m", messages=ask, max_tokens=200, temperature=0,
                                             response_format=schema_format(UNDER))
    choice = reply.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    jsonschema.validate(json.loads(choice.message.content), UNDER)
