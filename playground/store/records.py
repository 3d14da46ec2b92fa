"""What the store holds, as plain data, its errors, and the checks every write and import share."""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ..messages import Message

KINDS = ("chat", "compare")
ROLES = ("system", "user", "assistant", "tool")
STATUSES = ("complete", "partial")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/webp", "image/gif")
IMAGE_DETAILS = ("auto", "low", "high")
MAX_TITLE_CHARS = 200
AUTO_TITLE_CHARS = 60
MAX_PRESET_NAME_CHARS = 100
MAX_OWNER_CHARS = 255
MAX_COLUMN = 63
MAX_IMAGE_BYTES = 5 * 1024 * 1024
LOCAL_OWNER = "local"


class StoreError(Exception):
    """Base class of the store's errors."""


class ConversationNotFound(StoreError, LookupError):
    def __init__(self, conversation_id: str):
        super().__init__(f"no conversation with id {conversation_id!r}")
        self.conversation_id = conversation_id


class ConversationDeleted(StoreError):
    """A write to a conversation that is deleted (from another tab or session, say) is refused:
    written, it would go unseen and then be purged with the conversation. `undelete` first."""

    def __init__(self, conversation_id: str):
        super().__init__("the conversation was deleted (in another tab or window, say), and a deleted "
                         "conversation takes no new messages or changes")
        self.conversation_id = conversation_id


class MessageNotFound(StoreError, LookupError):
    def __init__(self, conversation_id: str, message_id: int):
        super().__init__(f"conversation {conversation_id!r} has no message {message_id!r}")


class InvalidImport(StoreError, ValueError):
    """The file cannot be imported; `str(exc)` tells the user what is wrong and where."""


@dataclass(frozen=True)
class ImportLimits:
    """What `import_json` accepts (pass `limits=` to Store to change it). add_message caps only
    images (a reply is never refused for its size), so an export over these limits (images count
    as base64 in the file's size) needs raised limits to import again."""

    max_bytes: int = 5 * 1024 * 1024
    max_title_chars: int = MAX_TITLE_CHARS
    max_messages: int = 10_000
    max_content_chars: int = 1_000_000
    max_setup_bytes: int = 64 * 1024


DEFAULT_IMPORT_LIMITS = ImportLimits()  # frozen, so one shared default is safe


@dataclass
class Conversation:
    id: str
    title: str
    kind: str
    setup: dict[str, Any]
    created: float
    updated: float
    deleted_at: float | None = None
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class Summary:
    id: str
    title: str
    kind: str
    created: float
    updated: float
    message_count: int
    deleted_at: float | None = None


# -- checks ---------------------------------------------------------------------------------------

def casefold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def one_line(text: str) -> str:
    """Whitespace runs (newlines, tabs, line separators) become one space; other control
    characters (NUL, ESC, ...) are removed."""
    return " ".join("".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch.isspace()).split())


def clean_title(title: str) -> str:
    if not isinstance(title, str):
        raise ValueError(f"title must be a string (got {type(title).__name__})")
    check_text(title, "title")
    return one_line(title)[:MAX_TITLE_CHARS].rstrip()


def auto_title(prompt: str) -> str:
    """The title derived from a first prompt: one line, about 60 characters, cut at a word."""
    text = one_line(prompt)
    if len(text) <= AUTO_TITLE_CHARS:
        return text
    cut = text[:AUTO_TITLE_CHARS - 1]
    space = cut.rfind(" ")
    if space >= AUTO_TITLE_CHARS // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def clean_preset_name(name: str) -> str:
    if not isinstance(name, str):
        raise ValueError(f"preset name must be a string (got {type(name).__name__})")
    check_text(name, "preset name")
    cleaned = one_line(name)
    if not cleaned:
        raise ValueError("preset name must not be empty")
    if len(cleaned) > MAX_PRESET_NAME_CHARS:
        raise ValueError(f"preset name is longer than {MAX_PRESET_NAME_CHARS} characters")
    return cleaned


def check_owner(owner: str) -> str:
    if not isinstance(owner, str) or not owner or len(owner) > MAX_OWNER_CHARS:
        raise ValueError(f"owner must be a non-empty string of at most {MAX_OWNER_CHARS} characters "
                         f"(got {owner!r})")
    check_short_text(owner, "owner")
    return owner


def check_text(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} contains an unpaired surrogate (\\u{ord(text[exc.start]):04x}) "
                         f"at position {exc.start}; it cannot be stored as UTF-8") from None


def check_short_text(text: str, what: str) -> None:
    """Ids and names go into text columns, which PostgreSQL keeps free of NUL."""
    check_text(text, what)
    if "\x00" in text:
        raise ValueError(f"{what} contains a NUL character")


