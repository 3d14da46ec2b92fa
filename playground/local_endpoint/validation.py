"""Checks a chat-completions request body the way the Azure AI Model Inference API does.

Every rejection names the field, so the playground (and any other client) can tell the
user exactly what to change.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from . import grammar

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_STOP_SEQUENCES = 4

# Parameters of the API (the Azure AI Model Inference API and OpenAI's v1 chat completions)
# that this endpoint honours.
STANDARD_KEYS = {
    "messages", "model", "stream", "temperature", "top_p", "max_tokens", "max_completion_tokens",
    "presence_penalty", "frequency_penalty", "stop", "seed", "response_format",
    "tools", "tool_choice", "parallel_tool_calls", "stream_options",
}
# Extras (the Llama family's, and OpenAI's logprobs and n) that llama.cpp can honour.
EXTRA_KEYS = {
    "top_k", "ignore_eos", "logprobs", "top_logprobs", "n",
    "stop_token_ids", "skip_special_tokens", "best_of", "use_beam_search",
}
MAX_TOP_LOGPROBS = 20
MAX_CHOICES = 8
MAX_STOP_TOKEN_IDS = 64
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# Content parts that carry something other than text: this model reads text only.
MEDIA_PARTS = {"image_url", "image", "input_image", "input_audio", "audio", "file", "video_url"}


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
    """A validated request: `messages` (the prompt as the chat template renders it: tool calls
    and results as text, tools described in the system message) plus the keyword arguments for
    llama-cpp-python."""

    messages: list[dict[str, str]]
    stream: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    # How many choices to generate, one after the other.
    n: int = 1
    # None: no logprobs. Otherwise how many alternatives to list per token (0..20).
    top_logprobs: int | None = None
    # Tokens that end the reply like end-of-sequence does (not included in it).
    stop_token_ids: tuple[int, ...] = ()
    # GBNF the reply must follow (response_format or tools), or None.
    grammar: str | None = None
    # None: a text reply. "required": the reply is a call of one of `tools`. "auto": a call or text.
    tool_mode: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    # stream_options.include_usage: usage in a last chunk with no choices (OpenAI's convention).
    include_usage: bool = False


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
        for index, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind in MEDIA_PARTS:
                raise RequestError(400, "unsupported_content", f"'{where}[{index}]' is an {kind} part: the embedded "
                                   "model takes text only (no images, audio or files).", f"{where}[{index}]")
            if kind != "text" or not isinstance(part.get("text"), str):
                raise _invalid(f"{where}[{index}]", f"'{where}[{index}]' must be a text part: "
                               '{"type": "text", "text": "..."}.')
            parts.append(part["text"])
        return "".join(parts)
    raise _invalid(where, f"'{where}' must be a string or an array of text parts.")


def _past_tool_calls(calls: Any, where: str) -> list[str]:
    """An assistant message's earlier tool calls, each as the text the model writes for one."""
    if not isinstance(calls, list):
        raise _invalid(where, f"'{where}' must be an array of tool calls.")
    rendered = []
    for index, call in enumerate(calls):
        at = f"{where}[{index}]"
        function = call.get("function") if isinstance(call, dict) else None
        if (not isinstance(function, dict) or call.get("type", "function") != "function"
                or not isinstance(function.get("name"), str) or not isinstance(function.get("arguments", ""), str)):
            raise _invalid(at, f"'{at}' must be {{\"id\", \"type\": \"function\", "
                           "\"function\": {\"name\", \"arguments\": \"<JSON text>\"}}.")
        rendered.append(grammar.render_call(function["name"], function.get("arguments") or "{}"))
    return rendered


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
            raise _invalid(f"{where}.role",
                           f"'{where}.role' must be one of {', '.join(ROLES)}; got {json.dumps(role)[:40]}.")
        content = message.get("content")
        if role == "developer":  # OpenAI's newer name for the system role
            role = "system"
        if role == "assistant" and message.get("tool_calls"):
            # The model sees its earlier calls as it wrote them; content may be null.
            calls = _past_tool_calls(message["tool_calls"], f"{where}.tool_calls")
            text = "" if content is None else _content_text(content, f"{where}.content")
            result.append({"role": role, "content": "\n".join(([text] if text else []) + calls)})
            continue
        if role == "tool" and not (isinstance(message.get("tool_call_id"), str) and message["tool_call_id"]):
            raise _invalid(f"{where}.tool_call_id", f"'{where}.tool_call_id' must name the call this result answers.")
        result.append({"role": role, "content": _content_text(content, f"{where}.content")})
    return result


