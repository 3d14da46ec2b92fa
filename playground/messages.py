"""One message model for Chat, Compare, the store and the exports.

A message is a role plus content parts: text, and next to it images (user messages), tool calls
(assistant messages) or the id of the call a tool result answers (tool messages). Replies carry
metrics, built once by `reply_metrics`, and a status given by one rule, `reply_status`."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from .transports.base import ChatStream
from .types import Reply

ROLES = ("system", "user", "assistant", "tool")
COMPLETE, PARTIAL = "complete", "partial"
# Finish reasons that mean the model did not end the reply itself.
CUT_SHORT = frozenset({"stopped", "error", "content_filter"})
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "gif")  # what the file pickers offer
DETAILS = ("auto", "low", "high")  # an image part's `detail`; None: not sent


def image_type(data: bytes) -> str | None:
    """The image type the bytes themselves declare (their magic number), or None. The file's
    name and the browser's guess are not trusted: a renamed file must not be sent as an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class ImageRejected(ValueError):
    """An attached file that cannot be sent as an image; the message says which and why."""


MB = 1024 * 1024  # as Streamlit's upload limits count


def _megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB"


def load_image(name: str, data: bytes, *, max_bytes: int, detail: str | None = None) -> Image:
    """An attached file as an Image, or ImageRejected naming the file and the rule it breaks."""
    if detail is not None and detail not in DETAILS:
        raise ValueError(f"detail must be one of {DETAILS} or None, got {detail!r}.")
    if len(data) > max_bytes:
        raise ImageRejected(f"{name} is {_megabytes(len(data))}: images may be at most "
                            f"{_megabytes(max_bytes)} each.")
    mime = image_type(data)
    if mime is None:
        raise ImageRejected(f"{name} is not a PNG, JPEG, WebP or GIF image (judged by its content, "
                            "not its name).")
    return Image(mime, data, detail, name)


@dataclass(frozen=True)
class Image:
    mime: str
    data: bytes
    detail: str | None = None  # "auto" | "low" | "high"; None: not sent
    name: str | None = None

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def part(self) -> dict[str, Any]:
        """The `image_url` content part both APIs document."""
        image_url: dict[str, Any] = {"url": self.data_url}
        if self.detail:
            image_url["detail"] = self.detail
        return {"type": "image_url", "image_url": image_url}


