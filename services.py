"""Streamlit-side access to the logic package: settings, the embedded endpoint, cached clients,
the GitHub catalog and request budgets.

Clients, the embedded endpoint, the catalog cache and budgets are process-wide
(`st.cache_resource`); per-user data stays in `st.session_state` (see playground.state).
"""

from __future__ import annotations

import atexit
import hashlib
import os
from typing import Any

import streamlit as st

from playground import state
from playground.budget import RequestBudget
from playground.catalog import CatalogCache, CatalogModel
from playground import codegen
from playground.client import ChatClient, ChatParams, Endpoint, PlaygroundError
from playground.embedded import EmbeddedEndpoint, ensure_embedded_endpoint
from playground.providers import ModelChoice, Provider, configured_providers
from playground.settings import Secret, Settings, SettingsError, load_settings
from playground.store import DEFAULT_DB_PATH, Store


def _digest(secret: Secret) -> str:
    return hashlib.sha256(secret.reveal().encode()).hexdigest()


def _secrets() -> dict[str, Any]:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: Streamlit raises rather than returning nothing
        return {}


def settings() -> Settings:
    """Read on every run (it is cheap), so an edited .env applies without a restart."""
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


def providers() -> list[Provider]:
    config = settings()
    try:
        embedded = _embedded(config.local_host, config.local_port, config.local_threads, config.local_parallel, config)
    except PlaygroundError as error:
        st.error(error.message)
        st.stop()
    ss = st.session_state
    return configured_providers(config, embedded.url, ss.get(state.SESSION_GITHUB_TOKEN),
                                tuple(ss.get(state.CUSTOM_ENDPOINTS, ())))


@st.cache_resource
def _catalog_cache() -> CatalogCache:
    return CatalogCache()


def github_catalog(provider: Provider) -> tuple[list[CatalogModel], str | None]:
    """The live catalog, or the built-in list and the reason the catalog could not be read."""
    assert provider.endpoint.key is not None
    return _catalog_cache().get(settings().github_models_url, provider.endpoint.key)


@st.cache_resource
def _budgets() -> dict[tuple[str, str], RequestBudget]:
    return {}


def request_budget(endpoint: Endpoint, model: str) -> RequestBudget:
    """GitHub counts requests per user and model; so do we (per token digest and model)."""
    key = (_digest(endpoint.key) if endpoint.key else "", model)
    return _budgets().setdefault(key, RequestBudget())


# Keys take part in the cache key only as a digest.
@st.cache_resource(show_spinner=False, hash_funcs={Secret: _digest})
def chat_client(endpoint: Endpoint, read_timeout: float, max_retry_after: float) -> ChatClient:
    return ChatClient(endpoint, read_timeout=read_timeout, max_retry_after=max_retry_after)


def client_for(endpoint: Endpoint) -> ChatClient:
    config = settings()
    return chat_client(endpoint, config.request_timeout, config.max_retry_after)


@st.cache_resource
def _store(path: str) -> Store:
    return Store(path)


def store() -> Store:
    """The conversation database, shared by every session of this process (see playground.store)."""
    return _store(settings().db_path or str(DEFAULT_DB_PATH))


def open_conversation_from_url() -> None:
    """Show the conversation named by `?c=` (a reload or a bookmark), if it is not shown yet."""
    ss = st.session_state
    wanted = st.query_params.get("c")
    if not wanted or wanted == ss.get(state.CONVERSATION_ID):
        return
    conversation = store().get(wanted)
    if conversation is None or conversation.deleted_at or conversation.kind != "chat":
        st.query_params.pop("c", None)
        st.toast("That conversation does not exist any more.", icon=":material/info:")
        return
    state.load_conversation(ss, conversation.id, conversation.setup, [m.as_dict() for m in conversation.messages])


def conversation_for(choice: ModelChoice) -> str:
    """The stored conversation to write to, created on the first message and named in the URL."""
    ss = st.session_state
    setup = state.setup_snapshot(ss, choice.provider.id, choice.provider.label, choice.model, choice.label)
    if ss.get(state.CONVERSATION_ID) is None:
        ss[state.CONVERSATION_ID] = store().create_conversation(setup)
    else:
        store().update_setup(ss[state.CONVERSATION_ID], setup)
    st.query_params["c"] = ss[state.CONVERSATION_ID]
    return ss[state.CONVERSATION_ID]


def reply_saver(conversation_id: str, messages: list[dict[str, Any]]):
    """Saves a finished (or cut-short) reply. Runs even in an interrupted run, so it touches
    neither st.session_state nor any widget: only the list it was given and the store."""
    database = store()

    def save(message: dict[str, Any]) -> None:
        stopped = message["metrics"].get("finish_reason") in ("stopped", "error")
        message["status"] = "partial" if stopped else "complete"
        try:
            message["id"] = database.add_message(conversation_id, "assistant", message["content"],
                                                 metrics=message["metrics"], status=message["status"])
        finally:
            messages.append(message)

    return save


def edit_and_resend(index: int, text: str) -> None:
    """Replace user message `index`, drop everything after it, and send again."""
    ss = st.session_state
    messages = state.messages(ss)
    message = {**messages[index], "content": text}
    if ss.get(state.CONVERSATION_ID) and message.get("id") is not None:
        store().edit_message(ss[state.CONVERSATION_ID], message["id"], text, drop_following=True)
    ss[state.MESSAGES] = messages[:index] + [message]
    ss[state.RETRY] = True


def regenerate() -> None:
    """Drop the last reply and ask again."""
    ss = st.session_state
    messages = state.messages(ss)
    if len(messages) >= 2 and messages[-1]["role"] == "assistant":
        if ss.get(state.CONVERSATION_ID) and messages[-2].get("id") is not None:
            store().truncate_after(ss[state.CONVERSATION_ID], messages[-2]["id"])
        ss[state.MESSAGES] = messages[:-1]
        ss[state.RETRY] = True


def code_spec(choice: ModelChoice, params: ChatParams, stream: bool) -> tuple[codegen.RequestSpec | None, str | None]:
    """The request the next send would make, for "View code" (the conversation so far, or a
    sample prompt when it is empty)."""
    messages = state.request_messages(st.session_state)
    if not any(m["role"] == "user" for m in messages):
        messages = messages + [{"role": "user", "content": "Hello!"}]
    note = None
    if choice.endpoint.entra:
        note = ("This endpoint signs in with Microsoft Entra ID here; the code reads a key from "
                "AZURE_INFERENCE_CREDENTIAL instead. Set it, or swap in DefaultAzureCredential.")
    try:
        spec = codegen.request_spec(choice.endpoint.url, choice.key_environment_variable, choice.model,
                                    messages, params, stream=stream)
    except ValueError as error:
        return None, f"No code for this setup: {error}"
    return spec, note
