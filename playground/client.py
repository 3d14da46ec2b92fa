"""The only module that talks to `azure-ai-inference`.

Pages and components see `ChatClient`, `ChatStream`, `ModelInfo` and `PlaygroundError`;
every SDK and HTTP detail, and every SDK exception, stays behind this line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from azure.ai.inference import ChatCompletionsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.policies import RetryPolicy

from .settings import Secret

CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Endpoint:
    """Where requests go and how they authenticate. `key_variable` names the setting a user
    fixes when the key is refused."""

    url: str
    label: str
    key: Secret | None = None
    key_variable: str | None = None


@dataclass(frozen=True)
class ChatParams:
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    # Model-specific parameters sent through the SDK's model_extras (extra-parameters: pass-through).
    extras: dict[str, Any] = field(default_factory=dict)

    def to_request(self) -> dict[str, Any]:
        """Keyword arguments for the request; penalties at 0 are the API default and left out."""
        values = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "presence_penalty": self.presence_penalty or None,
            "frequency_penalty": self.frequency_penalty or None,
        }
        values["model_extras"] = self.extras or None
        return {k: v for k, v in values.items() if v is not None}


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
    far, so a Stop or an error mid-way keeps the partial reply. Metrics fill in as it goes."""

    _updates: Any
    started: float
    _parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    cancelled: bool = False
    _endpoint: Endpoint | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[str]:
        try:
            for update in self._updates:
                if update.usage:
                    self.prompt_tokens = update.usage.prompt_tokens
                    self.completion_tokens = update.usage.completion_tokens
                for choice in update.choices or ():
                    if choice.finish_reason:
                        self.finish_reason = _plain(choice.finish_reason)
                    content = choice.delta.content if choice.delta else None
                    if content:
                        if self.first_token_at is None:
                            self.first_token_at = time.monotonic()
                        self._parts.append(content)
                        yield content
        except Exception as exc:
            if not self.cancelled:  # a cancelled stream fails on its closed socket: that is the stop
                raise _translate(exc, self._endpoint, midstream=True) from None
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


class ChatClient:
    """One SDK client per endpoint; build it once and reuse it (it keeps connections alive)."""

    def __init__(self, endpoint: Endpoint, *, read_timeout: float = 120.0, max_retry_after: float = 10.0):
        self.endpoint = endpoint
        # A keyless local endpoint still needs a credential object; it ignores the value.
        key = endpoint.key.reveal() if endpoint.key else "no-key"
        self._read_timeout = read_timeout
        self._sdk = ChatCompletionsClient(
            endpoint=endpoint.url,
            credential=AzureKeyCredential(key),
            retry_policy=BoundedRetryPolicy(max_retry_after, timeout=read_timeout),
            connection_timeout=CONNECT_TIMEOUT,
            read_timeout=read_timeout,
            logging_enable=False,
        )

    def stream_chat(self, messages: Sequence[dict[str, str]], params: ChatParams, model: str | None = None) -> ChatStream:
        """Start a streamed reply. Errors before the first byte raise PlaygroundError here;
        errors mid-stream raise it from the iteration, after the partial text was kept."""
        started = time.monotonic()
        try:
            updates = self._sdk.complete(
                messages=[{"role": m["role"], "content": m["content"]} for m in messages],
                stream=True,
                model=model,
                **params.to_request(),
            )
        except Exception as exc:
            raise _translate(exc, self.endpoint) from None
        return ChatStream(updates, started=started, _endpoint=self.endpoint)

    def model_info(self) -> ModelInfo:
        try:
            info = self._sdk.get_model_info()
        except ResourceNotFoundError:
            raise PlaygroundError(
                f"{self.endpoint.label} has no /info route, so it cannot describe its model.",
                status=404, code="no_info_route",
            ) from None
        except Exception as exc:
            raise _translate(exc, self.endpoint) from None
        return ModelInfo(name=info.model_name, model_type=_plain(info.model_type), provider=info.model_provider_name)

    def close(self) -> None:
        self._sdk.close()


def _plain(value: Any) -> str:
    """The wire string of an SDK enum value (the SDK parses known strings into enums)."""
    return str(getattr(value, "value", value))


def _service_message(exc: HttpResponseError) -> tuple[str | None, str]:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or exc.reason or str(exc)
    return code, message


def _translate(exc: Exception, endpoint: Endpoint | None, midstream: bool = False) -> PlaygroundError:
    label = endpoint.label if endpoint else "The endpoint"
    if isinstance(exc, PlaygroundError):
        return exc
    if isinstance(exc, ClientAuthenticationError) or getattr(exc, "status_code", None) in (401, 403):
        fix = f" Check {endpoint.key_variable}." if endpoint and endpoint.key_variable else ""
        return PlaygroundError(f"{label} refused the credentials (HTTP {exc.status_code}).{fix}",
                               status=exc.status_code, code="unauthorized")
    if isinstance(exc, HttpResponseError) and (exc.status_code or 0) >= 400:
        code, message = _service_message(exc)
        retry_after = None
        if exc.response is not None and exc.response.headers.get("Retry-After"):
            try:
                retry_after = float(exc.response.headers["Retry-After"])
            except ValueError:
                pass
        text = f"{label} answered HTTP {exc.status_code}: {message}"
        if retry_after is not None:
            text += f" Retry after {retry_after:.0f} s."
        return PlaygroundError(text, status=exc.status_code, code=code, retry_after=retry_after)
    if midstream and isinstance(exc, ValueError):
        return PlaygroundError(f"{label} sent a malformed stream ({exc}); the part that arrived is kept.",
                               code="malformed_stream")
    if midstream or "Response ended prematurely" in str(exc):
        return PlaygroundError(f"The connection to {label} broke off mid-reply; the part that arrived is kept.",
                               code="stream_interrupted")
    if isinstance(exc, ServiceRequestError):
        return PlaygroundError(f"Cannot reach {label} at {endpoint.url if endpoint else '?'}: is it running?",
                               code="unreachable")
    if isinstance(exc, ServiceResponseError):
        return PlaygroundError(f"{label} stopped answering (no data for a while).", code="timeout")
    return PlaygroundError(f"Unexpected error from {label}: {exc}", code="unexpected")