@dataclass
class Message:
    role: str
    content: str = ""
    images: tuple[Image, ...] = ()
    tool_calls: tuple[dict[str, Any], ...] = ()  # wire form: {"id", "type": "function", "function": {...}}
    tool_call_id: str | None = None
    metrics: dict[str, Any] | None = None
    status: str = COMPLETE
    column: int | None = None  # the Compare column that wrote a reply; None in a chat
    id: int | None = None  # the store's id, once saved
    created: float = 0.0  # when the store saved it (Unix time)

    def wire(self) -> dict[str, Any]:
        """The message as the chat APIs take it (no metrics, no ids)."""
        out: dict[str, Any] = {"role": self.role}
        if self.images:
            parts: list[dict[str, Any]] = [{"type": "text", "text": self.content}] if self.content else []
            out["content"] = parts + [image.part() for image in self.images]
        elif self.tool_calls and not self.content:
            out["content"] = None
        else:
            out["content"] = self.content
        if self.tool_calls:
            out["tool_calls"] = [dict(call) for call in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out

    def stored(self) -> dict[str, Any]:
        """Keyword arguments for the store's `add_message` (after the conversation id)."""
        fields: dict[str, Any] = {"role": self.role, "content": self.content, "metrics": self.metrics,
                                  "status": self.status, "column": self.column}
        if self.tool_calls:
            fields["tool_calls"] = [dict(call) for call in self.tool_calls]
        if self.tool_call_id is not None:
            fields["tool_call_id"] = self.tool_call_id
        if self.images:
            fields["images"] = [{"mime": i.mime, "data": i.data, "detail": i.detail, "name": i.name}
                                for i in self.images]
        return fields

    @property
    def sendable(self) -> bool:
        """An empty reply (an error before any text) is not sent back to the model."""
        return self.role != "assistant" or bool(self.content or self.tool_calls)


def reply_status(finish_reason: str | None, error: str | None) -> str:
    """A reply is complete when the model ended it (stop, length, tool_calls); cut short by
    Stop, an error or the content filter, it is partial. Chat, Compare and exports share this."""
    return PARTIAL if error or finish_reason in CUT_SHORT else COMPLETE


FILTERED = "The service's content filter cut this reply short."


def json_check(text: str) -> dict[str, Any]:
    """Whether a reply asked for as JSON parses, and if not, where it breaks."""
    try:
        json.loads(text)
    except ValueError as exc:
        return {"json_valid": False, "json_error": str(exc)}
    return {"json_valid": True}


def reply_metrics(source: ChatStream | Reply | None, finish_reason: str | None, error: str | None = None, *,
                  label: str | None = None, expect_json: bool = False) -> dict[str, Any]:
    """The metrics every reply carries, from a stream (however it ended), a whole reply, or
    nothing (an error before the first byte)."""
    if finish_reason == "content_filter" and not error:
        error = FILTERED
    metrics: dict[str, Any] = {"prompt_tokens": None, "completion_tokens": None, "usage_reported": False,
                               "finish_reason": finish_reason, "ttft_s": None, "tokens_per_s": None,
                               "error": error, "logprobs": None}
    text = ""
    if isinstance(source, ChatStream):
        text = source.text
        reported = source.completion_tokens is not None
        metrics.update(prompt_tokens=source.prompt_tokens, usage_reported=reported,
                       completion_tokens=source.completion_tokens if reported else source.chunks,
                       ttft_s=source.time_to_first_token, tokens_per_s=source.tokens_per_second,
                       logprobs=source.logprobs or None)
    elif isinstance(source, Reply):
        text = source.text
        metrics.update(prompt_tokens=source.prompt_tokens, completion_tokens=source.completion_tokens,
                       usage_reported=source.completion_tokens is not None,
                       ttft_s=source.elapsed,  # nothing arrives before the whole reply
                       logprobs=source.logprobs[0] if source.logprobs else None,
                       other_choices=list(source.texts[1:]) or None)
    if label:
        metrics["model"] = label
    if expect_json and source is not None and finish_reason not in ("tool_calls",):
        metrics.update(json_check(text))
    return metrics


def reply_message(source: ChatStream | Reply | None, finish_reason: str | None, error: str | None = None, *,
                  label: str | None = None, expect_json: bool = False, column: int | None = None) -> Message:
    """A finished (or cut-short) reply as a message: text, tool calls, metrics and status."""
    return Message(
        "assistant",
        source.text if source is not None else "",
        tool_calls=tuple(source.tool_calls) if source is not None else (),
        metrics=reply_metrics(source, finish_reason, error, label=label, expect_json=expect_json),
        status=reply_status(finish_reason, error),
        column=column,
    )


def metrics_line(metrics: dict[str, Any]) -> str:
    """Tokens, finish reason, first-token time and speed, as under a reply in the chat."""
    parts = []
    prompt, completion = metrics.get("prompt_tokens"), metrics.get("completion_tokens")
    if completion is not None:
        approx = "" if metrics.get("usage_reported", True) else "~"
        head = f"{prompt} prompt + " if prompt is not None else ""
        parts.append(f"{head}{approx}{completion} completion tokens")
    parts.append(f"finish: {metrics.get('finish_reason') or 'unknown'}")
    if isinstance(metrics.get("ttft_s"), (int, float)):
        parts.append(f"first token {metrics['ttft_s']:.2f} s")
    if isinstance(metrics.get("tokens_per_s"), (int, float)):
        parts.append(f"{metrics['tokens_per_s']:.1f} tokens/s")
    if metrics.get("json_valid") is not None:
        parts.append("valid JSON" if metrics["json_valid"] else "NOT valid JSON")
    return " · ".join(parts)


def system_message(prompt: str | None) -> list[Message]:
    system = (prompt or "").strip()
    return [Message("system", system)] if system else []


def wire(messages: list[Message]) -> list[dict[str, Any]]:
    return [message.wire() for message in messages if message.sendable]


__all__ = ["COMPLETE", "DETAILS", "PARTIAL", "ROLES", "IMAGE_EXTENSIONS", "IMAGE_TYPES", "Image", "ImageRejected",
           "Message", "image_type", "json_check", "load_image",
           "metrics_line", "reply_message", "reply_metrics", "reply_status", "system_message", "wire"]
