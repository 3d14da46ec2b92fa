"""The only module that talks to `azure-ai-inference`.

Pages and components see `ChatClient`, `ChatStream`, `Reply`, `ModelInfo` and `PlaygroundError`;
every SDK and HTTP detail, and every SDK exception, stays behind this line.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import JsonSchemaFormat
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.policies import RetryPolicy

from .settings import Secret

CONNECT_TIMEOUT = 10.0
ENTRA_SCOPE = "https://ml.azure.com/.default"


@dataclass(frozen=True)
class Endpoint:
    """Where requests go and how they authenticate. `key_variable` names the setting a user
    fixes when the key is refused."""

    url: str
    label: str
    key: Secret | None = None
    key_variable: str | None = None
    # No key: authenticate with Microsoft Entra ID (DefaultAzureCredential) instead.
    entra: bool = False


@dataclass(frozen=True)
class ChatParams:
    """The request's parameters. `None` means "not sent": the service's default applies."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # None/"text", "json_object", or {"name", "schema", "description"?, "strict"?} for a JSON schema.
    response_format: str | dict[str, Any] | None = None
    # Model-specific parameters sent through the SDK's model_extras (extra-parameters: pass-through).
    extras: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON fields these parameters add to the request body, exactly as sent (without
        `extras`, which the SDK merges into the body root). Penalties at 0 are the API default
        and left out, so the request stays minimal."""
        values: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "presence_penalty": self.presence_penalty or None,
            "frequency_penalty": self.frequency_penalty or None,
            "stop": list(self.stop) or None,
            "seed": self.seed,
        }
        if self.response_format == "json_object":
            values["response_format"] = {"type": "json_object"}
        elif isinstance(self.response_format, dict):
            values["response_format"] = {"type": "json_schema", "json_schema": self.response_format}
        return {k: v for k, v in values.items() if v is not None}

    def to_request(self) -> dict[str, Any]:
        """Keyword arguments for the SDK's `complete()` that produce `body()` plus `extras`."""
        kwargs = {k: v for k, v in self.body().items() if k != "response_format"}
        if self.response_format == "json_object":
            kwargs["response_format"] = "json_object"
        elif isinstance(self.response_format, dict):
            kwargs["response_format"] = JsonSchemaFormat(**self.response_format)
        if self.extras:
            kwargs["model_extras"] = dict(self.extras)
        return kwargs


@dataclass(frozen=True)
class ModelInfo:
    name: str
    model_type: str
    provider: str


