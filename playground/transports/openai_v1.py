"""The OpenAI v1 API through the stable `openai` SDK: Microsoft Foundry and Azure OpenAI
(`https://<resource>.openai.azure.com/openai/v1/`, `https://<resource>.services.ai.azure.com/openai/v1/`),
OpenAI itself, and OpenAI-compatible servers (vLLM, Ollama `/v1`, LM Studio, llama.cpp's server,
the embedded endpoint's `/v1`). The only module that imports the SDK."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpcore2
import httpx2
import openai

from ..errors import PlaygroundError
from ..netguard import Guard, connect_first
from ..types import ChatParams, Endpoint, ModelEntry, ModelInfo, Reply
from . import base
from .base import CONNECT_TIMEOUT, ChatStream, Context, Delta, HeadersHook, WireMessage

# Microsoft Entra ID audience for the /openai/v1/ routes. Microsoft's migration guide for exactly
# this move ("Migrate from Azure AI Inference SDK to OpenAI SDK",
# https://learn.microsoft.com/azure/foundry/how-to/model-inference-to-openai-migration) and the
# current Foundry "supported languages" page use https://ai.azure.com/.default, also with
# *.openai.azure.com/openai/v1 endpoints; older Azure OpenAI pages show
# https://cognitiveservices.azure.com/.default, the audience of the classic resources.
ENTRA_SCOPE = "https://ai.azure.com/.default"
# Local servers ignore the key, but the SDK needs one; without it, it would read OPENAI_API_KEY
# from the environment and send a real OpenAI key to whatever endpoint this is.
PLACEHOLDER_KEY = "no-key"

# Our own bounded retries (the SDK's are off): only before a stream starts, at most twice,
# for statuses that mean "try again" and for connections that failed. A timeout is not retried:
# the user already waited the whole time limit once.
RETRY_STATUSES = frozenset({429, 500, 503, 504})
BACKOFF = (0.5, 1.0)  # seconds before the first and the second retry, without a usable Retry-After
# Extras the OpenAI API has real arguments for; every other extra goes into the body root.
NATIVE_EXTRAS = frozenset({"n", "logprobs", "top_logprobs"})

T = TypeVar("T")


def request_kwargs(params: ChatParams) -> dict[str, Any]:
    """Keyword arguments for `chat.completions.create()` whose body is `params.body()` plus the extras.

    `max_tokens` goes as `max_tokens`, not OpenAI's newer `max_completion_tokens`: vLLM, Ollama,
    llama.cpp and Foundry's non-OpenAI models all read `max_tokens`, and OpenAI still accepts it
    for its non-reasoning models."""
    kwargs = params.body()
    extras = dict(params.extras)
    native = {name: extras.pop(name) for name in NATIVE_EXTRAS & extras.keys()}
    if "n" in native:
        kwargs["n"] = native["n"]
    logprobs = native.get("logprobs")
    if isinstance(logprobs, bool):
        kwargs["logprobs"] = logprobs
        if "top_logprobs" in native:
            kwargs["top_logprobs"] = native["top_logprobs"]
    elif isinstance(logprobs, int):
        # The Llama-style extra: an int k means "the k most likely alternatives per token".
        kwargs["logprobs"] = True
        kwargs["top_logprobs"] = logprobs
    elif "top_logprobs" in native:
        kwargs["top_logprobs"] = native["top_logprobs"]
    if extras:
        kwargs["extra_body"] = extras  # top_k, best_of, ignore_eos...: what the OpenAI API lacks
    return kwargs


class OpenAITransport:
    """One SDK client per endpoint; build it once and reuse it (it keeps connections alive)."""

    def __init__(self, endpoint: Endpoint, *, read_timeout: float = 120.0, max_retry_after: float = 10.0,
                 guard: Guard | None = None):
        """`guard`: the endpoint is one a user added. Each connection then goes only to an address
        `guard` has just checked (playground.netguard), and no request carries what the SDK
        would take from this deployment's environment (organization, project, custom headers)."""
        self.endpoint = endpoint
        self.max_retry_after = max_retry_after
        api_key: str | Callable[[], str]
        if endpoint.key:
            api_key = endpoint.key.reveal()
        elif endpoint.entra:
            from azure.identity import DefaultAzureCredential, get_bearer_token_provider  # only Entra users pay

            # openai 3.x takes a callable api_key and calls it before every request; the provider
            # caches the token and refreshes it before it expires.
            api_key = get_bearer_token_provider(DefaultAzureCredential(exclude_interactive_browser_credential=True),
                                                ENTRA_SCOPE)
        else:
            api_key = PLACEHOLDER_KEY
        self._sdk = openai.OpenAI(
            base_url=endpoint.url,
            api_key=api_key,
            # read: the longest silence allowed (also between streamed chunks); connect: fail fast
            # when nothing listens.
            timeout=openai.Timeout(read_timeout, connect=CONNECT_TIMEOUT),
            max_retries=0,  # azure-core taught us: an SDK's retries sleep through hour-long Retry-Afters
            # A redirect would go to an address nobody checked (playground.netguard checks the
            # endpoint's own): a user-added endpoint could send the request to a metadata service.
            http_client=openai.DefaultHttpxClient(follow_redirects=False,
                                                  transport=_PinnedTransport(guard) if guard else None),
            default_headers=_without_deployment_headers(api_key) if guard else None,
        )

    # -- chat ----------------------------------------------------------------------------------

    def stream_chat(self, messages: Sequence[WireMessage], params: ChatParams, model: str | None = None,
                    on_headers: HeadersHook | None = None) -> ChatStream:
        """Start a streamed reply. Errors before the first byte raise PlaygroundError here;
        errors mid-stream raise it from the iteration, after the partial text was kept.
        `on_headers` sees every response's headers (rate-limit counters)."""
        started = time.monotonic()
        context = Context(self.endpoint, model, base.prompt_chars(messages))
        raw = self._send(lambda: self._create(messages, params, model, stream=True), context, on_headers)
        chunks = raw.parse()
        return ChatStream(_deltas(chunks), started=started, _close=chunks.close,
                          _translate=lambda exc: _translate(exc, context, midstream=True))

    def complete_chat(self, messages: Sequence[WireMessage], params: ChatParams, model: str | None = None,
                      on_headers: HeadersHook | None = None) -> Reply:
        """A whole reply in one response, for what cannot stream (best_of) or is shown all at
        once (n > 1): every choice's text, finish reason and logprobs, and the usage."""
        started = time.monotonic()
        context = Context(self.endpoint, model, base.prompt_chars(messages))
        raw = self._send(lambda: self._create(messages, params, model, stream=False), context, on_headers)
        try:
            result = raw.parse()
        except Exception as exc:  # a 200 whose body is not a completion
            raise _translate(exc, context, midstream=True) from None
        choices = sorted(result.choices or (), key=lambda choice: choice.index or 0)
        usage = result.usage
        first = choices[0].message if choices else None
        return Reply(
            texts=tuple((choice.message.content if choice.message else None) or "" for choice in choices),
            finish_reasons=tuple(choice.finish_reason or None for choice in choices),
            logprobs=tuple(base.logprob_entries(choice.logprobs.model_dump()) if choice.logprobs else None
                           for choice in choices),
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            elapsed=time.monotonic() - started,
            tool_calls=tuple(_tool_call(call) for call in (first.tool_calls or ())) if first else (),
        )

    def _create(self, messages: Sequence[WireMessage], params: ChatParams, model: str | None, stream: bool) -> Any:
        extra: dict[str, Any] = {"stream_options": {"include_usage": True}} if stream else {}
        # `model` is required by the SDK's types but not by the Model Inference-style servers
        # (one deployed model); omitted, the body carries no model and the server uses its own.
        return self._sdk.chat.completions.with_raw_response.create(
            messages=[dict(m) for m in messages],  # type: ignore[misc]  # wire dicts pass through
            model=model if model else openai.omit,  # type: ignore[arg-type]
            stream=stream,
            **extra,
            **request_kwargs(params),
        )

    # -- models --------------------------------------------------------------------------------

    def list_models(self) -> list[ModelEntry]:
        """What `GET {base}/models` lists: deployments on Foundry, pulled models on Ollama."""
        context = Context(self.endpoint)
        try:
            raw = self._send(self._sdk.models.with_raw_response.list, context, None)
            page = raw.parse()
        except PlaygroundError as error:
            if error.status == 404:
                raise PlaygroundError(f"{self.endpoint.label} does not list its models (no /models route); "
                                      "type the model or deployment name instead.",
                                      status=404, code="no_model_list") from None
            raise
        except Exception as exc:
            raise _translate(exc, context) from None
        return [ModelEntry(item.id, getattr(item, "owned_by", None) or None) for item in page.data or ()]

    def model_info(self, model: str | None = None) -> ModelInfo:
        """OpenAI v1 has no /info: the model list describes `model`, or the first model listed."""
        try:
            entries = self.list_models()
        except PlaygroundError as error:
            if error.code != "no_model_list":
                raise
            entries = []
        entry = next((e for e in entries if e.id == model), None) if model else None
        entry = entry or (entries[0] if entries else None)
        if entry is None:
            raise PlaygroundError(f"{self.endpoint.label} has no /info route and lists no models, "
                                  "so it cannot describe its model.", status=404, code="no_info_route")
        return ModelInfo(name=entry.id, model_type="chat-completions", provider=entry.owned_by or self.endpoint.label)

    def close(self) -> None:
        self._sdk.close()

    # -- one request, retried within bounds ----------------------------------------------------

    def _send(self, send: Callable[[], T], context: Context, on_headers: HeadersHook | None) -> T:
        """`send()` (a `with_raw_response` call) with at most two retries before any reply
        arrives; SDK errors come out as PlaygroundError. A Retry-After longer than
        `max_retry_after` fails at once, saying when to try again."""
        for attempt in range(len(BACKOFF) + 1):
            try:
                raw: Any = send()
            except openai.APIStatusError as exc:
                if on_headers:
                    on_headers(exc.response.headers)  # a 429 carries the counters that explain it
                wait = self._retry_wait(attempt, exc.status_code in RETRY_STATUSES, exc.response.headers)
                if wait is None:
                    raise _translate(exc, context) from None
            except openai.APITimeoutError:
                raise base.timed_out(context) from None
            except openai.APIConnectionError as exc:
                wait = self._retry_wait(attempt, True, None)
                if wait is None:
                    raise _translate(exc, context) from None
            except Exception as exc:
                raise _translate(exc, context) from None
            else:
                if on_headers:
                    on_headers(raw.headers)
                return raw
            time.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry_wait(self, attempt: int, retryable: bool, headers: Mapping[str, str] | None) -> float | None:
        """Seconds to wait before retrying, or None to give up now."""
        if not retryable or attempt >= len(BACKOFF):
            return None
        retry_after = base.retry_after_seconds(headers)
        if retry_after is None:
            return BACKOFF[attempt]
        return retry_after if retry_after <= self.max_retry_after else None


