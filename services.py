"""Streamlit-side access to the logic package: settings, the embedded endpoint, cached clients.

Clients and the embedded endpoint are process-wide (`st.cache_resource`); per-user data stays in
`st.session_state` (see playground.state).
"""

from __future__ import annotations

import atexit
import hashlib
import os
from typing import Any

import streamlit as st

from playground.client import ChatClient, Endpoint, PlaygroundError
from playground.embedded import EmbeddedEndpoint, ensure_embedded_endpoint
from playground.providers import ModelChoice, available_models
from playground.settings import Secret, Settings, SettingsError, load_settings


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
def _embedded(host: str, port: int, threads: int | None, _settings: Settings) -> EmbeddedEndpoint:
    endpoint = ensure_embedded_endpoint(_settings)
    atexit.register(endpoint.stop)
    return endpoint


def model_choices() -> list[ModelChoice]:
    config = settings()
    try:
        embedded = _embedded(config.local_host, config.local_port, config.local_threads, config)
    except PlaygroundError as error:
        st.error(error.message)
        st.stop()
    return available_models(config, embedded.url)


# Keys take part in the cache key only as a digest.
@st.cache_resource(show_spinner=False, hash_funcs={Secret: lambda s: hashlib.sha256(s.reveal().encode()).hexdigest()})
def chat_client(endpoint: Endpoint, read_timeout: float, max_retry_after: float) -> ChatClient:
    return ChatClient(endpoint, read_timeout=read_timeout, max_retry_after=max_retry_after)


def client_for(choice: ModelChoice) -> ChatClient:
    config = settings()
    return chat_client(choice.endpoint, config.request_timeout, config.max_retry_after)
