"""playground.params: every rule checked before a request is sent."""

from __future__ import annotations

import pytest

from playground.client import ChatParams
from playground.params import Problem, Validation, parse_json_field, validate

SCHEMA = {"name": "person", "schema": {"type": "object", "properties": {"name": {"type": "string"}}}}


def check(params: ChatParams, model_id: str | None = None, streaming: bool = True) -> Validation:
    return validate(params, model_id=model_id, streaming=streaming)


def errors(params: ChatParams, **kwargs) -> dict[str, str]:
    return {problem.field: problem.message for problem in check(params, **kwargs).errors}


def test_defaults_and_a_full_valid_request_pass():
    assert check(ChatParams()) == Validation(errors=[], warnings=[], stream=True)
    full = ChatParams(temperature=0.0, top_p=1.0, max_tokens=1, presence_penalty=-2.0, frequency_penalty=2.0,
                      stop=("a", "b", "c", "d"), seed=-5, response_format=SCHEMA,
                      extras={"n": 1, "logprobs": 20, "ignore_eos": False, "stop_token_ids": [1, 2],
                              "skip_special_tokens": True, "top_k": 40})
    result = check(full, model_id="gpt-4o", streaming=False)
    assert result.ok and result.warnings == [] and result.stream is False


@pytest.mark.parametrize("name, value, words", [
    ("temperature", -0.1, "temperature must be between 0 and 2, got -0.1"),
    ("temperature", 2.5, "temperature must be between 0 and 2, got 2.5"),
    ("temperature", "hot", "temperature must be a number between 0 and 2"),
    ("temperature", float("nan"), "temperature must be a number"),
    ("top_p", 1.01, "top_p must be between 0 and 1"),
    ("top_p", -1, "top_p must be between 0 and 1"),
    ("presence_penalty", -2.5, "presence_penalty must be between -2 and 2"),
    ("frequency_penalty", 3, "frequency_penalty must be between -2 and 2"),
    ("frequency_penalty", True, "frequency_penalty must be a number"),
])
def test_numbers_out_of_range_are_errors_naming_the_field_and_range(name, value, words):
    assert words in errors(ChatParams(**{name: value}))[name]


@pytest.mark.parametrize("value", [0, -3, 2.5, "10"])
def test_max_tokens_must_be_an_integer_of_at_least_one(value):
    assert "max_tokens must be an integer of at least 1" in errors(ChatParams(max_tokens=value))["max_tokens"]


def test_stop_takes_at_most_four_non_empty_strings():
    assert "at most 4 sequences, got 5" in errors(ChatParams(stop=tuple("abcde")))["stop"]
    assert "non-empty strings" in errors(ChatParams(stop=("a", "")))["stop"]
    assert "stop" not in errors(ChatParams(stop=("a", "b", "c", "d")))


@pytest.mark.parametrize("value", [1.5, "7", True])
def test_seed_must_be_an_integer(value):
    assert "seed must be an integer" in errors(ChatParams(seed=value))["seed"]
    assert check(ChatParams(seed=2**40)).ok


def test_json_schema_needs_a_name_and_an_object_schema():
    assert "needs a name" in errors(ChatParams(response_format={"schema": {"type": "object"}}))["response_format.name"]
    assert "needs a name" in errors(ChatParams(response_format={"name": " ", "schema": {}}))["response_format.name"]
    bad_name = errors(ChatParams(response_format={"name": "my schema!", "schema": {}}))
    assert "letters, digits" in bad_name["response_format.name"]
    no_schema = errors(ChatParams(response_format={"name": "x"}))
    assert "needs a schema that is a JSON object" in no_schema["response_format.schema"]
    list_schema = errors(ChatParams(response_format={"name": "x", "schema": [1]}))
    assert "JSON object" in list_schema["response_format.schema"]
    array_root = errors(ChatParams(response_format={"name": "x", "schema": {"type": "array"}}))
    assert "root 'type' must be \"object\"" in array_root["response_format.schema"]
    strict = errors(ChatParams(response_format={**SCHEMA, "strict": "yes"}))
    assert "strict must be true or false" in strict["response_format.strict"]
    assert "must be text, json_object or a JSON schema" in errors(ChatParams(response_format="yaml"))["response_format"]
    assert check(ChatParams(response_format="text")).ok and check(ChatParams(response_format=SCHEMA)).ok


