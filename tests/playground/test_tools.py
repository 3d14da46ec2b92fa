"""playground.tools: the Tools panel's drafts as the request's tools, with messages naming the
field at fault; arguments checked against the schema; tools in presets and setups."""

from __future__ import annotations

import json

from playground import state as keys
from playground import tools
from playground.params import validate
from playground.types import ChatParams

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def state(*drafts: dict) -> dict:
    s = tools.defaults()
    for draft in drafts:
        tools.add_draft(s, **draft)
    return s


def weather(**overrides) -> dict:
    return {"name": "get_weather", "description": "Weather in a city", "parameters": json.dumps(WEATHER), **overrides}


def test_a_valid_function_becomes_the_wire_tool_and_the_choice_is_sent():
    s = state(weather())
    request = tools.request_of(s[keys.TOOLS], "function:get_weather", parallel=True)
    assert request.problems == []
    assert request.tools == ({"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city", "parameters": WEATHER}},)
    assert request.tool_choice == {"type": "function", "function": {"name": "get_weather"}}
    assert request.extras == {}
    body = ChatParams(tools=request.tools, tool_choice=request.tool_choice).body()
    assert body["tools"] == list(request.tools) and body["tool_choice"] == request.tool_choice


def test_parallel_calls_off_is_sent_as_the_documented_extra_only_then():
    s = state(weather())
    assert tools.request_of(s[keys.TOOLS], "auto", parallel=False).extras == {"parallel_tool_calls": False}


def test_no_function_sends_no_tools_and_no_choice():
    request = tools.request_of([], "required", parallel=False)
    assert (request.tools, request.tool_choice, request.extras, request.problems) == ((), None, {}, [])


def test_a_bad_name_is_named_with_the_rule():
    request = tools.request_of(state(weather(name="get weather!"))[keys.TOOLS], "auto", True)
    assert [p.field for p in request.problems] == ["tools[0].name"]
    assert "Function 'get weather!': the name may hold only letters, digits, '_' and '-'" in request.problems[0].message


def test_an_empty_name_is_named_by_place():
    request = tools.request_of(state(weather(name=""))[keys.TOOLS], "auto", True)
    assert request.problems[0].message == "Function 1: the name is empty."


def test_parameters_that_are_not_json_say_where():
    request = tools.request_of(state(weather(parameters='{"type": "object",'))[keys.TOOLS], "auto", True)
    assert request.problems[0].field == "tools[0].parameters"
    assert request.problems[0].message.startswith("Function 'get_weather': parameters: not valid JSON (line 1")


def test_parameters_must_be_an_object_schema_and_a_valid_one():
    not_object = tools.request_of(state(weather(parameters='{"type": "string"}'))[keys.TOOLS], "auto", True)
    assert "must describe an object" in not_object.problems[0].message
    invalid = tools.request_of(state(weather(parameters='{"type": "object", "properties": {"a": {"type": 5}}}'))
                               [keys.TOOLS], "auto", True)
    message = invalid.problems[0].message
    assert message.startswith("Function 'get_weather': parameters is not a valid JSON schema") and "5" in message
    assert tools.request_of(state(weather(parameters="[1]"))[keys.TOOLS], "auto", True).problems


def test_two_functions_with_one_name_are_refused():
    request = tools.request_of(state(weather(), weather())[keys.TOOLS], "auto", True)
    assert [p.field for p in request.problems] == ["tools[1].name"]


def test_a_choice_naming_a_removed_function_blocks_rather_than_changing():
    s = state(weather())
    request = tools.request_of(s[keys.TOOLS], "function:old_name", True)
    assert request.problems[0].field == "tool_choice" and "'old_name'" in request.problems[0].message
    assert "function:old_name" in tools.choice_options(s[keys.TOOLS], "function:old_name")


def test_validate_checks_tools_in_the_wire_form_too():
    bad = ChatParams(tools=({"type": "function", "function": {"name": "x y"}},), tool_choice="sometimes")
    fields = [p.field for p in validate(bad, model_id=None, streaming=True).errors]
    assert fields == ["Function 'x y'.name", "tool_choice"]
    good = ChatParams(tools=({"type": "function", "function": {"name": "f", "parameters": WEATHER}},),
                      tool_choice={"type": "function", "function": {"name": "f"}},
                      extras={"parallel_tool_calls": False})
    assert validate(good, model_id=None, streaming=True).ok


def call(arguments: str, name: str = "get_weather") -> dict:
    return {"id": "c1", "type": "function", "function": {"name": name, "arguments": arguments}}


TOOLS = ({"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},)


def test_arguments_are_checked_against_the_functions_schema():
    assert tools.check_arguments(call('{"city": "Oslo"}'), TOOLS) == (True, "arguments match the schema")
    ok, message = tools.check_arguments(call('{"city": 3}'), TOOLS)
    assert not ok and message == "arguments do not match the schema at city: 3 is not of type 'string'"
    ok, message = tools.check_arguments(call("{}"), TOOLS)
    assert not ok and "'city' is a required property" in message
    ok, message = tools.check_arguments(call('{"city": '), TOOLS)
    assert not ok and message.startswith("the arguments are not valid JSON")
    ok, message = tools.check_arguments(call("{}", name="launch"), TOOLS)
    assert not ok and "'launch' is not one of the functions" in message


def test_canned_results_are_kept_per_function_newest_first():
    s = state()
    tools.save_canned(s, "get_weather", '{"t": 1}')
    tools.save_canned(s, "get_weather", '{"t": 2}')
    tools.save_canned(s, "get_weather", '{"t": 1}')
    tools.save_canned(s, "get_weather", "  ")
    assert tools.canned_for(s, "get_weather") == ['{"t": 1}', '{"t": 2}'] and tools.canned_for(s, "other") == []


def test_a_setup_round_trips_tools_choice_parallel_and_canned_results():
    s = state(weather(), weather(name="broken", parameters="{not json"))
    s[keys.TOOL_CHOICE], s[keys.PARALLEL_TOOLS] = "function:get_weather", False
    tools.save_canned(s, "get_weather", "sunny")
    setup = tools.setup_of(s)
    assert setup["tools"][0] == {"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city", "parameters": WEATHER}}
    assert setup["tools"][1]["function"]["parameters"] == "{not json"  # kept as typed
    assert setup["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    other = state()
    tools.apply_setup(other, json.loads(json.dumps(setup)))
    assert [(d["name"], json.loads(d["parameters"]) if d["name"] == "get_weather" else d["parameters"])
            for d in other[keys.TOOLS]] == [("get_weather", WEATHER), ("broken", "{not json")]
    assert other[keys.TOOL_CHOICE] == "function:get_weather" and other[keys.PARALLEL_TOOLS] is False
    assert other[keys.CANNED] == {"get_weather": ["sunny"]}


def test_an_untrusted_setup_gives_only_well_formed_values():
    s = state(weather())
    tools.apply_setup(s, {"tools": ["x", {"function": 3}, {"function": {"name": 5, "parameters": [1]}}],
                          "tool_choice": {"function": "nope"}, "parallel_tool_calls": "no",
                          "canned_results": {"f": ["ok", 3], "g": "text"}})
    assert [(d["name"], d["parameters"]) for d in s[keys.TOOLS]] == [("5", "")]
    assert s[keys.TOOL_CHOICE] == "auto" and s[keys.PARALLEL_TOOLS] is True
    assert s[keys.CANNED] == {"f": ["ok"]}
    before = list(s[keys.TOOLS])
    tools.apply_setup(s, {"system_prompt": "an older setup, without tools"})
    assert s[keys.TOOLS] == before
