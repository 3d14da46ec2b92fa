"""What every transport shares: the interface, the stream a reply arrives in, and the words
of the errors users see. Each adapter module (one per SDK) only maps its SDK onto these."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from ..errors import PlaygroundError
from ..types import ChatParams, Endpoint, ModelEntry, ModelInfo, Reply

CONNECT_TIMEOUT = 10.0
HeadersHook = Callable[[Mapping[str, str]], None]
WireMessage = Mapping[str, Any]  # {"role", "content": str | [parts], "tool_calls"?, "tool_call_id"?}


class Transport(Protocol):
    """The four things the playground asks of an endpoint. Errors come out as PlaygroundError."""

    endpoint: Endpoint

    def stream_chat(self, messages: Sequence[WireMessage], params: ChatParams, model: str | None = None,
                    on_headers: HeadersHook | None = None) -> ChatStream: ...

    def complete_chat(self, messages: Sequence[WireMessage], params: ChatParams, model: str | None = None,
                      on_headers: HeadersHook | None = None) -> Reply: ...

    def model_info(self) -> ModelInfo: ...

    def list_models(self) -> list[ModelEntry]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Delta:
    """One streamed update, whatever SDK read it. `tool_calls` holds partial calls as the
    wire sends them: {"index", "id"?, "name"?, "arguments"?} (arguments arrive in pieces)."""

    index: int = 0
    content: str | None = None
    finish_reason: str | None = None
    logprobs: tuple[dict[str, Any], ...] = ()
    tool_calls: tuple[dict[str, Any], ...] = ()
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass
class ChatStream:
    """A reply as it streams: iterate for text chunks (an empty one when only a tool call grew,
    see `tool_calls`). `text` holds everything received so
    far, so a Stop or an error mid-way keeps the partial reply. Metrics fill in as it goes.
    `logprobs` collects `{token, logprob, top_logprobs}` per token when the reply carries them.
    Only the first choice is iterated; further choices (n > 1) are kept in `choice_texts`."""

    _deltas: Iterator[Delta]
    started: float
    _close: Callable[[], None] = lambda: None
    # Turns an exception raised mid-stream into the user's error.
    _translate: Callable[[Exception], PlaygroundError] | None = field(default=None, repr=False)
    _parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    cancelled: bool = False
    logprobs: list[dict[str, Any]] = field(default_factory=list)
    _other_parts: dict[int, list[str]] = field(default_factory=dict, repr=False)
    _tool_calls: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)

    def __iter__(self) -> Iterator[str]:
        try:
            for delta in self._deltas:
                if delta.completion_tokens is not None:
                    self.prompt_tokens = delta.prompt_tokens
                    self.completion_tokens = delta.completion_tokens
                if delta.index:  # another choice of n > 1: kept aside, not shown as it streams
                    if delta.content:
                        self._other_parts.setdefault(delta.index, []).append(delta.content)
                    continue
                if delta.finish_reason:
                    self.finish_reason = delta.finish_reason
                self.logprobs.extend(delta.logprobs)
                for piece in delta.tool_calls:
                    self._add_tool_call_piece(piece)
                if delta.content:
                    if self.first_token_at is None:
                        self.first_token_at = time.monotonic()
                    self._parts.append(delta.content)
                    yield delta.content
                elif delta.tool_calls:
                    yield ""  # no text, but a call grew: something to redraw
        except Exception as exc:
            if not self.cancelled:  # a cancelled stream fails on its closed socket: that is the stop
                if self._translate is None:
                    raise
                raise self._translate(exc) from None
        finally:
            self.finished_at = time.monotonic()
            self.close()

    def _add_tool_call_piece(self, piece: Mapping[str, Any]) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
        call = self._tool_calls.setdefault(int(piece.get("index") or 0),
                                           {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
        if piece.get("id"):
            call["id"] = piece["id"]
        if piece.get("name"):
            call["function"]["name"] += piece["name"]
        if piece.get("arguments"):
            call["function"]["arguments"] += piece["arguments"]

    def close(self) -> None:
        self._close()

    def cancel(self) -> None:
        """Stop receiving (from any thread); iteration ends quietly with what arrived."""
        self.cancelled = True
        self.close()

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def tool_calls(self) -> tuple[dict[str, Any], ...]:
        """The first choice's tool calls, reassembled from their streamed pieces."""
        return tuple(call for _, call in sorted(self._tool_calls.items()))

    @property
    def choice_texts(self) -> dict[int, str]:
        """Every choice's text so far by index (0 is `text`)."""
        return {0: self.text, **{index: "".join(parts) for index, parts in sorted(self._other_parts.items())}}

    @property
    def chunks(self) -> int:
        return len(self._parts)

    @property
    def time_to_first_token(self) -> float | None:
        return None if self.first_token_at is None else self.first_token_at - self.started

    @property
    def tokens_per_second(self) -> float | None:
        if not (self.completion_tokens and self.first_token_at and self.finished_at):
            return None
        # Tokens after the first, over the time after the first: decode speed, not prompt time.
        elapsed = self.finished_at - self.first_token_at
        return (self.completion_tokens - 1) / elapsed if elapsed > 0 and self.completion_tokens > 1 else None