def _without_deployment_headers(api_key: Any) -> dict[str, Any]:
    """Headers that cancel what the SDK takes from this deployment's environment by itself:
    OPENAI_ORG_ID and OPENAI_PROJECT_ID (OpenAI-Organization, OpenAI-Project) and every header of
    OPENAI_CUSTOM_HEADERS, whose Authorization would even replace the request's own key."""
    custom = os.environ.get("OPENAI_CUSTOM_HEADERS", "")
    names = [line.partition(":")[0].strip() for line in custom.split("\n") if ":" in line]  # as the SDK reads it
    headers: dict[str, Any] = {**{name: openai.omit for name in names}, "OpenAI-Organization": openai.omit,
                               "OpenAI-Project": openai.omit}
    if isinstance(api_key, str):  # a token provider sets Authorization on each request itself
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


class _PinnedBackend(httpcore2.SyncBackend):
    """Opens each connection to an address the guard has just checked for the request's host,
    never to what a second lookup of the name might answer. TLS still verifies the host name."""

    def __init__(self, guard: Guard):
        self._guard = guard

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore2.NetworkStream:
        return connect_first(self._guard(host, port),
                             lambda address: super(_PinnedBackend, self).connect_tcp(
                                 address, port, timeout, local_address, socket_options),
                             (httpcore2.ConnectError, httpcore2.ConnectTimeout))


