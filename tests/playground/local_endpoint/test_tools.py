"""Tool calls and content parts: both real SDKs (azure-ai-inference and openai) over real
HTTP against the running endpoint; arguments checked with jsonschema against the tool's schema."""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest
from azure.ai.inference.models import (
    AssistantMessage,
    ChatCompletionsNamedToolChoice,
    ChatCompletionsNamedToolChoiceFunction,
    ChatCompletionsToolChoicePreset,
    ChatCompletionsToolDefinition,
    FunctionDefinition,
    ImageContentItem,
    ImageUrl,
    TextContentItem,
    ToolMessage,
    UserMessage,
)
from azure.core.exceptions import HttpResponseError

from tests.playground.local_endpoint.test_openai_api import MODEL, oai
from tests.playground.local_endpoint.test_server import _post, sdk

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The city's name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TIME = {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}
ASK = "What is the weather in Paris tomorrow?"
OPENAI_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather forecast for a city",
                                      "parameters": WEATHER}},
    {"type": "function", "function": {"name": "get_time", "description": "The time in a timezone",
                                      "parameters": TIME}},
]
SCHEMAS = {"get_weather": WEATHER, "get_time": TIME}
AZURE_TOOLS = [ChatCompletionsToolDefinition(function=FunctionDefinition(
    name=t["function"]["name"], description=t["function"]["description"], parameters=t["function"]["parameters"]))
    for t in OPENAI_TOOLS]
FORCE_WEATHER = {"type": "function", "function": {"name": "get_weather"}}


def check_call(name: str, arguments: str, expected: str | None = "get_weather") -> None:
    assert name in SCHEMAS and (expected is None or name == expected)
    jsonschema.validate(json.loads(arguments), SCHEMAS[name])


# --- forced calls, not streamed -------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_azure_sdk_forced_call_has_schema_valid_arguments(endpoint, seed):
    result = sdk(endpoint.url).complete(
        messages=[UserMessage(ASK)], tools=AZURE_TOOLS, seed=seed, max_tokens=100,
        tool_choice=ChatCompletionsNamedToolChoice(function=ChatCompletionsNamedToolChoiceFunction(name="get_weather")))
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.id.startswith("call_") and call.type == "function"
    check_call(call.function.name, call.function.arguments)


@pytest.mark.parametrize("seed", [1, 2])
def test_openai_sdk_forced_call_has_schema_valid_arguments(endpoint, seed):
    result = oai(endpoint.url + "/v1").chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": ASK}], tools=OPENAI_TOOLS, tool_choice=FORCE_WEATHER,
        seed=seed, max_tokens=100, parallel_tool_calls=False)
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    check_call(call.function.name, call.function.arguments)


def test_required_calls_one_of_the_tools(endpoint):
    for seed in (1, 2):
        result = oai(endpoint.url + "/v1").chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": ASK}], tools=OPENAI_TOOLS, tool_choice="required",
            seed=seed, max_tokens=100)
        [call] = result.choices[0].message.tool_calls
        check_call(call.function.name, call.function.arguments, expected=None)


def test_auto_gives_a_well_formed_call_or_text(endpoint):
    for seed in (1, 2):
        for tool_choice in ("auto", None):  # auto is the default when tools are given
            status, result = _post(endpoint.url, {"messages": [{"role": "user", "content": ASK}], "tools": OPENAI_TOOLS,
                                                  "seed": seed, "max_tokens": 40,
                                                  **({"tool_choice": tool_choice} if tool_choice else {})})
            assert status == 200
            choice = result["choices"][0]
            if choice["message"].get("tool_calls"):
                assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
                call = choice["message"]["tool_calls"][0]["function"]
                check_call(call["name"], call["arguments"], expected=None)
            else:
                assert choice["message"]["content"] and not choice["message"]["content"].startswith("{")


def test_none_answers_in_text(endpoint):
    result = oai(endpoint.url + "/v1").chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": ASK}], tools=OPENAI_TOOLS, tool_choice="none", max_tokens=10)
    assert result.choices[0].message.tool_calls is None and result.choices[0].message.content


# --- streamed calls ---------------------------------------------------------------------