def test_json_mode_with_a_llama_model_is_a_warning():
    result = check(ChatParams(response_format="json_object"), model_id="Meta-Llama-3.1-8B-Instruct")
    assert result.ok
    assert result.warnings == [Problem("response_format", result.warnings[0].message)]
    assert "Llama models do not support JSON mode" in result.warnings[0].message
    assert check(ChatParams(response_format="json_object"), model_id="meta/LLAMA-3.3-70b").warnings
    assert check(ChatParams(response_format="json_object"), model_id="gpt-4o").warnings == []
    assert check(ChatParams(response_format="json_object"), model_id=None).warnings == []
    assert check(ChatParams(), model_id="meta-llama-3").warnings == []


def test_raw_extras_must_be_an_object_without_standard_fields():
    assert "Raw extras must be a JSON object" in errors(ChatParams(extras=[1, 2]))["extras"]  # type: ignore[arg-type]
    collision = errors(ChatParams(extras={"temperature": 0.5}))
    assert "'temperature' is a standard field" in collision["extras"]
    assert check(ChatParams(extras={"top_k": 5, "mirostat": 2})).ok  # unknown extras are the service's call


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True])
def test_n_is_an_integer_of_at_least_one(value):
    assert "n must be an integer of at least 1" in errors(ChatParams(extras={"n": value}))["n"]


def test_best_of_is_an_integer_greater_than_n():
    assert "best_of must be greater than n (1), got 1" in errors(ChatParams(extras={"best_of": 1}))["best_of"]
    assert "greater than n (3), got 3" in errors(ChatParams(extras={"n": 3, "best_of": 3}))["best_of"]
    assert "best_of must be an integer" in errors(ChatParams(extras={"best_of": 2.5}))["best_of"]
    assert check(ChatParams(extras={"n": 2, "best_of": 3})).ok


def test_best_of_cannot_stream_so_the_request_goes_non_streaming():
    result = check(ChatParams(extras={"best_of": 2}), streaming=True)
    assert result.ok and result.stream is False
    assert result.warnings[0].field == "best_of" and "cannot stream" in result.warnings[0].message
    quiet = check(ChatParams(extras={"best_of": 2}), streaming=False)
    assert quiet.stream is False and quiet.warnings == []


def test_several_choices_go_non_streaming_too():
    result = check(ChatParams(extras={"n": 3}), streaming=True)
    assert result.stream is False and result.warnings[0].field == "n"
    assert check(ChatParams(extras={"n": 1}), streaming=True).stream is True


@pytest.mark.parametrize("value", [-1, 21, 2.0, "5"])
def test_logprobs_is_an_integer_from_0_to_20(value):
    assert "logprobs must be an integer from 0 to 20" in errors(ChatParams(extras={"logprobs": value}))["logprobs"]


def test_logprobs_true_takes_top_logprobs_from_0_to_20():
    assert check(ChatParams(extras={"logprobs": 0})).ok and check(ChatParams(extras={"logprobs": 20})).ok
    assert check(ChatParams(extras={"logprobs": True, "top_logprobs": 5})).ok
    assert "from 0 to 20" in errors(ChatParams(extras={"logprobs": True, "top_logprobs": 21}))["top_logprobs"]
    assert "needs logprobs set to true" in errors(ChatParams(extras={"top_logprobs": 2}))["top_logprobs"]


@pytest.mark.parametrize("name", ["ignore_eos", "use_beam_search", "skip_special_tokens"])
def test_flags_must_be_booleans(name):
    assert f"{name} must be true or false" in errors(ChatParams(extras={name: "true"}))[name]
    assert name not in errors(ChatParams(extras={name: False}))


