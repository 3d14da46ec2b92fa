"""Checks a ChatParams before it is sent, so the UI can say what to fix without a round trip.

`validate` returns errors (sending is blocked), warnings (sending goes ahead) and the streaming
mode the request will really use. Every message names the field and the rule it breaks. The
rules are the Azure AI Model Inference API's ranges plus the extra parameters that Llama
endpoints accept through `model_extras` (n, best_of, logprobs, ignore_eos, use_beam_search,
stop_token_ids, skip_special_tokens).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeGuard

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .types import ChatParams


@dataclass(frozen=True)
class Parameter:
    """A sampling parameter, declared once: the sliders, the defaults, the clamping of stored
    values and the validation all read this table."""

    name: str  # the wire name, and the suffix of its session-state keys
    label: str
    low: float
    high: float
    step: float
    default: float
    help: str

    def clamp(self, value: float) -> float:
        kind = type(self.default)
        return kind(min(max(value, self.low), self.high))


PARAMETERS = (
    Parameter("temperature", "Temperature", 0.0, 2.0, 0.05, 0.7,
              "Higher is more random; 0 picks the likeliest token every time."),
    Parameter("top_p", "Top P", 0.0, 1.0, 0.01, 0.95,
              "Sample only from the most likely tokens whose probabilities add up to this."),
    Parameter("max_tokens", "Max tokens", 1, 1_000_000, 1, 512, "The longest reply the model may write."),
    Parameter("presence_penalty", "Presence penalty", -2.0, 2.0, 0.1, 0.0,
              "Positive values push the model toward new topics."),
    Parameter("frequency_penalty", "Frequency penalty", -2.0, 2.0, 0.1, 0.0,
              "Positive values make the model repeat itself less."),
)
BY_NAME = {parameter.name: parameter for parameter in PARAMETERS}
# Reasoning models reject these; they are not sent to them.
SAMPLING_ONLY = ("temperature", "top_p", "max_tokens")
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."


def clamped(values: Any) -> dict[str, float]:
    """The known numeric parameters of untrusted `values` (a preset, an imported file), clamped
    to their ranges; anything else is ignored."""
    out: dict[str, float] = {}
    if not isinstance(values, dict):
        return out
    for parameter in PARAMETERS:
        value = values.get(parameter.name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[parameter.name] = parameter.clamp(value)
    return out


MAX_STOP_SEQUENCES = 4
MAX_TOP_LOGPROBS = 20
# Upper bounds on the extras a user may type (raw extras included): each choice of `n` and each
# candidate of `best_of` is generated (and the choices stored), so an unbounded number multiplies
# the cost of one request, and the reply's size in the user's storage, without limit.
MAX_N = 8  # the "More parameters" input's range; OpenAI accepts up to 128, vLLM has no cap
MAX_BEST_OF = 16
MAX_STOP_TOKEN_IDS = 64
MAX_TOKEN_ID = 2**31 - 1  # vocabularies are far smaller; anything larger is a typo
SEED_RANGE = (-(2**63), 2**63 - 1)  # a signed 64-bit integer, what the services accept
MAX_EXTRAS_BYTES = 16 * 1024  # the extras as JSON: a few settings, not a document
# Body keys the SDK builds itself: an extra with one of these names would collide with them.
STANDARD_FIELDS = frozenset({
    "messages", "model", "stream", "temperature", "top_p", "max_tokens", "presence_penalty",
    "frequency_penalty", "stop", "seed", "response_format", "tools", "tool_choice",
})
SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # OpenAI's and Model Inference's rule for tool names
TOOL_CHOICES = ("auto", "none", "required")


class Problem(NamedTuple):
    """One broken rule: `field` is the parameter's name, `message` a sentence naming it."""

    field: str
    message: str


