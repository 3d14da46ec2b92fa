"""The Azure AI Model Inference API through `azure-ai-inference` (serverless Meta Llama and
Phi deployments, `https://<resource>.services.ai.azure.com/models`, managed online endpoints,
the embedded endpoint). The only module that imports the SDK."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any

import requests
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import JsonSchemaFormat
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline.policies import RedirectPolicy, RetryPolicy
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.retry import Retry

from ..errors import PlaygroundError
from ..netguard import Guard, connect_first
from ..types import ChatParams, Endpoint, ModelEntry, ModelInfo, Reply
from . import base
from .base import CONNECT_TIMEOUT, ChatStream, Context, Delta, HeadersHook, WireMessage

ENTRA_SCOPE = "https://ml.azure.com/.default"


class BoundedRetryPolicy(RetryPolicy):
    """azure-core's policy, except that it gives up at once when the service asks to wait
    longer than `max_retry_after` seconds (a daily quota's 429 says hours)."""

    def __init__(self, max_retry_after: float, **kwargs: Any):
        super().__init__(retry_total=2, retry_backoff_factor=0.5, retry_backoff_max=4, **kwargs)
        self.max_retry_after = max_retry_after

    def get_retry_after(self, response: Any) -> float | None:
        # The wait as the OpenAI transport reads it (retry-after-ms first, the precise one), so the
        # two transports retry, and word their errors, alike.
        return base.retry_after_seconds(response.http_response.headers)

    def is_retry(self, settings: dict[str, Any], response: Any) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after is not None and retry_after > self.max_retry_after:
            return False
        if response.http_response.status_code == 429:  # a POST too, with or without a wait, as openai_v1 does
            return bool(settings["total"])
        return super().is_retry(settings, response)


def request_kwargs(params: ChatParams) -> dict[str, Any]:
    """Keyword arguments for the SDK's `complete()` that produce `params.body()` plus `extras`."""
    kwargs = {k: v for k, v in params.body().items() if k != "response_format"}
    if params.response_format == "json_object":
        kwargs["response_format"] = "json_object"
    elif isinstance(params.response_format, dict):
        kwargs["response_format"] = JsonSchemaFormat(**params.response_format)
    if params.extras:
        kwargs["model_extras"] = dict(params.extras)
    return kwargs


class AzureInferenceTransport:
    """One SDK client per endpoint; build it once and reuse it (it keeps connections alive)."""

    def __init__(self, endpoint: Endpoint, *, read_timeout: float = 120.0, max_retry_after: float = 10.0,
                 guard: Guard | None = None):
        """`guard`: the endpoint is one a user added. Each connection then goes only to an address
        `guard` has just checked (playground.netguard), and requests carry nothing from this
        deployment's environment (no proxy, no ~/.netrc login, no AZURE_HTTP_USER_AGENT)."""
        self.endpoint = endpoint
        options: dict[str, Any] = {}
        if guard:
            options.update(transport=_pinned_transport(guard, read_timeout), user_agent_use_env=False)
        if endpoint.entra and not endpoint.key:
            from azure.identity import DefaultAzureCredential  # only Entra users pay for the import

            credential: Any = DefaultAzureCredential(exclude_interactive_browser_credential=True)
            options["credential_scopes"] = [ENTRA_SCOPE]
        else:
            # A keyless local endpoint still needs a credential object; it ignores the value.
            credential = AzureKeyCredential(endpoint.key.reveal() if endpoint.key else "no-key")
        self._sdk = ChatCompletionsClient(
            endpoint=endpoint.url,
            credential=credential,
            **options,
            retry_policy=BoundedRetryPolicy(max_retry_after, timeout=read_timeout),
            # A redirect would go to an address nobody checked (see playground.netguard).
            redirect_policy=RedirectPolicy(permit_redirects=False),
            connection_timeout=CONNECT_TIMEOUT,
            read_timeout=read_timeout,
            logging_enable=False,
        )

    def stream_chat(self, messages: Sequence[WireMessage], params: ChatParams, model: str | None = None,
                    on_headers: HeadersHook | None = None) -> ChatStream:
        """Start a streamed reply. Errors before the first byte raise PlaygroundError here;
        errors mid-stream raise it from the iteration, after the partial text was kept.
        `on_headers` sees every response's headers (rate-limit counters)."""
        started = time.monotonic()
        updates, context = self._complete(messages, params, model, on_headers, stream=True)
        return ChatStream(_deltas(updates), started=started, _close=updates.close,
                          _translate=lambda exc: _translate(exc, context, midstream=True))

    def complete_chat(self, messages: Sequence[WireMessage], params: ChatParams, model: str | None = None,
                      on_headers: HeadersHook | None = None) -> Reply:
        """A whole reply in one response, for what cannot stream (best_of) or is shown all at
        once (n > 1): every choice's text, finish reason and logprobs, and the usage."""
        started = time.monotonic()
        result, _ = self._complete(messages, params, model, on_headers, stream=False)
        choices = sorted(result.choices or (), key=lambda choice: choice.index or 0)
        usage = result.usage
        first = choices[0].message if choices and choices[0].message else None
        return Reply(
            texts=tuple((choice.message.content if choice.message else None) or "" for choice in choices),
            finish_reasons=tuple(_plain(choice.finish_reason) if choice.finish_reason else None for choice in choices),
            logprobs=tuple(base.logprob_entries(choice.get("logprobs")) if choice.get("logprobs") else None
                           for choice in choices),
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            elapsed=time.monotonic() - started,
            tool_calls=tuple(_tool_call(call) for call in (first.tool_calls or ())) if first else (),
        )

    def _complete(self, messages: Sequence[WireMessage], params: ChatParams, model: str | None,
                  on_headers: HeadersHook | None, stream: bool) -> tuple[Any, Context]:
        """The one SDK call behind both reply shapes; SDK errors come out as PlaygroundError."""
        context = Context(self.endpoint, model, base.prompt_chars(messages))
        hook = (lambda response: on_headers(response.http_response.headers)) if on_headers else None
        try:
            result = self._sdk.complete(messages=[dict(m) for m in messages], stream=stream, model=model,
                                        raw_response_hook=hook, **request_kwargs(params))
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
            raise _translate(exc, Context(self.endpoint)) from None
        return ModelInfo(name=info.model_name, model_type=_plain(info.model_type), provider=info.model_provider_name)

    def list_models(self) -> list[ModelEntry]:
        """The Model Inference API has no model list; `/info` names the one deployed model."""
        return [ModelEntry(self.model_info().name)]

    def close(self) -> None:
        self._sdk.close()


class _PinnedHTTPConnection(HTTPConnection):
    """urllib3's connection, opened only to an address the guard has just checked for its host."""

    def __init__(self, *args: Any, guard: Guard, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._guard = guard

    def _new_conn(self) -> socket.socket:
        name = self._dns_host
        try:
            return connect_first(self._guard(name, self.port), self._new_conn_to,
                                 (NewConnectionError, ConnectTimeoutError))
        finally:
            self._dns_host = name  # `host` reads it: TLS verifies the certificate against the name

    def _new_conn_to(self, address: str) -> socket.socket:
        self._dns_host = address  # what urllib3's own _new_conn connects to
        return super()._new_conn()


class _PinnedHTTPSConnection(_PinnedHTTPConnection, HTTPSConnection):
    pass


class _PinnedAdapter(HTTPAdapter):
    """requests' adapter whose connection pools open `_Pinned*Connection`s."""

    def __init__(self, guard: Guard):
        self._guard = guard
        # As azure-core mounts on its own sessions: urllib3 neither retries nor follows redirects.
        super().__init__(max_retries=Retry(total=False, redirect=False, raise_on_status=False))

    def get_connection_with_tls_context(self, *args: Any, **kwargs: Any) -> Any:
        pool = super().get_connection_with_tls_context(*args, **kwargs)
        pool.ConnectionCls = _PinnedHTTPSConnection if pool.scheme == "https" else _PinnedHTTPConnection
        pool.conn_kw["guard"] = self._guard
        return pool


def _pinned_transport(guard: Guard, read_timeout: float) -> RequestsTransport:
    """azure-core's transport over a session whose connections `_PinnedAdapter` opens. The session
    ignores the environment: through a proxy the proxy would choose the address, and a ~/.netrc
    login is the deployment's, not the user's. The CA bundle requests would read stays."""
    session = requests.Session()
    session.trust_env = False
    adapter = _PinnedAdapter(guard)
    for prefix in ("http://", "https://"):
        session.mount(prefix, adapter)
    verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return RequestsTransport(session=session, session_owner=True, connection_timeout=CONNECT_TIMEOUT,
                             read_timeout=read_timeout, connection_verify=verify)


def _deltas(updates: Any) -> Iterator[Delta]:
    for update in updates:
        usage = update.usage
        usage_fields = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens} \
            if usage else {}
        choices = update.choices or ()
        if not choices and usage_fields:
            yield Delta(**usage_fields)
        for choice in choices:
            delta = choice.delta
            calls = tuple(_tool_call_piece(call) for call in (delta.tool_calls or ())) if delta else ()
            yield Delta(index=choice.index or 0, content=delta.content if delta else None,
                        finish_reason=_plain(choice.finish_reason) if choice.finish_reason else None,
                        logprobs=tuple(base.logprob_entries(choice.get("logprobs"))), tool_calls=calls,
                        **usage_fields)
            usage_fields = {}


def _tool_call_piece(call: Any) -> dict[str, Any]:
    function = call.get("function") or {}
    return {"index": call.get("index", 0), "id": call.get("id"), "name": function.get("name"),
            "arguments": function.get("arguments")}


def _tool_call(call: Any) -> dict[str, Any]:
    function = call.get("function") or {}
    return {"id": call.get("id"), "type": "function",
            "function": {"name": function.get("name") or "", "arguments": function.get("arguments") or ""}}


def _plain(value: Any) -> str:
    """The wire string of an SDK enum value (the SDK parses known strings into enums)."""
    return str(getattr(value, "value", value))


def _translate(exc: Exception, ctx: Context, midstream: bool = False) -> PlaygroundError:
    if isinstance(exc, PlaygroundError):
        return exc
    if isinstance(exc, HttpResponseError) and (exc.status_code or 0) >= 400:
        error = getattr(exc, "error", None)
        detail = getattr(error, "message", None) or exc.reason or "no details"
        # azure-core types `response` as a protocol without `headers`; the HttpResponse it holds has them.
        headers = exc.response.headers if exc.response is not None else {}  # type: ignore[attr-defined]
        return base.http_error(exc.status_code or 0, getattr(error, "code", None), detail,
                               getattr(error, "innererror", None), headers, ctx)
    if midstream and isinstance(exc, ValueError):
        return base.malformed_stream(ctx, exc)
    if isinstance(exc, ServiceResponseError) or "timed out" in str(exc).lower():
        return base.timed_out(ctx)
    if midstream or "Response ended prematurely" in str(exc):
        return base.stream_broke(ctx)
    if isinstance(exc, ServiceRequestError):
        return base.unreachable(ctx)
    if "credential" in type(exc).__name__.lower():
        return base.no_entra_credential(ctx, "AZURE_INFERENCE_CREDENTIAL")
    return PlaygroundError(f"Unexpected error from {ctx.label}: {exc}", code="unexpected")