def test_azure_sdk_streamed_call_reassembles_as_its_sample_does(endpoint):
    response = sdk(endpoint.url).complete(
        messages=[UserMessage(ASK)], tools=AZURE_TOOLS, stream=True, max_tokens=100, seed=4,
        tool_choice=ChatCompletionsNamedToolChoice(function=ChatCompletionsNamedToolChoiceFunction(name="get_weather")))
    # As Microsoft's sample_chat_completions_streaming_with_tools.py does it.
    function_name, function_args, tool_call_id, finish = "", "", "", None
    for update in response:
        if update.choices[0].delta.tool_calls:
            call = update.choices[0].delta.tool_calls[0]
            if call.function.name:
                function_name = call.function.name
            if call.id:
                tool_call_id = call.id
            function_args += call.function.arguments or ""
        finish = update.choices[0].finish_reason or finish
    response.close()
    assert tool_call_id.startswith("call_") and finish == "tool_calls"
    check_call(function_name, function_args)


def test_openai_sdk_streamed_call_reassembles_from_deltas(endpoint):
    client = oai(endpoint.url + "/openai/v1")
    params = {"model": MODEL, "messages": [{"role": "user", "content": ASK}], "tools": OPENAI_TOOLS,
              "tool_choice": FORCE_WEATHER, "max_tokens": 100, "seed": 5}
    calls: dict[int, dict] = {}
    deltas = []
    for chunk in client.chat.completions.create(stream=True, **params):
        for delta in chunk.choices[0].delta.tool_calls or []:
            deltas.append(delta)
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] = delta.id or entry["id"]
            entry["name"] += (delta.function.name or "") if delta.function else ""
            entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
    assert deltas[0].id and deltas[0].type == "function" and deltas[0].function.name == "get_weather"
    assert all(d.id is None and d.function.name is None for d in deltas[1:])
    [call] = calls.values()
    check_call(call["name"], call["arguments"])
    # The same request, not streamed, gives the same call (the seed repeats it).
    whole = client.chat.completions.create(**params).choices[0].message.tool_calls[0]
    assert (whole.function.name, whole.function.arguments) == (call["name"], call["arguments"])
    # The SDK's own stream helper accumulates the deltas into a finished completion.
    with client.chat.completions.stream(**params) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.choices[0].message.tool_calls[0].function.arguments == call["arguments"]


# --- the conversation goes on after a call ----------------------------------------------

def test_azure_sdk_follow_up_with_the_tool_result_gets_text(endpoint):
    client = sdk(endpoint.url)
    first = client.complete(messages=[UserMessage(ASK)], tools=AZURE_TOOLS, max_tokens=100, tool_choice=
                            ChatCompletionsNamedToolChoice(function=ChatCompletionsNamedToolChoiceFunction(name="get_weather")))
    call = first.choices[0].message.tool_calls[0]
    history = [UserMessage(ASK), AssistantMessage(tool_calls=first.choices[0].message.tool_calls),
               ToolMessage(content='{"forecast": "sunny", "high": 24}', tool_call_id=call.id)]
    reply = client.complete(messages=history, tools=AZURE_TOOLS, tool_choice=ChatCompletionsToolChoicePreset.NONE,
                            max_tokens=30)
    assert reply.choices[0].message.content.strip() and not reply.choices[0].message.tool_calls
    # The earlier call and its result are part of the prompt the model read.
    alone = client.complete(messages=[UserMessage(ASK)], tools=AZURE_TOOLS,
                            tool_choice=ChatCompletionsToolChoicePreset.NONE, max_tokens=1)
    assert reply.usage.prompt_tokens > alone.usage.prompt_tokens + 15


def test_openai_sdk_follow_up_with_the_tool_result_gets_text(endpoint):
    client = oai(endpoint.url + "/v1")
    messages = [{"role": "user", "content": ASK}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=OPENAI_TOOLS,
                                           tool_choice=FORCE_WEATHER, max_tokens=100).choices[0].message
    call = first.tool_calls[0]
    messages += [{"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                 {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 24 degrees."}]
    streamed = client.chat.completions.create(model=MODEL, messages=messages, tools=OPENAI_TOOLS, max_tokens=30,
                                              stream=True, tool_choice="none")
    assert "".join(c.choices[0].delta.content or "" for c in streamed).strip()