@dataclass
class Validation:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    # The streaming mode the request will use: off when a parameter cannot stream.
    stream: bool = True

    @property
    def ok(self) -> bool:
        return not self.errors


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _json_size(value: Any) -> int:
    try:
        return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        return 0  # not JSON: another rule says so


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _range(errors: list[Problem], name: str, value: Any, low: float, high: float) -> None:
    if value is None:
        return
    if not _is_number(value):
        errors.append(Problem(name, f"{name} must be a number between {low:g} and {high:g}, got {_shown(value)}."))
    elif not low <= value <= high:
        errors.append(Problem(name, f"{name} must be between {low:g} and {high:g}, got {value:g}."))


def _check_standard(params: ChatParams, errors: list[Problem]) -> None:
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        _range(errors, name, getattr(params, name), BY_NAME[name].low, BY_NAME[name].high)
    if params.max_tokens is not None and not (_is_int(params.max_tokens) and params.max_tokens >= 1):
        errors.append(Problem("max_tokens",
                              f"max_tokens must be an integer of at least 1, got {_shown(params.max_tokens)}."))
    elif params.max_tokens is not None and params.max_tokens > BY_NAME["max_tokens"].high:
        errors.append(Problem("max_tokens", f"max_tokens must be at most {BY_NAME['max_tokens'].high:,}, "
                              f"got {params.max_tokens:,}."))
    stop = params.stop
    if isinstance(stop, str):
        stop = (stop,)
    if len(stop) > MAX_STOP_SEQUENCES:
        errors.append(Problem("stop", f"stop takes at most {MAX_STOP_SEQUENCES} sequences, got {len(stop)}."))
    if not all(isinstance(s, str) and s for s in stop):
        errors.append(Problem("stop", "stop sequences must be non-empty strings."))
    if params.seed is not None and not _is_int(params.seed):
        errors.append(Problem("seed", f"seed must be an integer, got {_shown(params.seed)}."))
    elif params.seed is not None and not SEED_RANGE[0] <= params.seed <= SEED_RANGE[1]:
        errors.append(Problem("seed", f"seed must be a 64-bit integer, from {SEED_RANGE[0]} to {SEED_RANGE[1]}, "
                              f"got {_shown(params.seed)}."))


def _check_response_format(params: ChatParams, model_id: str | None, errors: list[Problem],
                           warnings: list[Problem]) -> None:
    fmt = params.response_format
    if fmt is None or fmt == "text":
        return
    if fmt == "json_object":
        if model_id and "llama" in model_id.lower():
            warnings.append(Problem("response_format", "Llama models do not support JSON mode "
                                    "(response_format json_object): expect the service to refuse it."))
        return
    if not isinstance(fmt, dict):
        errors.append(Problem("response_format", "response_format must be text, json_object or a JSON schema, "
                              f"got {_shown(fmt)}."))
        return
    name = fmt.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(Problem("response_format.name", "response_format json_schema needs a name."))
    elif not SCHEMA_NAME.match(name):
        errors.append(Problem("response_format.name", "response_format json_schema name may hold only letters, "
                              f"digits, '_' and '-', at most 64 characters; got {_shown(name)}."))
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        errors.append(Problem("response_format.schema", "response_format json_schema needs a schema that is a "
                              f"JSON object, got {_shown(schema)}."))
    elif "type" in schema and schema["type"] != "object":
        errors.append(Problem("response_format.schema", "response_format json_schema must describe an object: "
                              f"its root 'type' must be \"object\", got {_shown(schema['type'])}."))
    if "strict" in fmt and fmt["strict"] is not None and not isinstance(fmt["strict"], bool):
        errors.append(Problem("response_format.strict", f"response_format strict must be true or false, "
                              f"got {_shown(fmt['strict'])}."))


