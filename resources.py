"""The UI's resources: settings, the embedded endpoint, cached transports, the store, and the
use cases built on them for this session.

Transports, the embedded endpoint, the model-list cache and rate-limit readings are process-wide
(`st.cache_resource`, built once per configuration); per-user data stays in `st.session_state`
under the keys of playground.state. Pages read `settings()` once per run and pass it down.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from playground import codegen
from playground import state as keys
from playground.auth import AllowList, AuthConfigError, SignInOption, User, sign_in_options
from playground.catalog import ListingCache, fetch_catalog, github_builtin_models
from playground.chat import Chat
from playground.client import ChatClient, Endpoint, PlaygroundError, Transport
from playground.embedded import EmbeddedEndpoint, SupervisedTransport, ensure_embedded_endpoint
from playground.evaluate.runs import RunStore
from playground.netguard import OFF, EndpointPolicy, GuardedTransport
from playground.providers import (
    EMBEDDED,
    GITHUB,
    ModelChoice,
    ModelListing,
    Provider,
    configured_providers,
    offline_cards,
)
from playground.ratelimit import LimitedTransport, RequestLimiter
from playground.settings import Secret, Settings, SettingsError, load_settings, user_storage_bytes
from playground.store import DEFAULT_DB_PATH, LOCAL_OWNER, OwnerStore, Store, open_store
from playground.transports.base import HeadersHook, RateLimits, rate_limits
from playground.types import OPENAI, ChatParams


def _digest(secret: Secret) -> str:
    return hashlib.sha256(secret.reveal().encode()).hexdigest()


def _secrets() -> dict[str, Any]:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: Streamlit raises rather than returning nothing
        return {}


def _auth_section() -> dict[str, Any] | None:
    section = _secrets().get("auth")
    return None if section is None else dict(section)


def sign_in() -> list[SignInOption] | None:
    """The providers to sign in with, or None: no [auth] section, local single-user mode."""
    try:
        return sign_in_options(_auth_section())
    except AuthConfigError as error:  # never fall back to local mode: that would open the deployment up
        st.error(f"Configuration error: {error}")
        st.stop()
        raise  # unreachable: st.stop() raises


def current_user() -> User | None:
    """Who is signed in (None in local mode, or before sign-in)."""
    if sign_in() is None:
        return None
    return User.from_claims(st.user.to_dict())


def current_owner() -> str:
    """Whose conversations, presets and evaluation runs this session reads and writes."""
    if sign_in() is None:
        return LOCAL_OWNER
    user = current_user()
    if user is None:  # the frame shows pages to signed-in users only; a page run without one stops here
        st.stop()
        raise AssertionError("unreachable: st.stop() raises")
    return user.owner


def allowed(user: User, config: Settings) -> bool:
    return AllowList(config.allowed_users).allows(user)


def endpoint_policy(config: Settings) -> EndpointPolicy:
    """Where "Add an endpoint" may point: PLAYGROUND_CUSTOM_ENDPOINTS, by default any host
    locally and none once sign-in is on."""
    return EndpointPolicy.parse(config.custom_endpoints, signed_in=sign_in() is not None)


def settings() -> Settings:
    """Read once per run by the page (it is cheap), so an edited .env applies without a restart."""
    try:
        return load_settings(os.environ, _secrets())
    except SettingsError as error:
        st.error(f"Configuration error: {error}")
        st.stop()
        raise  # unreachable: st.stop() raises


@st.cache_resource(show_spinner="Starting the embedded model…")
def _embedded(host: str, port: int, threads: int | None, parallel: int | None, model: str | None,
              _settings: Settings) -> EmbeddedEndpoint:
    endpoint = ensure_embedded_endpoint(_settings)
    atexit.register(endpoint.stop)
    return endpoint


def providers(config: Settings) -> list[Provider]:
    try:
        embedded = _embedded(config.local_host, config.local_port, config.local_threads, config.local_parallel,
                             config.local_model, config)
    except PlaygroundError as error:
        st.error(error.message)
        st.stop()
    _embedded_notice(embedded)
    ss = st.session_state
    custom = tuple(ss.get(keys.CUSTOM_ENDPOINTS, ())) if endpoint_policy(config).mode != OFF else ()
    return configured_providers(config, embedded.url, ss.get(keys.SESSION_TOKEN), custom,
                                embedded_model=embedded.model_name)


def _embedded_notice(embedded: EmbeddedEndpoint) -> None:
    """Tell this session what happened to the embedded model since it last looked: restarted
    after a crash (the app restarts the one it started, see playground.embedded), restarting
    now, or left down after a crash loop."""
    ss = st.session_state
    if embedded.failure:
        st.error(embedded.failure, icon=":material/error:")
    elif embedded.restarting:
        st.info("The local model stopped and is restarting; a prompt sent now waits for it.",
                icon=":material/restart_alt:")
    seen = ss.get(keys.EMBEDDED_RESTARTS)
    if seen is not None and embedded.restarts > seen:
        st.toast("The local model restarted after it stopped (the terminal says why). Your conversation is "
                 "unchanged.", icon=":material/restart_alt:", duration="long")
    ss[keys.EMBEDDED_RESTARTS] = embedded.restarts


LIST_TIMEOUT = 10.0  # a model list is small: a slow one should not hold the sidebar for long


def _endpoint_digest(endpoint: Endpoint, *parts: str) -> str:
    """A cache key for what belongs to one endpoint and credential (the key only as a digest)."""
    key = endpoint.key.reveal() if endpoint.key else ""
    return hashlib.sha256("\0".join((endpoint.url, key, *parts)).encode()).hexdigest()


@st.cache_resource
def _listing_cache() -> ListingCache:
    return ListingCache(ok_seconds=300.0, failure_seconds=60.0)


def catalog_loader(config: Settings) -> Callable[[Provider], ModelListing]:
    """Reads a provider's model list: `GET {base}/models` for OpenAI v1 endpoints, GitHub Models'
    catalog for GitHub; cached per endpoint and key for 5 minutes, a failure for a minute. When a
    list cannot be read: the built-in list (Foundry and GitHub) and the reason."""
    def load(provider: Provider) -> ModelListing:
        endpoint = provider.endpoint
        if provider.kind == GITHUB and endpoint.key is not None and config.github_models_url:
            base, token = config.github_models_url, endpoint.key
            cards, error = _listing_cache().get(_endpoint_digest(endpoint, "catalog", base),
                                                lambda: fetch_catalog(base, token))
            if error is not None:
                return ModelListing(cards=tuple(github_builtin_models()), offline_reason=error.message)
            return ModelListing(cards=tuple(cards or ()), source=f"GitHub Models' catalog ({base}/catalog/models)")
        if not provider.lists_models:
            return ModelListing()
        client = _guarded(endpoint, LIST_TIMEOUT, 0.0, config)
        entries, error = _listing_cache().get(_endpoint_digest(endpoint, "models"), client.list_models)
        if error is not None:
            return ModelListing(cards=offline_cards(provider), offline_reason=error.message)
        return ModelListing(entries=tuple(entries or ()),
                            source=f"the endpoint's model list (GET {endpoint.url}/models)")
    return load


@st.cache_resource
def _rate_limits() -> dict[str, tuple[RateLimits, float]]:
    return {}


_rate_limits_lock = threading.Lock()  # Compare's worker threads record readings too


def rate_limit_hook(endpoint: Endpoint, model: str | None) -> HeadersHook:
    """Headers hook for a request: keeps the latest rate-limit reading per endpoint, key and model
    (services count per key and deployment), for every session using that key."""
    key = _endpoint_digest(endpoint, model or "")
    readings = _rate_limits()

    def observe(headers: Mapping[str, str]) -> None:
        reading = rate_limits(headers)
        if reading is not None:
            with _rate_limits_lock:
                readings[key] = (reading, time.time())
    return observe


def rate_limit_reading(endpoint: Endpoint, model: str | None) -> tuple[RateLimits, float] | None:
    """The latest reading for this endpoint, key and model, with when it was taken (time.time())."""
    return _rate_limits().get(_endpoint_digest(endpoint, model or ""))


# Keys take part in the cache key only as a digest.
@st.cache_resource(show_spinner=False, hash_funcs={Secret: _digest})
def _transport(endpoint: Endpoint, read_timeout: float, max_retry_after: float,
               policy: EndpointPolicy | None = None) -> Transport:
    return ChatClient(endpoint, read_timeout=read_timeout, max_retry_after=max_retry_after,
                      guard=policy.addresses if policy else None)


@st.cache_resource
def _limiter(location: str, per_minute: int) -> RequestLimiter:
    return RequestLimiter(_store(location), per_minute)


def _configured_urls(config: Settings) -> set[str]:
    embedded = _embedded(config.local_host, config.local_port, config.local_threads, config.local_parallel,
                         config.local_model, config)
    return {p.endpoint.url for p in configured_providers(config, embedded.url)}


def _guarded(endpoint: Endpoint, read_timeout: float, max_retry_after: float, config: Settings) -> Any:
    """An endpoint the deployment did not configure (a user added it) is re-checked against
    PLAYGROUND_CUSTOM_ENDPOINTS before every call, and its transport connects only to addresses
    it has just checked (its name may resolve elsewhere by now) and sends none of the deployment's
    identity (OPENAI_ORG_ID, OPENAI_PROJECT_ID...)."""
    if endpoint.url in _configured_urls(config):
        return _transport(endpoint, read_timeout, max_retry_after)
    policy = endpoint_policy(config)
    return GuardedTransport(_transport(endpoint, read_timeout, max_retry_after, policy), policy)


def client_for(endpoint: Endpoint, config: Settings) -> Transport:
    """The transport for `endpoint`, as this user may use it: an endpoint the deployment did not
    configure is re-checked against PLAYGROUND_CUSTOM_ENDPOINTS before every call, and chat
    requests count against PLAYGROUND_USER_REQUESTS_PER_MINUTE."""
    client = _guarded(endpoint, config.request_timeout, config.max_retry_after, config)
    embedded = _embedded(config.local_host, config.local_port, config.local_threads, config.local_parallel,
                         config.local_model, config)
    if embedded.supervised and endpoint.url == embedded.url:  # waits for a restart under way
        client = SupervisedTransport(client, embedded)
    if config.user_requests_per_minute:
        client = LimitedTransport(client, _limiter(_location(config), config.user_requests_per_minute),
                                  current_owner())
    return client


@st.cache_resource(show_spinner=False)
def _store(location: str) -> Store:
    store = open_store(location)
    store.purge_expired()  # deleted conversations past their retention, once per process start
    return store


def store(config: Settings) -> OwnerStore:
    """This user's part of the conversation database, which every session of this process
    shares (see playground.store): PLAYGROUND_DATABASE_URL, else the SQLite file; what they may
    keep in it is PLAYGROUND_USER_STORAGE_MB."""
    budget = user_storage_bytes(config, signed_in=sign_in() is not None)
    return _store(_location(config)).scoped(current_owner(), storage_budget=budget)


def _location(config: Settings) -> str:
    return config.database_url or config.db_path or str(DEFAULT_DB_PATH)


def runs(config: Settings) -> RunStore:
    """Saved evaluation runs, in the conversation database (playground.evaluate.runs)."""
    return RunStore(_store(_location(config)))


def chat(config: Settings) -> Chat:
    """The chat use case over this session's state and this user's store."""
    return Chat(st.session_state, store(config))


def open_from_url(chat: Chat) -> None:
    """Show the conversation named by `?c=` (a reload or a bookmark), if it is not shown yet; a
    saved comparison opens in the Compare page."""
    wanted = st.query_params.get("c")
    if not wanted:
        return
    kind = chat.open(wanted)
    if kind == "compare":
        st.switch_page("pages/compare.py", query_params={"c": wanted})
    elif kind is None:
        st.query_params.pop("c", None)
        st.toast("That conversation does not exist any more.", icon=":material/info:")


def code_spec(chat: Chat, choice: ModelChoice, params: ChatParams,
              stream: bool) -> tuple[codegen.RequestSpec | None, str | None]:
    """The request the next send would make, for "View code" (the conversation so far, or a
    sample prompt when it is empty)."""
    messages = chat.request()
    if not any(m["role"] == "user" for m in messages):
        messages = messages + [{"role": "user", "content": "Hello!"}]
    endpoint, variable = choice.endpoint, choice.key_environment_variable
    note = None
    if endpoint.entra:
        note = (f"This endpoint signs in with Microsoft Entra ID here; the code reads a key from {variable} "
                "instead. Set it, or sign in with DefaultAzureCredential as the SDK's docs show.")
    # The embedded endpoint also serves the OpenAI v1 API under /v1: the OpenAI SDK forms fit it too.
    also_openai = f"{endpoint.url.rstrip('/')}/v1" if choice.provider.kind == EMBEDDED and endpoint.api != OPENAI \
        else None
    try:
        spec = codegen.request_spec(endpoint.url, variable, choice.model, messages, params, stream=stream,
                                    api=endpoint.api, also_openai_base=also_openai)
    except ValueError as error:
        return None, f"No code for this setup: {error}"
    return spec, note