# --- validation -------------------------------------------------------------------------

@pytest.mark.parametrize("body, param, words", [
    ({"tools": {"type": "function"}}, "tools", "non-empty array"),
    ({"tools": []}, "tools", "non-empty array"),
    ({"tools": [{"type": "retrieval"}]}, "tools[0]", '"type": "function"'),
    ({"tools": [{"type": "function", "function": {"name": "has space"}}]}, "tools[0].function.name", "1 to 64"),
    ({"tools": [{"type": "function", "function": {"name": "x" * 65}}]}, "tools[0].function.name", "1 to 64"),
    ({"tools": [OPENAI_TOOLS[0], OPENAI_TOOLS[0]]}, "tools[1].function.name", "two tools"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "nonsense"}}}]},
     "tools[0].function.parameters", "not a valid JSON schema"),
    ({"tools": OPENAI_TOOLS, "tool_choice": {"type": "function", "function": {"name": "get_stock"}}},
     "tool_choice", "'get_stock', which is not in 'tools'"),
    ({"tools": OPENAI_TOOLS, "tool_choice": "always"}, "tool_choice", "'auto', 'none', 'required'"),
    ({"tool_choice": "required"}, "tool_choice", "needs 'tools'"),
    ({"tools": OPENAI_TOOLS, "parallel_tool_calls": "yes"}, "parallel_tool_calls", "true or false"),
    ({"tools": OPENAI_TOOLS, "response_format": {"type": "json_object"}}, "response_format", "tools"),
    ({"messages": [{"role": "tool", "content": "24"}]}, "messages[0].tool_call_id", "name the call"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]}]},
     "messages[0].tool_calls[0]", "arguments"),
])
def test_bad_tools_get_400_naming_the_field(endpoint, body, param, words):
    status, result = _post(endpoint.url, {"messages": [{"role": "user", "content": ASK}], "max_tokens": 5, **body})
    assert status == 400, result
    assert result["error"]["param"] == param and words in result["error"]["message"], result


def test_openai_sdk_sees_an_unknown_tool_choice_as_a_bad_request(endpoint):
    with pytest.raises(openai.BadRequestError) as caught:
        oai(endpoint.url + "/v1").chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": ASK}], tools=OPENAI_TOOLS,
            tool_choice={"type": "function", "function": {"name": "get_stock"}})
    assert caught.value.param == "tool_choice"


# --- content parts: text only -----------------------------------------------------------

PIXEL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="  # noqa: E501


def test_azure_sdk_image_content_is_refused_and_text_parts_are_joined(endpoint):
    client = sdk(endpoint.url)
    with pytest.raises(HttpResponseError) as caught:
        client.complete(messages=[UserMessage(content=[TextContentItem(text="What is in this picture?"),
                                                        ImageContentItem(image_url=ImageUrl(url=PIXEL))])])
    assert caught.value.status_code == 400 and caught.value.error.code == "unsupported_content"
    assert "text only" in caught.value.error.message and "messages[0].content[1]" in caught.value.error.message
    joined = client.complete(messages=[UserMessage(content=[TextContentItem(text="Write one sentence "),
                                                            TextContentItem(text="about the sea.")])], max_tokens=3)
    plain = client.complete(messages=[UserMessage("Write one sentence about the sea.")], max_tokens=3)
    assert joined.usage.prompt_tokens == plain.usage.prompt_tokens


def test_openai_sdk_image_content_is_refused(endpoint):
    with pytest.raises(openai.BadRequestError) as caught:
        oai(endpoint.url + "/v1").chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
            {"type": "text", "text": "Describe it."}, {"type": "image_url", "image_url": {"url": PIXEL}}]}])
    assert caught.value.code == "unsupported_content" and caught.value.param == "messages[0].content[1]"
    ok = oai(endpoint.url + "/v1").chat.completions.create(
        model=MODEL, max_tokens=3, messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
    assert ok.choices[0].message.content is not None