def schema_problem(schema: Any, where: str) -> Problem | None:
    """Whether `schema` is a JSON object schema (Draft 2020-12), as function parameters must be."""
    if not isinstance(schema, dict):
        return Problem(where, f"{where} must be a JSON object schema, got {_shown(schema)}.")
    if "type" in schema and schema["type"] != "object":
        return Problem(where, f"{where} must describe an object: its root 'type' must be \"object\", "
                              f"got {_shown(schema['type'])}.")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        at = "/".join(str(part) for part in exc.path)
        return Problem(where, f"{where} is not a valid JSON schema{f' at {at}' if at else ''}: {exc.message}")
    return None


def function_problems(function: Any, where: str) -> list[Problem]:
    """A function definition (`{"name", "description"?, "parameters"?}`); `where` names it in messages."""
    if not isinstance(function, dict):
        return [Problem(where, f"{where} must be an object with a name, got {_shown(function)}.")]
    problems = []
    name = function.get("name")
    if not isinstance(name, str) or not name:
        problems.append(Problem(f"{where}.name", f"{where}: the name is empty."))
    elif not FUNCTION_NAME.match(name):
        problems.append(Problem(f"{where}.name", f"{where}: the name may hold only letters, digits, '_' and '-', "
                                f"at most 64 characters; got {_shown(name)}."))
    if function.get("description") is not None and not isinstance(function["description"], str):
        problems.append(Problem(f"{where}.description", f"{where}: the description must be text."))
    if function.get("parameters") is not None:
        problem = schema_problem(function["parameters"], f"{where}: parameters")
        if problem:
            problems.append(Problem(f"{where}.parameters", problem.message))
    return problems