class PlaygroundError(Exception):
    """An error meant for the user: `message` says what happened and what to do."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after


class BoundedRetryPolicy(RetryPolicy):
    """azure-core's policy, except that it gives up at once when the service asks to wait
    longer than `max_retry_after` seconds (GitHub's daily 429 says hours)."""

    def __init__(self, max_retry_after: float, **kwargs: Any):
        super().__init__(retry_total=2, retry_backoff_factor=0.5, retry_backoff_max=4, **kwargs)
        self.max_retry_after = max_retry_after

    def is_retry(self, settings: dict[str, Any], response: Any) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after is not None and retry_after > self.max_retry_after:
            return False
        return super().is_retry(settings, response)


@dataclass
class ChatStream:
    """A reply as it streams: iterate for text chunks. `text` holds everything received so
    far, so a Stop or an error mid-way keeps the partial reply. Metrics fill in as it goes.
    `logprobs` collects `{token, logprob, top_logprobs}` per token when the reply carries them.
    Only the first choice is iterated; further choices (n > 1) are kept in `choice_texts`."""

    _updates: Any
    started: float
    _parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    cancelled: bool = False
    _context: "_Context | None" = field(default=None, repr=False)
    logprobs: list[dict[str, Any]] = field(default_factory=list)
    _other_parts: dict[int, list[str]] = field(default_factory=dict, repr=False)

    def __iter__(self) -> Iterator[str]:
        try:
            for update in self._updates:
                if update.usage:
                    self.prompt_tokens = update.usage.prompt_tokens
                    self.completion_tokens = update.usage.completion_tokens
                for choice in update.choices or ():
                    content = choice.delta.content if choice.delta else None
                    if choice.index:  # another choice of n > 1: kept aside, not shown as it streams
                        if content:
                            self._other_parts.setdefault(choice.index, []).append(content)
                        continue
                    if choice.finish_reason:
                        self.finish_reason = _plain(choice.finish_reason)
                    self.logprobs.extend(_logprob_entries(choice.get("logprobs")))
                    if content:
                        if self.first_token_at is None:
                            self.first_token_at = time.monotonic()
                        self._parts.append(content)
                        yield content
        except Exception as exc:
            if not self.cancelled:  # a cancelled stream fails on its closed socket: that is the stop
                raise _translate(exc, self._context, midstream=True) from None
        finally:
            self.finished_at = time.monotonic()
            self.close()

    def close(self) -> None:
        self._updates.close()

    def cancel(self) -> None:
        """Stop receiving (from any thread); iteration ends quietly with what arrived."""
        self.cancelled = True
        self.close()

    @property
    def text(self) -> str:
        return "".join(self._parts)

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


@dataclass(frozen=True)
class Reply:
    """A whole (non-streamed) reply: one entry per choice in `texts`, `finish_reasons` and
    `logprobs` (None for a choice without them), ordered by choice index."""

    texts: tuple[str, ...]
    finish_reasons: tuple[str | None, ...]
    logprobs: tuple[list[dict[str, Any]] | None, ...]
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    elapsed: float | None = None

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""

    @property
    def finish_reason(self) -> str | None:
        return self.finish_reasons[0] if self.finish_reasons else None


def _logprob_entries(raw: Any) -> list[dict[str, Any]]:
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


class ChatClient:
    """One SDK client per endpoint; build it once and reuse it (it keeps connections alive)."""

    def __init__(self, endpoint: Endpoint, *, read_timeout: float = 120.0, max_retry_after: float = 10.0):
        self.endpoint = endpoint
        credential_options: dict[str, Any] = {}
        if endpoint.entra and not endpoint.key:
            from azure.identity import DefaultAzureCredential  # only Entra users pay for the import

            credential: Any = DefaultAzureCredential(exclude_interactive_browser_credential=True)
            credential_options["credential_scopes"] = [ENTRA_SCOPE]
        else:
            # A keyless local endpoint still needs a credential object; it ignores the value.
            credential = AzureKeyCredential(endpoint.key.reveal() if endpoint.key else "no-key")
        self._sdk = ChatCompletionsClient(
            endpoint=endpoint.url,
            credential=credential,
            **credential_options,
            retry_policy=BoundedRetryPolicy(max_retry_after, timeout=read_timeout),
            connection_timeout=CONNECT_TIMEOUT,
            read_timeout=read_timeout,
            logging_enable=False,
        )

    def stream_chat(
        self,
        messages: Sequence[dict[str, str]],
        params: ChatParams,
        model: str | None = None,
        on_headers: Callable[[Mapping[str, str]], None] | None = None,
    ) -> ChatStream:
        """Start a streamed reply. Errors before the first byte raise PlaygroundError here;
        errors mid-stream raise it from the iteration, after the partial text was kept.
        `on_headers` sees every response's headers (rate-limit counters)."""
        started = time.monotonic()
        updates, context = self._complete(messages, params, model, on_headers, stream=True)
        return ChatStream(updates, started=started, _context=context)

    def complete_chat(
        self,
        messages: Sequence[dict[str, str]],
        params: ChatParams,
        model: str | None = None,
        on_headers: Callable[[Mapping[str, str]], None] | None = None,
    ) -> Reply:
        """A whole reply in one response, for what cannot stream (best_of) or is shown all at
        once (n > 1): every choice's text, finish reason and logprobs, and the usage. Errors
        raise PlaygroundError, translated as in `stream_chat`."""
        started = time.monotonic()
        result, _ = self._complete(messages, params, model, on_headers, stream=False)
        choices = sorted(result.choices or (), key=lambda choice: choice.index or 0)
        usage = result.usage
        return Reply(
            texts=tuple((choice.message.content if choice.message else None) or "" for choice in choices),
            finish_reasons=tuple(_plain(choice.finish_reason) if choice.finish_reason else None for choice in choices),
            logprobs=tuple(_logprob_entries(choice.get("logprobs")) if choice.get("logprobs") else None
                           for choice in choices),
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            elapsed=time.monotonic() - started,
        )

    def _complete(self, messages: Sequence[dict[str, str]], params: ChatParams, model: str | None,
                  on_headers: Callable[[Mapping[str, str]], None] | None, stream: bool) -> tuple[Any, "_Context"]:
        """The one SDK call behind both reply shapes; SDK errors come out as PlaygroundError."""
        context = _Context(self.endpoint, model, sum(len(m["content"]) for m in messages))
        hook = (lambda response: on_headers(response.http_response.headers)) if on_headers else None
        try:
            result = self._sdk.complete(
                messages=[{"role": m["role"], "content": m["content"]} for m in messages],
                stream=stream,
                model=model,
                raw_response_hook=hook,
                **params.to_request(),
            )
        except Exception as exc:
            raise _translate(exc, context) from None
        return result, context

    def model_info(self) -> ModelInfo:
        try:
            info = self._sdk.get_model_info()
        except ResourceNotFoundError:
            raise PlaygroundError(
                f"{self.endpoint.label} has no /info route, so it cannot describe its model.",
                status=404, code="no_info_route",
            ) from None
        except Exception as exc:
            raise _translate(exc, _Context(self.endpoint)) from None
        return ModelInfo(name=info.model_name, model_type=_plain(info.model_type), provider=info.model_provider_name)

    def close(self) -> None:
        self._sdk.close()


def _plain(value: Any) -> str:
    """The wire string of an SDK enum value (the SDK parses known strings into enums)."""
    return str(getattr(value, "value", value))


@dataclass(frozen=True)
class _Context:
    """What an error message may mention: where the request went and roughly how big it was."""

    endpoint: Endpoint | None = None
    model: str | None = None
    prompt_chars: int = 0

    @property
    def label(self) -> str:
        return self.endpoint.label if self.endpoint else "The endpoint"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _retry_after(exc: HttpResponseError) -> float | None:
    headers = exc.response.headers if exc.response is not None else {}
    try:
        return float(headers.get("Retry-After") or headers.get("retry-after") or "")
    except ValueError:
        return None


def _filtered_categories(innererror: Mapping[str, Any] | None) -> list[str]:
    result = (innererror or {}).get("content_filter_result") or {}
    return sorted(name for name, verdict in result.items()
                  if isinstance(verdict, dict) and (verdict.get("filtered") or verdict.get("detected")))


def _http_message(exc: HttpResponseError, ctx: _Context) -> PlaygroundError:
    status = exc.status_code
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    detail = getattr(error, "message", None) or exc.reason or "no details"
    label = ctx.label
    retry_after = _retry_after(exc)

    if code == "content_filter":
        categories = _filtered_categories(getattr(error, "innererror", None))
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
            over = f" This request is about {estimate} tokens, roughly {max(estimate - limit, 0)} over." if estimate else ""
            text = f"The request is larger than {label} accepts for this model: at most {limit} tokens.{over} Shorten the conversation or start a new chat."
        else:
            text = f"The request is too large for {label}: {detail}"
    elif status == 429:
        match = re.search(r"Rate limit of (\d+) per (\d+)s exceeded for (\w+)", detail)
        if match:
            count, window = int(match.group(1)), int(match.group(2))
            per = {60: "minute", 86400: "day"}.get(window, f"{window} s")
            which = f"the limit of {count} requests per {per} ({match.group(3)})"
        else:
            which = "a rate limit"
        when = f" Try again in {_duration(retry_after)}." if retry_after is not None else " Try again later."
        text = f"{label} is throttling requests: {which} was reached.{when}"
    elif status >= 500:
        text = f"{label} had a server error (HTTP {status}): {detail}. Retry in a moment."
    else:
        text = f"{label} rejected the request (HTTP {status}): {detail}"
    return PlaygroundError(text, status=status, code=code, retry_after=retry_after)


def _translate(exc: Exception, ctx: _Context | None, midstream: bool = False) -> PlaygroundError:
    ctx = ctx or _Context()
    label = ctx.label
    if isinstance(exc, PlaygroundError):
        return exc
    if isinstance(exc, HttpResponseError) and (exc.status_code or 0) >= 400:
        return _http_message(exc, ctx)
    if midstream and isinstance(exc, ValueError):
        return PlaygroundError(f"{label} sent a malformed stream ({exc}); the part that arrived is kept.",
                               code="malformed_stream")
    if isinstance(exc, ServiceResponseError) or "timed out" in str(exc).lower():
        return PlaygroundError(f"{label} stopped answering (no data within the time limit). "
                               "The part that arrived is kept; retry, or raise PLAYGROUND_REQUEST_TIMEOUT.",
                               code="timeout")
    if midstream or "Response ended prematurely" in str(exc):
        return PlaygroundError(f"The connection to {label} broke off mid-reply; the part that arrived is kept.",
                               code="stream_interrupted")
    if isinstance(exc, ServiceRequestError):
        url = ctx.endpoint.url if ctx.endpoint else "?"
        return PlaygroundError(f"Cannot reach {label} at {url}: is it running, and is the address right?",
                               code="unreachable")
    if type(exc).__name__ == "CredentialUnavailableError" or "credential" in type(exc).__name__.lower():
        return PlaygroundError(f"No Microsoft Entra ID sign-in is available for {label}. Set AZURE_INFERENCE_CREDENTIAL "
                               "to the endpoint's key, or sign in with `az login`.", code="no_credential")
    return PlaygroundError(f"Unexpected error from {label}: {exc}", code="unexpected")