def check_message(role: Any, content: Any, status: Any, column: Any,
                  tool_calls: Any = None, tool_call_id: Any = None) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be user, assistant, system or tool (got {role!r})")
    if not isinstance(content, str):
        raise ValueError(f"content must be a string (got {type(content).__name__})")
    check_text(content, "content")
    if status not in STATUSES:
        raise ValueError(f"status must be complete or partial (got {status!r})")
    if column is not None and (type(column) is not int or not 0 <= column <= MAX_COLUMN):
        raise ValueError(f"column must be None or a whole number from 0 to {MAX_COLUMN} (got {column!r})")
    if role == "tool":
        if not isinstance(tool_call_id, str) or not tool_call_id:
            raise ValueError("a message of role tool needs tool_call_id, the id of the call it answers")
        check_short_text(tool_call_id, "tool_call_id")
    elif tool_call_id is not None:
        raise ValueError(f"only a message of role tool has a tool_call_id (this one's role is {role})")
    if tool_calls is not None:
        if role != "assistant":
            raise ValueError(f"only an assistant message has tool_calls (this one's role is {role})")
        problem = tool_calls_problem(tool_calls)
        if problem:
            raise ValueError(f"tool_calls{problem}")


def tool_calls_problem(tool_calls: Any) -> str | None:
    """None if `tool_calls` is a list in the OpenAI wire form, else what is wrong, starting with
    the path below tool_calls (" must be a list", "[0].function.name must be a string", ...)."""
    if not isinstance(tool_calls, list):
        return " must be a list"
    for i, call in enumerate(tool_calls):
        if not isinstance(call, dict):
            return f"[{i}] must be an object"
        if not isinstance(call.get("id"), str) or not call["id"] or "\x00" in call["id"]:
            return f"[{i}].id must be a non-empty string"
        if call.get("type") != "function":
            return f"[{i}].type must be \"function\""
        function = call.get("function")
        if not isinstance(function, dict):
            return f"[{i}].function must be an object"
        for key in ("name", "arguments"):
            if not isinstance(function.get(key), str):
                return f"[{i}].function.{key} must be a string"
    try:
        dump_json(tool_calls, "tool_calls")
    except ValueError as exc:
        return f" must be plain JSON ({exc})"
    return None


def dump_json(value: Any, what: str) -> str:
    """Compact JSON text, or ValueError saying why it cannot be stored. (json escapes NUL and
    every other control character, so the text is safe in any text column.)"""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{what} must be plain JSON (dict, list, str, finite number, bool, None): {exc}") from None
    check_text(text, what)
    return text


def dump_object(value: Any, what: str) -> str:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a dict (got {type(value).__name__})")
    return dump_json(value, what)


_SIGNATURES = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
               "image/gif": (b"GIF87a", b"GIF89a"), "image/webp": (b"RIFF",)}


def image_problem(image: Any, max_bytes: int) -> str | None:
    """None if `image` is a storable image dict, else what is wrong (for "images[0]" + it)."""
    if not isinstance(image, dict):
        return " must be a dict with mime, data, detail and name"
    mime, data = image.get("mime"), image.get("data")
    if mime not in IMAGE_MIMES:
        return f".mime must be one of {', '.join(IMAGE_MIMES)} (got {mime!r})"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return f".data must be bytes (got {type(data).__name__})"
    data = bytes(data)
    if len(data) > max_bytes:
        return f" is {len(data):,} bytes; the limit is {human_size(max_bytes)} per image"
    # The declared type must be the real one: a model API refuses a mislabeled image.
    if not data.startswith(_SIGNATURES[mime]) or (mime == "image/webp" and data[8:12] != b"WEBP"):
        return f".data is not a {mime.split('/')[1].upper()} image (its first bytes are not)"
    if image.get("detail") not in (*IMAGE_DETAILS, None):
        return f".detail must be auto, low, high or None (got {image.get('detail')!r})"
    name = image.get("name")
    if name is not None and (not isinstance(name, str) or "\x00" in name or len(name) > 255):
        return ".name must be None or a string of at most 255 characters without NUL"
    if isinstance(name, str):
        try:
            check_text(name, "name")
        except ValueError as exc:
            return f".{exc}"
    return None


def check_images(images: Any, max_bytes: int) -> list[dict[str, Any]]:
    """The images as stored: a new list of dicts with bytes data; ValueError naming the problem."""
    if images is None:
        return []
    if not isinstance(images, (list, tuple)):
        raise ValueError(f"images must be a list (got {type(images).__name__})")
    for i, image in enumerate(images):
        problem = image_problem(image, max_bytes)
        if problem:
            raise ValueError(f"images[{i}]{problem}")
    return [{"mime": image["mime"], "data": bytes(image["data"]), "detail": image.get("detail"),
             "name": image.get("name")} for image in images]


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def human_size(size: int) -> str:
    """1,000 bytes, 2 KB, 1.5 MB."""
    if size < 1024:
        return f"{size:,} bytes"
    value, unit = (size / 1024, "KB") if size < 1024 * 1024 else (size / (1024 * 1024), "MB")
    return f"{value:,.1f}".removesuffix(".0") + f" {unit}"


def now() -> float:
    """Now, to the microsecond: exactly what an export's ISO timestamps can carry."""
    return round(time.time(), 6)