def _tools(body: dict) -> list[dict[str, Any]] | None:
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list) or not tools:
        raise _invalid("tools", "'tools' must be a non-empty array of "
                       '{"type": "function", "function": {"name", "description", "parameters"}}.')
    from jsonschema import SchemaError, validators

    names: set[str] = set()
    # All tools share one budget: the grammar of a call holds every tool's parameters.
    budget = grammar.SchemaBudget("tools")
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            raise _invalid(where, f"'{where}' must be {{\"type\": \"function\", \"function\": {{...}}}}.")
        name = function.get("name")
        if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
            raise _invalid(f"{where}.function.name", f"'{where}.function.name' must be 1 to 64 letters, digits, "
                           f"'_' or '-'; got {json.dumps(name)[:70]}.")
        if name in names:
            raise _invalid(f"{where}.function.name", f"'{where}.function.name': two tools are named {name!r}.")
        names.add(name)
        if function.get("description") is not None and not isinstance(function["description"], str):
            raise _invalid(f"{where}.function.description", f"'{where}.function.description' must be a string.")
        parameters = function.get("parameters")
        if parameters is not None:
            at = f"{where}.function.parameters"
            if not isinstance(parameters, dict):
                raise _invalid(at, f"'{at}' must be a JSON schema object.")
            try:  # first: it bounds what the JSON-schema check below has to walk
                grammar.check_schema(parameters, at, budget, refs=False)
            except grammar.SchemaRefused as exc:
                raise _invalid(exc.field, exc.message) from None
            try:
                validators.validator_for(parameters).check_schema(parameters)
            except SchemaError as exc:
                raise _invalid(at, f"'{at}' is not a valid JSON schema: {exc.message}") from None
    return tools


def _tool_choice(body: dict, tools: list[dict[str, Any]] | None) -> str | dict[str, Any]:
    choice = body.get("tool_choice")
    if tools is None:
        if choice not in (None, "none"):
            raise _invalid("tool_choice", "'tool_choice' needs 'tools'.")
        return "none"
    if choice is None:
        return "auto"
    if choice in ("auto", "none", "required"):
        return choice
    function = choice.get("function") if isinstance(choice, dict) else None
    if not isinstance(function, dict) or choice.get("type") != "function" or not isinstance(function.get("name"), str):
        raise _invalid("tool_choice", "'tool_choice' must be 'auto', 'none', 'required' or "
                       '{"type": "function", "function": {"name": "<tool name>"}}.')
    if function["name"] not in {tool["function"]["name"] for tool in tools}:
        raise _invalid("tool_choice",
                       f"'tool_choice' names the function {function['name']!r}, which is not in 'tools'.")
    return choice


def _with_tools(messages: list[dict[str, str]], tools: list[dict[str, Any]],
                choice: str | dict[str, Any]) -> list[dict[str, str]]:
    """The prompt with the tools described in the system message (a new one first if none)."""
    description = grammar.describe_tools(tools, choice)
    if messages[0]["role"] == "system":
        return [{"role": "system", "content": messages[0]["content"] + "\n\n" + description}, *messages[1:]]
    return [{"role": "system", "content": description}, *messages]


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


