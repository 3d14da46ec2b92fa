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
from typing import Any, NamedTuple

from .client import ChatParams

MAX_STOP_SEQUENCES = 4
MAX_TOP_LOGPROBS = 20
# Body keys the SDK builds itself: an extra with one of these names would collide with them.
STANDARD_FIELDS = frozenset({
    "messages", "model", "stream", "temperature", "top_p", "max_tokens", "presence_penalty",
    "frequency_penalty", "stop", "seed", "response_format", "tools", "tool_choice",
})
SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


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
    _range(errors, "temperature", params.temperature, 0, 2)
    _range(errors, "top_p", params.top_p, 0, 1)
    _range(errors, "presence_penalty", params.presence_penalty, -2, 2)
    _range(errors, "frequency_penalty", params.frequency_penalty, -2, 2)
    if params.max_tokens is not None and not (_is_int(params.max_tokens) and params.max_tokens >= 1):
        errors.append(Problem("max_tokens", f"max_tokens must be an integer of at least 1, got {_shown(params.max_tokens)}."))
    stop = params.stop
    if isinstance(stop, str):
        stop = (stop,)
    if len(stop) > MAX_STOP_SEQUENCES:
        errors.append(Problem("stop", f"stop takes at most {MAX_STOP_SEQUENCES} sequences, got {len(stop)}."))
    if not all(isinstance(s, str) and s for s in stop):
        errors.append(Problem("stop", "stop sequences must be non-empty strings."))
    if params.seed is not None and not _is_int(params.seed):
        errors.append(Problem("seed", f"seed must be an integer, got {_shown(params.seed)}."))


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


def _check_extras(params: ChatParams, errors: list[Problem]) -> None:
    extras = params.extras
    if not isinstance(extras, dict):
        errors.append(Problem("extras", f"Raw extras must be a JSON object, got {_shown(extras)}."))
        return
    for key in extras:
        if key in STANDARD_FIELDS:
            errors.append(Problem("extras", f"Raw extras: '{key}' is a standard field; set it with its own "
                                  "control, not as an extra."))

    def bool_extra(name: str) -> None:
        if name in extras and not isinstance(extras[name], bool):
            errors.append(Problem(name, f"{name} must be true or false, got {_shown(extras[name])}."))

    n = extras.get("n")
    if n is not None and not (_is_int(n) and n >= 1):
        errors.append(Problem("n", f"n must be an integer of at least 1, got {_shown(n)}."))
    n_value = n if _is_int(n) and n >= 1 else 1
    best_of = extras.get("best_of")
    if best_of is not None:
        if not _is_int(best_of):
            errors.append(Problem("best_of", f"best_of must be an integer, got {_shown(best_of)}."))
        elif best_of <= n_value:
            errors.append(Problem("best_of", f"best_of must be greater than n ({n_value}), got {best_of}."))

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

    for name in ("ignore_eos", "use_beam_search", "skip_special_tokens"):
        bool_extra(name)
    if extras.get("use_beam_search") is True:
        if params.temperature != 0:
            errors.append(Problem("use_beam_search", "use_beam_search needs temperature 0, "
                                  f"got {'the default' if params.temperature is None else _shown(params.temperature)}."))
        if not (_is_int(best_of) and best_of > 1):
            errors.append(Problem("use_beam_search", "use_beam_search needs best_of greater than 1."))

    ids = extras.get("stop_token_ids")
    if ids is not None and not (isinstance(ids, list) and all(_is_int(i) for i in ids)):
        errors.append(Problem("stop_token_ids", f"stop_token_ids must be a list of integers (token ids), "
                              f"got {_shown(ids)}."))


def validate(params: ChatParams, *, model_id: str | None, streaming: bool) -> Validation:
    """Check `params` for the model `model_id`; `streaming` is the mode the user picked."""
    result = Validation(stream=streaming)
    _check_standard(params, result.errors)
    _check_response_format(params, model_id, result.errors, result.warnings)
    _check_extras(params, result.errors)
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