def logprob_entries(raw: Any) -> list[dict[str, Any]]:
    """`{token, logprob, top_logprobs: [{token, logprob}]}` per token from a choice's raw
    `logprobs` (`{"content": [...]}` or None), alternatives most likely first."""
    if not isinstance(raw, Mapping):
        return []
    entries = []
    for item in raw.get("content") or ():
        if not isinstance(item, Mapping):
            continue
        top = [{"token": alt.get("token"), "logprob": alt.get("logprob")}
               for alt in item.get("top_logprobs") or () if isinstance(alt, Mapping)]
        top.sort(key=lambda alt: -alt["logprob"] if isinstance(alt["logprob"], (int, float)) else math.inf)
        entries.append({"token": item.get("token"), "logprob": item.get("logprob"), "top_logprobs": top})
    return entries


# -- rate-limit counters, whichever provider sends them ------------------------------------------

@dataclass(frozen=True)
class RateLimits:
    """What `x-ratelimit-*` response headers say (Azure OpenAI, Foundry, OpenAI, GitHub Models):
    requests and tokens left in the current window, the window's limits, and the seconds until
    each counter resets. A field is None when its header is missing or unreadable."""

    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    limit_requests: int | None = None
    limit_tokens: int | None = None
    reset_requests: float | None = None
    reset_tokens: float | None = None


_RESET_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def reset_seconds(value: str | None) -> float | None:
    """Seconds from a reset value: OpenAI's Go-style durations ("1s", "6m0s", "20ms", "1h2m3.5s")
    or plain seconds ("60", "0.5")."""
    text = (value or "").strip().lower()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    parts = _RESET_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None  # not a duration we can read: better nothing than a wrong countdown
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(number) * scale[unit] for number, unit in parts)


