"""The UI's resources: settings, the embedded endpoint, cached transports, the store, and the
use cases built on them for this session.

Transports, the embedded endpoint, the catalog cache and budgets are process-wide
(`st.cache_resource`, built once per configuration); per-user data stays in `st.session_state`
under the keys of playground.state. Pages read `settings()` once per run and pass it down.
"""

from __future__ import annotations

import atexit
import hashlib
import os
from collections.abc import Callable
from typing import Any

import streamlit as st

from playground import codegen
from playground import state as keys
from playground.budget import RequestBudget
from playground.catalog import CatalogCache, CatalogModel
from playground.chat import Chat
from playground.client import ChatClient, Endpoint, PlaygroundError, Transport
from playground.embedded import EmbeddedEndpoint, ensure_embedded_endpoint
from playground.evaluate.runs import LOCAL_OWNER, RunStore, default_runs_path
from playground.providers import EMBEDDED, ModelChoice, Provider, configured_providers
from playground.settings import Secret, Settings, SettingsError, load_settings
from playground.store import DEFAULT_DB_PATH, Store
from playground.types import OPENAI, ChatParams


def _digest(secret: Secret) -> str:
    return hashlib.sha256(secret.reveal().encode()).hexdigest()


def _secrets() -> dict[str, Any]:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: Streamlit raises rather than returning nothing
        return {}


def settings() -> Settings:
    """Read once per run by the page (it is cheap), so an edited .env applies without a restart."""
    try:
        return load_settings(os.environ, _secrets())
    except SettingsError as error:
        st.error(f"Configuration error: {error}")
        st.stop()
        raise  # unreachable: st.stop() raises


@st.cache_resource(show_spinner="Starting the embedded model…")
def _embedded(host: str, port: int, threads: int | None, parallel: int | None, _settings: Settings) -> EmbeddedEndpoint:
    endpoint = ensure_embedded_endpoint(_settings)
    atexit.register(endpoint.stop)
    return endpoint


def providers(config: Settings) -> list[Provider]:
    try:
        embedded = _embedded(config.local_host, config.local_port, config.local_threads, config.local_parallel, config)
    except PlaygroundError as error:
        st.error(error.message)
        st.stop()
    ss = st.session_state
    return configured_providers(config, embedded.url, ss.get(keys.SESSION_TOKEN),
                                tuple(ss.get(keys.CUSTOM_ENDPOINTS, ())))


@st.cache_resource
def _catalog_cache() -> CatalogCache:
    return CatalogCache()


def catalog_loader(config: Settings) -> Callable[[Provider], tuple[list[CatalogModel], str | None]]:
    """Reads GitHub Models' catalog: the live one, or the built-in list and the reason the
    catalog could not be read."""
    def load(provider: Provider) -> tuple[list[CatalogModel], str | None]:
        assert provider.endpoint.key is not None
        return _catalog_cache().get(config.github_models_url, provider.endpoint.key)
    return load


@st.cache_resource
def _budgets() -> dict[tuple[str, str], RequestBudget]:
    return {}


def request_budget(endpoint: Endpoint, model: str) -> RequestBudget:
    """GitHub counts requests per user and model; so do we (per token digest and model)."""
    key = (_digest(endpoint.key) if endpoint.key else "", model)
    return _budgets().setdefault(key, RequestBudget())


# Keys take part in the cache key only as a digest.
@st.cache_resource(show_spinner=False, hash_funcs={Secret: _digest})
def _transport(endpoint: Endpoint, read_timeout: float, max_retry_after: float) -> Transport:
    return ChatClient(endpoint, read_timeout=read_timeout, max_retry_after=max_retry_after)


def client_for(endpoint: Endpoint, config: Settings) -> Transport:
    return _transport(endpoint, config.request_timeout, config.max_retry_after)


@st.cache_resource
def _store(path: str) -> Store:
    store = Store(path)
    store.purge_expired()  # deleted conversations past their retention, once per process start
    return store


def store(config: Settings) -> Store:
    """The conversation database, shared by every session of this process (see playground.store)."""
    return _store(config.db_path or str(DEFAULT_DB_PATH))


@st.cache_resource
def _runs(path: str) -> RunStore:
    return RunStore(path)


def runs(config: Settings) -> RunStore:
    """Saved evaluation runs, next to the conversation database (playground.evaluate.runs)."""
    return _runs(str(default_runs_path(config.db_path)))


def current_owner() -> str:
    """Whose data this session reads and writes: the one place the owner comes from."""
    return LOCAL_OWNER


def chat(config: Settings) -> Chat:
    """The chat use case over this session's state and store."""
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