class _PinnedTransport(httpx2.HTTPTransport):
    """httpx2's transport over a pool whose connections `_PinnedBackend` opens. It uses no proxy
    from the environment: through a proxy, the proxy would choose the address."""

    def __init__(self, guard: Guard):
        super().__init__()
        limits = openai.DEFAULT_CONNECTION_LIMITS
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(guard))


def _deltas(chunks: Any) -> Iterator[Delta]:
    for chunk in chunks:
        usage = chunk.usage
        usage_fields = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens} \
            if usage else {}
        choices = chunk.choices or ()
        if not choices and usage_fields:  # include_usage: the final chunk has no choices
            yield Delta(**usage_fields)
        for choice in choices:
            delta = choice.delta
            calls = tuple(_tool_call_piece(call) for call in (delta.tool_calls or ())) if delta else ()
            yield Delta(index=choice.index or 0, content=delta.content if delta else None,
                        finish_reason=choice.finish_reason or None,
                        logprobs=tuple(base.logprob_entries(choice.logprobs.model_dump()) if choice.logprobs else ()),
                        tool_calls=calls, **usage_fields)
            usage_fields = {}


def _tool_call_piece(call: Any) -> dict[str, Any]:
    function = call.function
    return {"index": call.index or 0, "id": call.id, "name": function.name if function else None,
            "arguments": function.arguments if function else None}