def _check_tools(params: ChatParams, errors: list[Problem]) -> None:
    names: list[str] = []
    for index, tool in enumerate(params.tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            errors.append(Problem(where, f"{where} must be {{\"type\": \"function\", \"function\": {{...}}}}."))
            continue
        function = tool.get("function")
        label = f"Function '{function['name']}'" if isinstance(function, dict) and isinstance(
            function.get("name"), str) and function["name"] else f"Function {index + 1}"
        errors.extend(function_problems(function, label))
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            if function["name"] in names:
                errors.append(Problem(f"{where}.name", f"{label}: two functions have this name."))
            names.append(function["name"])
    choice = params.tool_choice
    if choice is None or not params.tools:
        return
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            errors.append(Problem("tool_choice", f"tool_choice must be auto, none, required or a function, "
                                  f"got {_shown(choice)}."))
        return
    wanted = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if not isinstance(wanted, str):
        errors.append(Problem("tool_choice", f"tool_choice must name a function, got {_shown(choice)}."))
    elif wanted not in names:
        errors.append(Problem("tool_choice", f"tool_choice names the function '{wanted}', which is not among "
                              "the tools."))


def _check_extras(params: ChatParams, errors: list[Problem]) -> None:
    extras = params.extras
    if not isinstance(extras, dict):
        errors.append(Problem("extras", f"Raw extras must be a JSON object, got {_shown(extras)}."))
        return
    for key in extras:
        if key in STANDARD_FIELDS:
            errors.append(Problem("extras", f"Raw extras: '{key}' is a standard field; set it with its own "
                                  "control, not as an extra."))
    size = _json_size(extras)
    if size > MAX_EXTRAS_BYTES:
        errors.append(Problem("extras", f"Raw extras are {size:,} bytes as JSON; the limit is "
                              f"{MAX_EXTRAS_BYTES // 1024} KB."))

    def bool_extra(name: str) -> None:
        if name in extras and not isinstance(extras[name], bool):
            errors.append(Problem(name, f"{name} must be true or false, got {_shown(extras[name])}."))

    n = extras.get("n")
    if n is not None and not (_is_int(n) and n >= 1):
        errors.append(Problem("n", f"n must be an integer of at least 1, got {_shown(n)}."))
    elif n is not None and n > MAX_N:
        errors.append(Problem("n", f"n must be at most {MAX_N} (each choice is generated and saved), got {n}."))
    n_value = n if _is_int(n) and n >= 1 else 1
    best_of = extras.get("best_of")
    if best_of is not None:
        if not _is_int(best_of):
            errors.append(Problem("best_of", f"best_of must be an integer, got {_shown(best_of)}."))
        elif best_of <= n_value:
            errors.append(Problem("best_of", f"best_of must be greater than n ({n_value}), got {best_of}."))
        elif best_of > MAX_BEST_OF:
            errors.append(Problem("best_of", f"best_of must be at most {MAX_BEST_OF} (each candidate is "
                                  f"generated), got {best_of}."))

    logprobs = extras.get("logprobs")
    top = extras.get("top_logprobs")
    if logprobs is not None and not isinstance(logprobs, bool) and not (
            _is_int(logprobs) and 0 <= logprobs <= MAX_TOP_LOGPROBS):
        errors.append(Problem("logprobs", f"logprobs must be an integer from 0 to {MAX_TOP_LOGPROBS} (how many "
                              f"alternatives per token), got {_shown(logprobs)}."))
    if top is not None:
        if not (_is_int(top) and 0 <= top <= MAX_TOP_LOGPROBS):
            errors.append(Problem("top_logprobs", f"top_logprobs must be an integer from 0 to {MAX_TOP_LOGPROBS}, "
                                  f"got {_shown(top)}."))
        elif logprobs is not True:
            errors.append(Problem("top_logprobs", "top_logprobs needs logprobs set to true."))

    for name in ("ignore_eos", "use_beam_search", "skip_special_tokens", "parallel_tool_calls"):
        bool_extra(name)
    if extras.get("use_beam_search") is True:
        if params.temperature != 0:
            shown = "the default" if params.temperature is None else _shown(params.temperature)
            errors.append(Problem("use_beam_search", f"use_beam_search needs temperature 0, got {shown}."))
        if not (_is_int(best_of) and best_of > 1):
            errors.append(Problem("use_beam_search", "use_beam_search needs best_of greater than 1."))

    ids = extras.get("stop_token_ids")
    if ids is not None and not (isinstance(ids, list) and all(_is_int(i) for i in ids)):
        errors.append(Problem("stop_token_ids", f"stop_token_ids must be a list of integers (token ids), "
                              f"got {_shown(ids)}."))
    elif ids is not None and len(ids) > MAX_STOP_TOKEN_IDS:
        errors.append(Problem("stop_token_ids", f"stop_token_ids takes at most {MAX_STOP_TOKEN_IDS} token ids, "
                              f"got {len(ids)}."))
    elif ids is not None and not all(0 <= i <= MAX_TOKEN_ID for i in ids):
        errors.append(Problem("stop_token_ids", f"stop_token_ids must be token ids from 0 to {MAX_TOKEN_ID}, "
                              f"got {_shown(next(i for i in ids if not 0 <= i <= MAX_TOKEN_ID))}."))


def validate(params: ChatParams, *, model_id: str | None, streaming: bool) -> Validation:
    """Check `params` for the model `model_id`; `streaming` is the mode the user picked."""
    result = Validation(stream=streaming)
    _check_standard(params, result.errors)
    _check_response_format(params, model_id, result.errors, result.warnings)
    _check_extras(params, result.errors)
    _check_tools(params, result.errors)
    extras = params.extras if isinstance(params.extras, dict) else {}
    if streaming and extras.get("best_of") is not None:
        result.stream = False
        result.warnings.append(Problem("best_of", "best_of cannot stream: the request goes non-streaming and "
                                       "the reply appears when it is complete."))
    elif streaming and _is_int(extras.get("n")) and extras["n"] > 1:
        result.stream = False
        result.warnings.append(Problem("n", f"n = {extras['n']} asks for several choices: the request goes "
                                       "non-streaming and they appear together when all are complete."))
    return result


def parse_json_field(text: str, field: str) -> tuple[Any, Problem | None]:
    """Parse the JSON a user typed into a raw field (a schema, raw extras). Blank text is None.
    A mistake comes back as a Problem with its line and column."""
    if not text or not text.strip():
        return None, None
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, Problem(field, f"{field}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")


# -- "More parameters": the inputs' defaults, and their values turned into ChatParams fields -----

MORE_DEFAULTS: dict[str, Any] = {
    "stop_sequences": "", "seed": "", "response_format": "text", "schema_name": "reply",
    "schema_text": ('{\n  "type": "object",\n  "properties": {"answer": {"type": "string"}},\n'
                    '  "required": ["answer"]\n}'),
    "extra_n": 1, "extra_best_of": 0, "extra_logprobs": -1, "extra_ignore_eos": False,
    "extra_use_beam_search": False, "extra_stop_token_ids": "", "extra_skip_special_tokens": "default",
    "raw_extras": "",
}
MORE_CHOICES = {"response_format": ("text", "json_object", "json_schema"),
                "extra_skip_special_tokens": ("default", "true", "false")}
MORE_RANGES = {"extra_n": (1, 8), "extra_best_of": (0, 16), "extra_logprobs": (-1, 20)}


def checked_more(values: Any) -> dict[str, Any]:
    """The "More parameters" inputs of untrusted `values` that have the input's type and range."""
    out: dict[str, Any] = {}
    if not isinstance(values, dict):
        return out
    for name, default in MORE_DEFAULTS.items():
        value = values.get(name)
        if type(value) is not type(default) or value not in MORE_CHOICES.get(name, (value,)):
            continue
        if name in MORE_RANGES and isinstance(value, int):  # the ranged inputs are ints (checked above)
            low, high = MORE_RANGES[name]
            value = min(max(value, low), high)
        out[name] = value
    return out


def parse_more(values: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """ChatParams fields from the "More parameters" inputs; blank or default inputs are not sent."""
    problems: list[Problem] = []
    more: dict[str, Any] = {}
    stop = tuple(line for line in values["stop_sequences"].split("\n") if line)
    if stop:
        more["stop"] = stop
    seed_text = values["seed"].strip()
    if seed_text:
        try:
            more["seed"] = int(seed_text)
        except ValueError:
            problems.append(Problem("seed", f"Seed must be a whole number, got {seed_text!r}."))
    if values["response_format"] == "json_object":
        more["response_format"] = "json_object"
    elif values["response_format"] == "json_schema":
        schema, problem = parse_json_field(values["schema_text"], "JSON schema")
        problems += [problem] if problem else []
        if isinstance(schema, dict):
            more["response_format"] = {"name": values["schema_name"].strip(), "schema": schema}
    extras: dict[str, Any] = {}
    for name, wire in (("extra_n", "n"), ("extra_best_of", "best_of"), ("extra_logprobs", "logprobs")):
        if values[name] != MORE_DEFAULTS[name]:
            extras[wire] = int(values[name])
    for name, wire in (("extra_ignore_eos", "ignore_eos"), ("extra_use_beam_search", "use_beam_search")):
        if values[name]:
            extras[wire] = True
    ids_text = values["extra_stop_token_ids"].strip()
    if ids_text:
        try:
            extras["stop_token_ids"] = [int(part) for part in ids_text.replace(",", " ").split()]
        except ValueError:
            problems.append(Problem("stop_token_ids", "stop_token_ids must be whole numbers separated by commas."))
    if values["extra_skip_special_tokens"] != "default":
        extras["skip_special_tokens"] = values["extra_skip_special_tokens"] == "true"
    raw, problem = parse_json_field(values["raw_extras"], "Other extras")
    problems += [problem] if problem else []
    if isinstance(raw, dict):
        extras.update(raw)
    elif raw is not None:
        problems.append(Problem("extras", "Other extras must be a JSON object, like {\"top_k\": 20}."))
    if extras:
        more["extras"] = extras
    return more, problems
