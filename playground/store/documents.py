"""Export and import documents, as pure functions over plain data (no database here)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from ..messages import metrics_line
from .records import (
    DEFAULT_IMPORT_LIMITS,
    KINDS,
    MAX_COLUMN,
    MAX_IMAGE_BYTES,
    ROLES,
    STATUSES,
    Conversation,
    ImportLimits,
    InvalidImport,
    check_text,
    dump_json,
    dump_object,
    human_size,
    image_problem,
    megabytes,
    one_line,
    tool_calls_problem,
)

EXPORT_FORMAT = "model-playground.conversation"
EXPORT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 2 added tool messages and images; a version-1 file reads as before


# -- export ---------------------------------------------------------------------------------------

def export_json(conversation: Conversation) -> str:
    """A versioned, self-contained document (`parse_import` reads it back). It holds exactly what
    the store holds, so no secrets as long as none were put in `setup`. Images are `data:` URLs."""
    messages = []
    for m in conversation.messages:
        message: dict[str, Any] = {"role": m.role, "content": m.content, "status": m.status,
                                   "column": m.column, "metrics": m.metrics, "created": _iso(m.created)}
        if m.tool_calls:
            message["tool_calls"] = list(m.tool_calls)
        if m.tool_call_id is not None:
            message["tool_call_id"] = m.tool_call_id
        if m.images:
            message["images"] = [{"url": image.data_url, "detail": image.detail, "name": image.name}
                                 for image in m.images]
        messages.append(message)
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "title": conversation.title,
        "kind": conversation.kind,
        "created": _iso(conversation.created),
        "updated": _iso(conversation.updated),
        "setup": conversation.setup,
        "messages": messages,
    }
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


# -- import ---------------------------------------------------------------------------------------

def parse_import(text: str | bytes, limits: ImportLimits = DEFAULT_IMPORT_LIMITS,
                 max_image_bytes: int = MAX_IMAGE_BYTES) -> dict[str, Any]:
    """The checked, normalised document, ready to insert, or InvalidImport on the first problem:
    {"title", "kind", "setup" (JSON text), "created" (float | None), "messages": [{"role",
    "content", "status", "column", "metrics" (JSON text | None), "created", "tool_calls"
    (JSON text | None), "tool_call_id", "images": [{"mime", "data", "detail", "name"}]}]}."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        raw = bytes(text)
        if len(raw) > limits.max_bytes:
            raise InvalidImport(f"file is larger than {megabytes(limits.max_bytes)} ({len(raw):,} bytes)")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidImport(f"not JSON: the file is not UTF-8 text (bad byte at position {exc.start})") from None
    elif isinstance(text, str):
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limits.max_bytes:
            raise InvalidImport(f"file is larger than {megabytes(limits.max_bytes)} ({size:,} bytes)")
        text = text.removeprefix("\ufeff")
    else:
        raise InvalidImport(f"expected the file's text or bytes, got {type(text).__name__}")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except InvalidImport:
        raise
    except RecursionError:
        raise InvalidImport("not JSON this playground reads: values are nested too deeply") from None
    except ValueError as exc:
        raise InvalidImport(f"not JSON: {exc}") from None

    if not isinstance(document, dict):
        raise InvalidImport(f"not a conversation export: the file holds {_type_name(document)}, "
                            f"expected an object with \"format\": \"{EXPORT_FORMAT}\"")
    fmt = document.get("format")
    if fmt != EXPORT_FORMAT:
        raise InvalidImport(f"unknown format {_describe(fmt)}: expected \"{EXPORT_FORMAT}\" "
                            "(is this a conversation exported from Model Playground?)")
    version = document.get("version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise InvalidImport(f"unknown version {_describe(version)} of {EXPORT_FORMAT}: "
                            f"this playground reads versions {' and '.join(map(str, READABLE_VERSIONS))}")
    for key in ("title", "kind", "setup", "messages"):
        if key not in document:
            raise InvalidImport(f"{key} is missing")

    title = document["title"]
    if not isinstance(title, str):
        raise InvalidImport(f"title must be a string, got {_type_name(title)}")
    if "\x00" in title:
        raise InvalidImport("title contains a NUL character")
    if len(title) > limits.max_title_chars:
        raise InvalidImport(f"title is {len(title):,} characters long; at most {limits.max_title_chars} are allowed")
    _import_text(title, "title")

    kind = document["kind"]
    if kind not in KINDS:
        raise InvalidImport(f"kind must be chat or compare, got {_describe(kind)}")

    setup = document["setup"]
    if not isinstance(setup, dict):
        raise InvalidImport(f"setup must be an object, got {_type_name(setup)}")
    setup_json = _import_object(setup, "setup")
    if len(setup_json.encode("utf-8")) > limits.max_setup_bytes:
        raise InvalidImport(f"setup is larger than {limits.max_setup_bytes // 1024} KB")

    messages = document["messages"]
    if not isinstance(messages, list):
        raise InvalidImport(f"messages must be a list, got {_type_name(messages)}")
    if len(messages) > limits.max_messages:
        raise InvalidImport(f"messages has {len(messages):,} items; at most {limits.max_messages:,} are allowed")
    checked = [_import_message(m, f"messages[{i}]", limits, max_image_bytes) for i, m in enumerate(messages)]

    return {"title": one_line(title), "kind": kind, "setup": setup_json, "messages": checked,
            "created": _import_time(document.get("created"), "created")}