def rate_limits(headers: Mapping[str, str] | None) -> RateLimits | None:
    """The rate-limit counters in a response's headers, or None when it carries none."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if not any(f"x-ratelimit-{what}-{unit}" in lowered
               for what in ("remaining", "limit", "reset") for unit in ("requests", "tokens")):
        return None  # e.g. only GitHub's x-ratelimit-type: no counters to show

    def count(name: str) -> int | None:
        try:
            return int(float(lowered[name]))
        except (KeyError, ValueError):
            return None

    return RateLimits(
        remaining_requests=count("x-ratelimit-remaining-requests"),
        remaining_tokens=count("x-ratelimit-remaining-tokens"),
        limit_requests=count("x-ratelimit-limit-requests"),
        limit_tokens=count("x-ratelimit-limit-tokens"),
        reset_requests=reset_seconds(lowered.get("x-ratelimit-reset-requests")),
        reset_tokens=reset_seconds(lowered.get("x-ratelimit-reset-tokens")),
    )


# -- the words of errors, shared by every transport ----------------------------------------------

@dataclass(frozen=True)
class Context:
    """What an error message may mention: where the request went and roughly how big it was."""

    endpoint: Endpoint | None = None
    model: str | None = None
    prompt_chars: int = 0

    @property
    def label(self) -> str:
        return self.endpoint.label if self.endpoint else "The endpoint"


def prompt_chars(messages: Sequence[WireMessage]) -> int:
    total = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(part.get("text") or "") for part in content if isinstance(part, Mapping))
    return total


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """How long a service asks to wait: Azure's retry-after-ms (or x-ms-retry-after-ms), else
    Retry-After, in seconds or as an HTTP date (RFC 9110, section 10.2.3)."""
    named = {name.lower(): value.strip() for name, value in (headers or {}).items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        try:
            return max(0.0, float(named[name]) / 1000)
        except (KeyError, ValueError):
            pass
    value = named.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # not an HTTP date, which is always GMT
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def filtered_categories(innererror: Mapping[str, Any] | None) -> list[str]:
    result = (innererror or {}).get("content_filter_result") or {}
    return sorted(name for name, verdict in result.items()
                  if isinstance(verdict, dict) and (verdict.get("filtered") or verdict.get("detected")))


def retirement(headers: Mapping[str, str] | None, url: str = "") -> str | None:
    """The plain sentence for a service that says it is gone (RFC 8594 `Sunset`, RFC 9745
    `Deprecation`, or GitHub Models' retired routes), or None for a live one."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    sunset, link = headers.get("sunset"), headers.get("link", "")
    github = "models.github.ai" in url or "models.inference.ai.azure.com" in url
    if not (sunset or headers.get("deprecation") or github):
        return None
    when = ""
    if sunset:
        try:
            when = f" on {parsedate_to_datetime(sunset).date().isoformat()}"
        except (TypeError, ValueError):
            when = f" ({sunset})"
    elif github:
        when = " on 2026-07-30"
    notice = re.search(r"<([^>]+)>\s*;\s*rel=\"?(?:deprecation|sunset)", link)
    more = f" Notice: {notice.group(1)}." if notice else ""
    name = "GitHub Models" if github else "This service"
    return (f"{name} was retired{when}.{more} Use a Microsoft Foundry endpoint (AZURE_OPENAI_ENDPOINT), "
            "any OpenAI-compatible server (OPENAI_BASE_URL), or the embedded model instead.")


def http_error(status: int, code: str | None, detail: str, innererror: Mapping[str, Any] | None,
               headers: Mapping[str, str] | None, ctx: Context) -> PlaygroundError:
    """An HTTP error status as the user's error, the same words whichever SDK saw it."""
    label = ctx.label
    retry_after = retry_after_seconds(headers)
    retired = retirement(headers, ctx.endpoint.url if ctx.endpoint else "") if status in (403, 404, 410) else None
    if retired:
        return PlaygroundError(retired, status=status, code="retired")
    if code == "content_filter":
        categories = filtered_categories(innererror)
        which = f" (categories: {', '.join(categories)})" if categories else ""
        text = f"{label} filtered the prompt under its content policy{which}. Rephrase it and send again."
    elif status in (401, 403):
        fix = f" Check {ctx.endpoint.key_variable}." if ctx.endpoint and ctx.endpoint.key_variable else ""
        verb = "refused the credentials" if status == 401 else "does not allow this credential to use it"
        text = f"{label} {verb} (HTTP {status}).{fix}"
    elif status == 404:
        what = f"the model '{ctx.model}'" if ctx.model else "this route"
        text = f"{label} does not know {what} (HTTP 404). Check the model id and the endpoint URL: {detail}"
    elif status == 413 or code == "tokens_limit_reached":
        match = re.search(r"Max size: (\d+) tokens", detail)
        estimate = ctx.prompt_chars // 4
        if match:
            limit = int(match.group(1))
            over = (f" This request is about {estimate} tokens, roughly {max(estimate - limit, 0)} over."
                    if estimate else "")
            text = (f"The request is larger than {label} accepts for this model: at most {limit} tokens.{over} "
                    "Shorten the conversation or start a new chat.")
        else:
            text = f"The request is too large for {label}: {detail}"
    elif status == 429:
        match = re.search(r"Rate limit of (\d+) per (\d+)s exceeded for (\w+)", detail)
        if match:
            count, window = int(match.group(1)), int(match.group(2))
            per = {60: "minute", 86400: "day"}.get(window, f"{window} s")
            which = f"the limit of {count} requests per {per} ({match.group(3)})"
        elif "token" in detail.lower():
            which = "a token rate limit"
        else:
            which = "a rate limit"
        when = f" Try again in {duration(retry_after)}." if retry_after is not None else " Try again later."
        text = f"{label} is throttling requests: {which} was reached.{when}"
    elif status >= 500:
        text = f"{label} had a server error (HTTP {status}): {detail.rstrip('.')}. Retry in a moment."
    else:
        text = f"{label} rejected the request (HTTP {status}): {detail}"
    return PlaygroundError(text, status=status, code=code, retry_after=retry_after)


def stream_broke(ctx: Context) -> PlaygroundError:
    return PlaygroundError(f"The connection to {ctx.label} broke off mid-reply; the part that arrived is kept.",
                           code="stream_interrupted")


def malformed_stream(ctx: Context, exc: Exception) -> PlaygroundError:
    return PlaygroundError(f"{ctx.label} sent a malformed stream ({exc}); the part that arrived is kept.",
                           code="malformed_stream")


def timed_out(ctx: Context) -> PlaygroundError:
    return PlaygroundError(f"{ctx.label} stopped answering (no data within the time limit). "
                           "The part that arrived is kept; retry, or raise PLAYGROUND_REQUEST_TIMEOUT.",
                           code="timeout")


def unreachable(ctx: Context) -> PlaygroundError:
    url = ctx.endpoint.url if ctx.endpoint else "?"
    return PlaygroundError(f"Cannot reach {ctx.label} at {url}: is it running, and is the address right?",
                           code="unreachable")


def no_entra_credential(ctx: Context, key_variable: str) -> PlaygroundError:
    return PlaygroundError(f"No Microsoft Entra ID sign-in is available for {ctx.label}. Set {key_variable} "
                           "to the endpoint's key, or sign in with `az login`.", code="no_credential")