def _response_format_grammar(body: dict) -> str | None:
    """The GBNF of the reply `response_format` asks for, or None for free text."""
    fmt = body.get("response_format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return grammar.json_object_gbnf()
    if kind == "json_schema":
        schema = fmt.get("json_schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("schema"), dict):
            raise _invalid("response_format", "'response_format.json_schema.schema' must be a JSON schema object.")
        where = "response_format.json_schema.schema"
        try:
            grammar.check_schema(schema["schema"], where)
            gbnf = grammar.schema_gbnf(schema["schema"])
        except grammar.SchemaRefused as exc:
            raise _invalid(exc.field, exc.message) from None
        except Exception as exc:  # the converter raises assorted errors on schemas it cannot express
            raise _invalid("response_format", f"'response_format.json_schema.schema' cannot be turned into a "
                           f"grammar by the embedded model: {exc}") from None
        return _checked(gbnf, where)
    raise _invalid("response_format", "'response_format.type' must be 'text', 'json_object' or 'json_schema'.")


def _checked(gbnf: str, where: str) -> str:
    """`gbnf`, once llama.cpp is sure to build it (see grammar.check_gbnf)."""
    try:
        grammar.check_gbnf(gbnf, where)
    except grammar.SchemaRefused as exc:
        raise _invalid(exc.field, exc.message) from None
    return gbnf


def _max_tokens(body: dict, n_ctx: int) -> int | None:
    """`max_tokens` (the Azure API's name) or `max_completion_tokens` (OpenAI's current one):
    the same cap. Both may be sent only with the same value."""
    legacy = _integer(body, "max_tokens", 1, n_ctx)
    current = _integer(body, "max_completion_tokens", 1, n_ctx)
    if legacy is not None and current is not None and legacy != current:
        raise _invalid("max_completion_tokens", f"'max_tokens' ({legacy}) and 'max_completion_tokens' ({current}) "
                       "disagree; they mean the same cap, so send one of them.")
    return current if current is not None else legacy


def _include_usage(body: dict) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise _invalid("stream_options", "'stream_options' must be an object such as {\"include_usage\": true}.")
    return bool(_boolean(options, "include_usage"))


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
        if key not in STANDARD_KEYS | EXTRA_KEYS and extra_parameters != "drop":
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

    # Left out, a sampling parameter takes the API's default (temperature 1, top_p 1), not
    # llama-cpp-python's (0.2, 0.95); and llama.cpp's own truncations (top_k 40, min_p 0.05,
    # repeat_penalty 1.1), which the API does not have, are off unless asked for.
    options: dict[str, Any] = {
        "temperature": _number(body, "temperature", 0, 2),
        "top_p": _number(body, "top_p", 0, 1),
        "max_tokens": _max_tokens(body, n_ctx),
        "presence_penalty": _number(body, "presence_penalty", -2, 2),
        "frequency_penalty": _number(body, "frequency_penalty", -2, 2),
        "seed": _integer(body, "seed", -(2**63), 2**63 - 1),
        "stop": _stop(body),
        "top_k": _integer(body, "top_k", 0, 1000),
    }
    options = {"temperature": 1.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0,
               **{k: v for k, v in options.items() if v is not None}}
    options["ignore_eos"] = bool(_boolean(body, "ignore_eos"))
    _refuse_unsupported_extras(body)
    _boolean(body, "parallel_tool_calls")  # accepted; the embedded model makes one call at a time

    messages = _messages(body)
    reply_grammar = _response_format_grammar(body)
    tools = _tools(body)
    choice = _tool_choice(body, tools)
    tool_mode, call_tools = None, []
    if tools is not None and choice != "none":
        if reply_grammar is not None:
            raise _not_supported("response_format", "it cannot combine 'response_format' with tools; "
                                 "send 'tool_choice': 'none' or leave 'response_format' out.")
        if isinstance(choice, dict):
            call_tools = [t for t in tools if t["function"]["name"] == choice["function"]["name"]]
        else:
            call_tools = tools
        tool_mode = "auto" if choice == "auto" else "required"
        try:
            reply_grammar = grammar.tool_call_gbnf(call_tools, allow_text=tool_mode == "auto")
        except Exception as exc:  # a parameters schema the grammar converter cannot express
            raise _invalid("tools", f"A tool's 'parameters' schema cannot be turned into a grammar by the "
                           f"embedded model: {exc}") from None
        reply_grammar = _checked(reply_grammar, "tools" if len(call_tools) > 1 else
                                 f"tools[{tools.index(call_tools[0])}].function.parameters")
        messages = _with_tools(messages, tools, choice)
    return ChatRequest(
        messages=messages,
        stream=stream,
        options=options,
        n=_integer(body, "n", 1, MAX_CHOICES) or 1,
        top_logprobs=_logprobs(body),
        stop_token_ids=_stop_token_ids(body),
        grammar=reply_grammar,
        tool_mode=tool_mode,
        tools=call_tools,
        include_usage=stream and _include_usage(body),
    )