def _import_message(message: Any, where: str, limits: ImportLimits, max_image_bytes: int) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise InvalidImport(f"{where} must be an object, got {_type_name(message)}")
    if "role" not in message:
        raise InvalidImport(f"{where}.role is missing")
    role = message["role"]
    if role not in ROLES or not isinstance(role, str):
        raise InvalidImport(f"{where}.role must be user, assistant, system or tool (got {_describe(role)})")
    if "content" not in message:
        raise InvalidImport(f"{where}.content is missing")
    content = message["content"]
    if not isinstance(content, str):
        raise InvalidImport(f"{where}.content must be a string, got {_type_name(content)}")
    if len(content) > limits.max_content_chars:
        raise InvalidImport(f"{where}.content is {len(content):,} characters long; "
                            f"at most {limits.max_content_chars:,} are allowed")
    _import_text(content, f"{where}.content")
    metrics = message.get("metrics")
    if metrics is not None and not isinstance(metrics, dict):
        raise InvalidImport(f"{where}.metrics must be an object or null, got {_type_name(metrics)}")
    status = message.get("status", "complete")
    if status not in STATUSES or not isinstance(status, str):
        raise InvalidImport(f"{where}.status must be complete or partial (got {_describe(status)})")
    column = message.get("column")
    if column is not None and (type(column) is not int or not 0 <= column <= MAX_COLUMN):
        raise InvalidImport(f"{where}.column must be null or a whole number from 0 to {MAX_COLUMN} "
                            f"(got {_describe(column)})")

    tool_calls = message.get("tool_calls")
    if tool_calls is not None:
        if role != "assistant":
            raise InvalidImport(f"{where}.tool_calls is only allowed on an assistant message (role is {role})")
        problem = tool_calls_problem(tool_calls)
        if problem:
            raise InvalidImport(f"{where}.tool_calls{problem}")
    tool_call_id = message.get("tool_call_id")
    if role == "tool":
        if tool_call_id is None:
            raise InvalidImport(f"{where}.tool_call_id is missing (a tool message answers a call by its id)")
        if not isinstance(tool_call_id, str) or not tool_call_id or "\x00" in tool_call_id:
            raise InvalidImport(f"{where}.tool_call_id must be a non-empty string without NUL "
                                f"(got {_describe(tool_call_id)})")
        _import_text(tool_call_id, f"{where}.tool_call_id")
    elif tool_call_id is not None:
        raise InvalidImport(f"{where}.tool_call_id is only allowed on a tool message (role is {role})")

    images = message.get("images") or []
    if not isinstance(images, list):
        raise InvalidImport(f"{where}.images must be a list, got {_type_name(images)}")
    return {"role": role, "content": content, "status": status, "column": column,
            "metrics": None if metrics is None else _import_object(metrics, f"{where}.metrics"),
            "created": _import_time(message.get("created"), f"{where}.created"),
            "tool_calls": None if tool_calls is None else dump_json(tool_calls, f"{where}.tool_calls"),
            "tool_call_id": tool_call_id,
            "images": [_import_image(image, f"{where}.images[{i}]", max_image_bytes)
                       for i, image in enumerate(images)]}


_DATA_URL = re.compile(r"data:(image/(?:png|jpeg|webp|gif));base64,(.*)", re.DOTALL)


def _import_image(image: Any, where: str, max_bytes: int) -> dict[str, Any]:
    if not isinstance(image, dict):
        raise InvalidImport(f"{where} must be an object with a url, got {_type_name(image)}")
    url = image.get("url")
    match = _DATA_URL.fullmatch(url) if isinstance(url, str) else None
    if match is None:
        raise InvalidImport(f"{where}.url is not a data: URL of a PNG, JPEG, WEBP or GIF image")
    encoded = match.group(2)
    # Refuse before decoding an oversized image: base64 is 4 characters per 3 bytes.
    if len(encoded) > (max_bytes + 2) // 3 * 4 + 4:
        raise InvalidImport(f"{where} is larger than {human_size(max_bytes)}, the limit per image")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImport(f"{where}.url is not valid base64") from None
    candidate = {"mime": match.group(1), "data": data, "detail": image.get("detail"), "name": image.get("name")}
    problem = image_problem(candidate, max_bytes)
    if problem:
        raise InvalidImport(f"{where}{problem}")
    return candidate


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _reject_constant(name: str) -> Any:
    raise InvalidImport(f"not JSON: {name} is not a valid JSON value")