def _tool_call(call: Any) -> dict[str, Any]:
    function = getattr(call, "function", None)
    return {"id": call.id, "type": "function",
            "function": {"name": (function.name if function else None) or "",
                         "arguments": (function.arguments if function else None) or ""}}


def _is_credential_failure(exc: Exception) -> bool:
    # azure-identity's errors (CredentialUnavailableError, ClientAuthenticationError), by name:
    # this module does not import azure.core for an isinstance check.
    return any("Credential" in cls.__name__ or cls.__name__ == "ClientAuthenticationError"
               for cls in type(exc).__mro__)


def _translate(exc: Exception, ctx: Context, midstream: bool = False) -> PlaygroundError:
    if isinstance(exc, PlaygroundError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        error = exc.body if isinstance(exc.body, Mapping) else {}
        code = error.get("code")
        detail = error.get("message") or exc.response.reason_phrase or "no details"
        return base.http_error(exc.status_code, str(code) if code is not None else None, str(detail),
                               error.get("innererror"), exc.response.headers, ctx)
    if isinstance(exc, openai.APITimeoutError):
        return base.timed_out(ctx)
    if isinstance(exc, openai.APIConnectionError):
        return base.stream_broke(ctx) if midstream else base.unreachable(ctx)
    if isinstance(exc, openai.APIError):
        # An `{"error": {...}}` event inside a 200 stream: the service gave up mid-reply.
        return PlaygroundError(f"{ctx.label} stopped the reply with an error: {exc.message}. "
                               "The part that arrived is kept.", code=exc.code or "stream_error")
    if midstream and isinstance(exc, ValueError):  # a data: line that is not JSON
        return base.malformed_stream(ctx, exc)
    if _is_credential_failure(exc):
        return base.no_entra_credential(ctx, (ctx.endpoint.key_variable if ctx.endpoint else None)
                                        or "AZURE_OPENAI_API_KEY")
    return PlaygroundError(f"Unexpected error from {ctx.label}: {exc}", code="unexpected")
