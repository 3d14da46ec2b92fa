"""Checks a chat-completions request body the way the Azure AI Model Inference API does.

Every rejection names the field, so the playground (and any other client) can tell the
user exactly what to change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ROLES = ("system", "user", "assistant")
MAX_STOP_SEQUENCES = 4

# Parameters of the API that this endpoint honours, and the extras it accepts when the
# client sends `extra-parameters: pass-through` (the SDK's `model_extras`).
STANDARD_KEYS = {
    "messages", "model", "stream", "temperature", "top_p", "max_tokens",
    "presence_penalty", "frequency_penalty", "stop", "seed", "response_format",
}
UNSUPPORTED_KEYS = {"tools", "tool_choice"}
# Extras (the Llama family's, and OpenAI's logprobs) that llama.cpp can honour.
EXTRA_KEYS = {
    "stream_options", "top_k", "ignore_eos", "logprobs", "top_logprobs", "n",
    "stop_token_ids", "skip_special_tokens", "best_of", "use_beam_search",
}
MAX_TOP_LOGPROBS = 20
MAX_CHOICES = 8
MAX_STOP_TOKEN_IDS = 64


class RequestError(Exception):
    """A request the endpoint refuses; rendered as `{"error": {...}}` with `status`."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.param:
            error["param"] = self.param
        return {"error": error}


def _invalid(param: str, message: str) -> RequestError:
    return RequestError(400, "invalid_parameter", message, param)


@dataclass
class ChatRequest:
    """A validated request: `messages` plus the keyword arguments for llama-cpp-python."""

    messages: list[dict[str, str]]
    stream: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    # How many choices to generate, one after the other.
    n: int = 1
    # None: no logprobs. Otherwise how many alternatives to list per token (0..20).
    top_logprobs: int | None = None
    # Tokens that end the reply like end-of-sequence does (not included in it).
    stop_token_ids: tuple[int, ...] = ()


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(400, "invalid_json", f"The request body is not valid JSON: {exc}") from None