def test_beam_search_needs_temperature_0_and_best_of_above_1():
    messages = [p.message for p in check(ChatParams(extras={"use_beam_search": True})).errors]
    assert any("needs temperature 0, got the default" in m for m in messages)
    assert any("needs best_of greater than 1" in m for m in messages)
    hot = errors(ChatParams(temperature=0.7, extras={"use_beam_search": True, "best_of": 2}))
    assert "needs temperature 0, got 0.7" in hot["use_beam_search"]
    assert check(ChatParams(temperature=0.0, extras={"use_beam_search": True, "best_of": 2})).ok


@pytest.mark.parametrize("value", [5, [1, "2"], [1.0], [True], "1,2"])
def test_stop_token_ids_is_a_list_of_integers(value):
    problems = errors(ChatParams(extras={"stop_token_ids": value}))
    assert "stop_token_ids must be a list of integers" in problems["stop_token_ids"]


def test_every_problem_is_a_field_and_message_pair():
    result = check(ChatParams(temperature=9, extras={"n": 0}))
    assert len(result.errors) == 2 and not result.ok
    for field, message in result.errors:
        assert field in message


def test_parse_json_field_returns_the_value_or_a_located_problem():
    assert parse_json_field('{"top_k": 5}', "Raw extras") == ({"top_k": 5}, None)
    assert parse_json_field("  ", "Raw extras") == (None, None)
    value, problem = parse_json_field('{\n    "a": 1 "b": 2}', "Raw extras")
    assert value is None
    assert problem == Problem("Raw extras", "Raw extras: not valid JSON (line 2, column 12: Expecting ',' delimiter)")
    _, problem = parse_json_field('{"type": "object",}', "Schema")
    assert problem.message.startswith("Schema: not valid JSON (line 1, column 19:")


@pytest.mark.parametrize("extras, field, words", [
    ({"n": 9}, "n", "n must be at most 8 (each choice is generated and saved), got 9."),
    ({"n": 10**6}, "n", "n must be at most 8"),
    ({"best_of": 17}, "best_of", "best_of must be at most 16 (each candidate is generated), got 17."),
    ({"stop_token_ids": list(range(65))}, "stop_token_ids", "stop_token_ids takes at most 64 token ids, got 65."),
    ({"stop_token_ids": [1, -1]}, "stop_token_ids", "must be token ids from 0 to 2147483647, got -1."),
    ({"stop_token_ids": [2**40]}, "stop_token_ids", "must be token ids from 0 to 2147483647"),
    ({"top_k": "x" * 17_000}, "extras", "Raw extras are 17,013 bytes as JSON; the limit is 16 KB."),
])
def test_extras_typed_as_raw_json_have_upper_bounds(extras, field, words):
    """Raw extras reach past the inputs' ranges: n = 1,000,000 would be one request for a million
    choices, each generated and then saved in the user's storage."""
    assert words in errors(ChatParams(extras=extras))[field]


def test_the_largest_allowed_extras_pass():
    assert check(ChatParams(extras={"n": 8, "best_of": 16, "stop_token_ids": list(range(64)),
                                    "top_k": "x" * 16_000}), streaming=False).ok


def test_seed_is_a_64_bit_integer_and_max_tokens_has_the_slider_s_ceiling():
    assert "seed must be a 64-bit integer" in errors(ChatParams(seed=2**63))["seed"]
    assert "seed must be a 64-bit integer" in errors(ChatParams(seed=-(2**63) - 1))["seed"]
    assert check(ChatParams(seed=2**63 - 1)).ok and check(ChatParams(seed=-(2**63))).ok
    assert "max_tokens must be at most 1,000,000, got 1,000,001." in errors(
        ChatParams(max_tokens=1_000_001))["max_tokens"]
    assert check(ChatParams(max_tokens=1_000_000)).ok
