"""The sidebar's provider and model picker, the session-only token and custom endpoints."""

from __future__ import annotations

from typing import Callable
from urllib.parse import urlsplit

import streamlit as st

from components.lazy import lazy_expander
from playground import state as keys
from playground.budget import BudgetReading
from playground.catalog import CatalogModel, TierLimits, filter_models
from playground.netguard import EndpointPolicy
from playground.providers import AZURE, GITHUB, CustomEndpoint, ModelChoice, Provider
from playground.settings import Secret

CatalogLoader = Callable[[Provider], "tuple[list[CatalogModel], str | None]"]
PREFERRED_GITHUB_MODEL = "microsoft/phi-3-mini-4k-instruct"


def render_model_picker(providers: list[Provider], load_catalog: CatalogLoader) -> ModelChoice:
    ss = st.session_state
    by_id = {p.id: p for p in providers}
    if ss.get(keys.PROVIDER) not in by_id:
        ss[keys.PROVIDER] = providers[0].id
    provider = by_id[st.sidebar.selectbox("Provider", list(by_id), format_func=lambda i: by_id[i].label,
                                          key=keys.PROVIDER, persist_state=keys.KEEP)]
    if provider.kind == GITHUB:
        return _github_model(provider, *load_catalog(provider))
    if provider.kind == AZURE:
        model_id = st.sidebar.text_input(
            "Model id", key=keys.MODEL, persist_state=keys.KEEP, placeholder="the deployment's own model",
            help="Only for endpoints that serve several models; leave empty for a single deployment.")
        return ModelChoice(provider, model_id.strip() or None)
    return ModelChoice(provider, provider.model)


def _github_model(provider: Provider, models: list[CatalogModel], offline_reason: str | None) -> ModelChoice:
    ss = st.session_state
    with st.sidebar.expander("Find a model"):
        search = st.text_input("Search", key=keys.MODEL_SEARCH, persist_state=keys.KEEP, placeholder="name, summary or tag")
        publishers = st.multiselect("Publisher", sorted({m.publisher for m in models}), key=keys.MODEL_PUBLISHERS,
                                    persist_state=keys.KEEP)
        capabilities = sorted({c for m in models for c in m.capabilities})
        capability = st.selectbox("Capability", ["any", *capabilities], key=keys.MODEL_CAPABILITY,
                                  persist_state=keys.KEEP)
    shown = filter_models(models, search, publishers, None if capability == "any" else capability)
    if not shown:
        st.sidebar.warning("No model matches the search; showing all.")
        shown = models
    by_id = {m.id: m for m in shown}
    if ss.get(keys.MODEL) not in by_id:
        ss[keys.MODEL] = PREFERRED_GITHUB_MODEL if PREFERRED_GITHUB_MODEL in by_id else shown[0].id
    card = by_id[st.sidebar.selectbox("Model", list(by_id), key=keys.MODEL, persist_state=keys.KEEP,
                                      format_func=lambda i: f"{by_id[i].name} ({by_id[i].publisher})")]
    if offline_reason:
        st.sidebar.warning(f"Offline list: {offline_reason}", icon=":material/cloud_off:")
    else:
        st.sidebar.caption(f"Live catalog · {len(models)} models")
    tier = f" · {card.rate_limit_tier} tier" if card.rate_limit_tier else ""
    st.sidebar.caption(f"{card.summary}{tier}")
    return ModelChoice(provider, card.id, card)


def render_request_budget(reading: BudgetReading, limits: TierLimits | None) -> None:
    """Requests this minute and today against the tier's published limits (draws where it is called)."""
    if limits is None:
        st.caption(f"Requests: {reading.used_minute} this minute · {reading.used_day} today")
        return
    st.progress(min(reading.used_minute / limits.requests_per_minute, 1.0),
                text=f"{reading.used_minute} / {limits.requests_per_minute} requests this minute")
    st.progress(min(reading.used_day / limits.requests_per_day, 1.0),
                text=f"{reading.used_day} / {limits.requests_per_day} requests today")
    if reading.remaining_reported is not None:
        st.caption(f"The service reports {reading.remaining_reported} requests left.")


def _take_token() -> None:
    ss = st.session_state
    value = (ss.get(keys.TOKEN_INPUT) or "").strip()
    # Moved out of the widget at once, so the page never holds it in an input's value.
    ss[keys.TOKEN_INPUT] = ""
    if value:
        ss[keys.SESSION_TOKEN] = Secret(value)


def _forget_token() -> None:
    st.session_state.pop(keys.SESSION_TOKEN, None)


def render_session_token_input() -> None:
    expander = lazy_expander("GitHub token for this session", keys.TOKEN_OPEN, where=st.sidebar)
    with expander:
        if not expander.open:
            return
        st.text_input("Paste a token and press Enter", type="password", key=keys.TOKEN_INPUT, on_change=_take_token,
                      help="Kept in this browser session's memory only: never written to disk, logs or code.")
        if st.session_state.get(keys.SESSION_TOKEN):
            st.caption("A token is set for this session.")
            st.button("Forget the token", on_click=_forget_token)


def _add_endpoint(policy: EndpointPolicy) -> None:
    ss = st.session_state
    name, url = ss[keys.CUSTOM_FORM + "name"].strip(), ss[keys.CUSTOM_FORM + "url"].strip().rstrip("/")
    parts = urlsplit(url)
    if not name or parts.scheme not in ("http", "https") or not parts.netloc:
        ss[keys.CUSTOM_ERROR] = "Give the endpoint a name and an http(s) URL such as http://localhost:8000/v1."
        return
    if refusal := policy.refusal(url):  # checked again before every request (netguard.GuardedTransport)
        ss[keys.CUSTOM_ERROR] = refusal
        return
    key = ss[keys.CUSTOM_FORM + "key"].strip()
    ss[keys.CUSTOM_ENDPOINTS] = [e for e in ss.get(keys.CUSTOM_ENDPOINTS, []) if e.name != name] + [
        CustomEndpoint(name, url, Secret(key) if key else None, ss[keys.CUSTOM_FORM + "model"].strip() or None)]
    ss[keys.PROVIDER] = f"custom:{name}"
    ss[keys.CUSTOM_ERROR] = None
    for field in ("name", "url", "key", "model"):
        ss[keys.CUSTOM_FORM + field] = ""


def render_custom_endpoint_form(policy: EndpointPolicy) -> None:
    """Any Azure AI Model Inference or OpenAI-style endpoint: vLLM, Ollama, llama.cpp, another deployment."""
    ss = st.session_state
    expander = lazy_expander("Add an endpoint", keys.ADD_ENDPOINT_OPEN, where=st.sidebar)
    with expander:
        if not expander.open:
            return
        st.text_input("Name", key=keys.CUSTOM_FORM + "name", placeholder="my vLLM")
        st.text_input("URL", key=keys.CUSTOM_FORM + "url", placeholder="http://localhost:8000/v1")
        st.text_input("Key (optional)", key=keys.CUSTOM_FORM + "key", type="password",
                      help="Kept in this browser session only.")
        st.text_input("Model id (optional)", key=keys.CUSTOM_FORM + "model")
        st.button("Add endpoint", on_click=_add_endpoint, args=(policy,))
        if ss.get(keys.CUSTOM_ERROR):
            st.error(ss[keys.CUSTOM_ERROR])
        for entry in ss.get(keys.CUSTOM_ENDPOINTS, []):
            st.caption(f"{entry.name}: {entry.url}")