def _number(body: dict, name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(name, f"'{name}' must be a number, got {json.dumps(value)[:40]}.")
    if not low <= value <= high:
        raise _invalid(name, f"'{name}' must be between {low:g} and {high:g}, got {value:g}.")
    return float(value)


def _integer(body: dict, name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(name, f"'{name}' must be an integer, got {json.dumps(value)[:40]}.")
    if not low <= value <= high:
        raise _invalid(name, f"'{name}' must be between {low} and {high}, got {value}.")
    return value


def _content_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise _invalid(where, f"'{where}' may only hold text parts; this model does not read images or audio.")
            parts.append(part["text"])
        return "".join(parts)
    raise _invalid(where, f"'{where}' must be a string.")


def _messages(body: dict) -> list[dict[str, str]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages", "'messages' must be a non-empty array of {role, content} objects.")
    result = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise _invalid(where, f"'{where}' must be an object with 'role' and 'content'.")
        role = message.get("role")
        if role not in ROLES:
            raise _invalid(f"{where}.role", f"'{where}.role' must be one of {', '.join(ROLES)}; got {json.dumps(role)[:40]}.")
        result.append({"role": role, "content": _content_text(message.get("content"), f"{where}.content")})
    return result


def _stop(body: dict) -> list[str] | None:
    stop = body.get("stop")
    if stop is None:
        return None
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise _invalid("stop", "'stop' must be a non-empty string or an array of non-empty strings.")
    if len(stop) > MAX_STOP_SEQUENCES:
        raise _invalid("stop", f"'stop' takes at most {MAX_STOP_SEQUENCES} sequences, got {len(stop)}.")
    return stop


def _response_format(body: dict) -> dict | None:
    fmt = body.get("response_format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = fmt.get("json_schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("schema"), dict):
            raise _invalid("response_format", "'response_format.json_schema.schema' must be a JSON schema object.")
        return {"type": "json_object", "schema": schema["schema"]}
    raise _invalid("response_format", "'response_format.type' must be 'text', 'json_object' or 'json_schema'.")


def _boolean(body: dict, name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise _invalid(name, f"'{name}' must be true or false.")
    return value


def _not_supported(name: str, why: str) -> RequestError:
    return RequestError(400, "unsupported_parameter", f"'{name}' is not supported by the embedded model: {why}", name)


def _logprobs(body: dict) -> int | None:
    """How many alternatives per token to return, or None for no logprobs.

    OpenAI's form is `logprobs: true` with `top_logprobs: 0..20`; the Llama extra is
    `logprobs: <int>`, the number of alternatives, which means the same as top_logprobs."""
    logprobs = body.get("logprobs")
    top = _integer(body, "top_logprobs", 0, MAX_TOP_LOGPROBS)
    if logprobs is None or logprobs is False:
        if top is not None:
            raise _invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true.")
        return None
    if logprobs is True:
        return top if top is not None else 0
    count = _integer(body, "logprobs", 0, MAX_TOP_LOGPROBS)
    if top is not None and top != count:
        raise _invalid("top_logprobs", f"'top_logprobs' ({top}) disagrees with 'logprobs' ({count}); "
                       "send one of them, or 'logprobs': true with 'top_logprobs'.")
    return count


def _stop_token_ids(body: dict) -> tuple[int, ...]:
    ids = body.get("stop_token_ids")
    if ids is None:
        return ()
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids):
        raise _invalid("stop_token_ids", "'stop_token_ids' must be an array of token ids (integers, 0 or more).")
    if len(ids) > MAX_STOP_TOKEN_IDS:
        raise _invalid("stop_token_ids", f"'stop_token_ids' takes at most {MAX_STOP_TOKEN_IDS} ids, got {len(ids)}.")
    return tuple(ids)


def _refuse_unsupported_extras(body: dict) -> None:
    """Extras of the Llama family that llama.cpp cannot honour get a 400 naming them (when
    they ask for something other than what the model does anyway)."""
    if body.get("best_of") is not None:
        raise _not_supported("best_of", "it generates each choice once and cannot rank candidates; "
                             "use 'n' to get several choices.")
    if _boolean(body, "use_beam_search"):
        raise _not_supported("use_beam_search", "it samples one token at a time (no beam search).")
    if _boolean(body, "skip_special_tokens") is False:
        raise _not_supported("skip_special_tokens", "its replies never include special tokens, "
                             "so only true (the default) is accepted.")


def validate_chat_request(body: Any, n_ctx: int, extra_parameters: str | None) -> ChatRequest:
    """Turn a decoded JSON body into a ChatRequest or raise RequestError(400)."""
    if not isinstance(body, dict):
        raise RequestError(400, "invalid_json", "The request body must be a JSON object.")

    for key in body:
        if key in UNSUPPORTED_KEYS and body[key] is not None:
            raise _invalid(key, f"'{key}' is not supported by the embedded model.")
        if key not in STANDARD_KEYS | UNSUPPORTED_KEYS | EXTRA_KEYS and extra_parameters != "drop":
            raise RequestError(
                400, "unsupported_parameter",
                f"Unknown parameter '{key}'. Send it with the header 'extra-parameters: drop' to have it ignored.",
                key,
            )
    if extra_parameters not in (None, "error", "drop", "pass-through"):
        raise _invalid("extra-parameters", "The 'extra-parameters' header must be error, drop or pass-through.")

    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _invalid("stream", "'stream' must be true or false.")
    if body.get("model") is not None and not isinstance(body["model"], str):
        raise _invalid("model", "'model' must be a string.")

    options: dict[str, Any] = {
        "temperature": _number(body, "temperature", 0, 2),
        "top_p": _number(body, "top_p", 0, 1),
        "max_tokens": _integer(body, "max_tokens", 1, n_ctx),
        "presence_penalty": _number(body, "presence_penalty", -2, 2),
        "frequency_penalty": _number(body, "frequency_penalty", -2, 2),
        "seed": _integer(body, "seed", -(2**63), 2**63 - 1),
        "stop": _stop(body),
        "response_format": _response_format(body),
        "top_k": _integer(body, "top_k", 0, 1000),
    }
    options["ignore_eos"] = bool(_boolean(body, "ignore_eos"))
    _refuse_unsupported_extras(body)
    return ChatRequest(
        messages=_messages(body),
        stream=stream,
        options={k: v for k, v in options.items() if v is not None},
        n=_integer(body, "n", 1, MAX_CHOICES) or 1,
        top_logprobs=_logprobs(body),
        stop_token_ids=_stop_token_ids(body),
    )