def _import_text(text: str, where: str) -> None:
    try:
        check_text(text, where)
    except ValueError as exc:
        raise InvalidImport(str(exc)) from None


def _import_object(value: dict[str, Any], where: str) -> str:
    try:
        return dump_object(value, where)
    except ValueError as exc:
        raise InvalidImport(str(exc)) from None


def _import_time(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidImport(f"{where} must be an ISO 8601 date-time string, got {_type_name(value)}")
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        timestamp = moment.timestamp()
    except (ValueError, OverflowError, OSError):
        raise InvalidImport(f"{where} must be an ISO 8601 date-time such as 2025-01-31T12:00:00+00:00 "
                            f"(got {_describe(value)})") from None
    if not math.isfinite(timestamp) or timestamp < 0:
        raise InvalidImport(f"{where} is before 1970 ({_describe(value)})")
    return timestamp


# -- markdown -------------------------------------------------------------------------------------

def _setup_lines(setup: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    model = setup.get("model", setup.get("model_label"))
    if model is not None:
        provider = setup.get("provider")
        lines.append(f"- **Model:** {model}" + (f" ({provider})" if provider else ""))
    elif setup.get("provider"):
        lines.append(f"- **Provider:** {setup['provider']}")
    parameters = setup.get("parameters")
    if isinstance(parameters, dict) and parameters:
        shown = ", ".join(f"{k} {json.dumps(v, ensure_ascii=False)}" for k, v in parameters.items())
        lines.append(f"- **Parameters:** {shown}")
    known = {"model", "model_label", "provider", "parameters", "system_prompt", "columns"}
    for key, value in setup.items():
        if key not in known:
            lines.append(f"- **{key}:** {json.dumps(value, ensure_ascii=False)}")
    system = setup.get("system_prompt")
    if isinstance(system, str) and system.strip():
        lines += ["", "**System prompt:**", "", *[f"> {line}".rstrip() for line in system.splitlines()]]
    return lines


def _tool_call_lines(call: dict[str, Any]) -> list[str]:
    function = call["function"]
    try:  # arguments are JSON text by the wire form; shown indented when they parse
        arguments = json.dumps(json.loads(function["arguments"]), ensure_ascii=False, indent=2)
    except (ValueError, RecursionError):
        arguments = function["arguments"]
    return ["", f"**Tool call** `{function['name']}` (id `{call['id']}`):", "", "```json", arguments, "```"]


def export_markdown(conversation: Conversation) -> str:
    """A readable document: title, model, system prompt, parameters, then each message under a
    role heading, with the metrics line under replies, partial replies marked, images listed as
    `[image: name, mime, size]` and tool calls with their arguments."""
    out = [f"# {conversation.title or 'Untitled conversation'}", ""]
    kind = "Chat" if conversation.kind == "chat" else "Comparison"
    out += [f"*{kind} · created {_human(conversation.created)} · last message {_human(conversation.updated)}*", ""]
    columns = conversation.setup.get("columns")
    out += _setup_lines(conversation.setup)
    if isinstance(columns, list):
        for index, column in enumerate(columns):
            out += ["", f"## Column {index + 1}", ""]
            if isinstance(column, dict):
                out += _setup_lines(column)
            else:
                out.append(f"- {json.dumps(column, ensure_ascii=False)}")
    for message in conversation.messages:
        heading = message.role.capitalize()
        if message.column is not None:
            column = columns[message.column] if isinstance(columns, list) and message.column < len(columns) else None
            label = column.get("model", column.get("model_label")) if isinstance(column, dict) else None
            heading += f" · column {message.column + 1}" + (f" ({label})" if label else "")
        if message.tool_call_id is not None:
            heading += f" · result of call `{message.tool_call_id}`"
        out += ["", "---", "", f"### {heading}", "", message.content]
        for image in message.images:
            name = one_line(image.name or "") or "unnamed"
            out += ["", f"[image: {name}, {image.mime}, {human_size(len(image.data))}]"]
        for call in message.tool_calls:
            out += _tool_call_lines(call)
        metrics = message.metrics or {}
        if message.status == "partial":
            why = metrics.get("error") or ("stopped" if metrics.get("finish_reason") == "stopped" else "cut short")
            out += ["", f"**⚠ Partial reply** ({why})"]
        if message.role == "assistant" and message.metrics:
            out += ["", f"*{metrics_line(message.metrics)}*"]
    return "\n".join(out).rstrip() + "\n"


def _human(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")

