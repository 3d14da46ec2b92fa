"""The sidebar's provider and model picker, the session-only token and custom endpoints."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import streamlit as st

from components.lazy import lazy_expander
from components.plain_text import plain
from playground import state as keys
from playground.catalog import builtin_card, filter_models
from playground.netguard import EndpointPolicy
from playground.providers import (
    AZURE,
    FOUNDRY,
    GITHUB,
    CustomEndpoint,
    ModelChoice,
    ModelListing,
    Provider,
    model_choices,
)
from playground.settings import Secret
from playground.types import INFERENCE, OPENAI

ListingLoader = Callable[[Provider], ModelListing]
PREFERRED_GITHUB_MODEL = "microsoft/phi-3-mini-4k-instruct"
OTHER = "\x00other"  # the selectbox entry that opens the free-text model id
OTHER_LABEL = "Other model id…"


def render_model_picker(providers: list[Provider], load_listing: ListingLoader) -> ModelChoice:
    ss = st.session_state
    by_id = {p.id: p for p in providers}
    if ss.get(keys.PROVIDER) not in by_id:
        ss[keys.PROVIDER] = providers[0].id
    provider = by_id[st.sidebar.selectbox("Provider", list(by_id), format_func=lambda i: by_id[i].label,
                                          key=keys.PROVIDER, persist_state=keys.KEEP)]
    if provider.kind == GITHUB:
        st.sidebar.warning("GitHub Models was retired on 2026-07-30; GITHUB_MODELS_URL points at a service that "
                           "may no longer answer. Microsoft Foundry (AZURE_OPENAI_ENDPOINT) serves "
                           "its Phi, Meta Llama and OpenAI models.",
                           icon=":material/history:")
        return _github_model(provider, load_listing(provider))
    if provider.lists_models:
        return _listed_model(provider, load_listing(provider))
    if provider.kind == AZURE:
        if ss.get(keys.MODEL) == OTHER:  # left by an OpenAI v1 provider's picker
            ss[keys.MODEL] = ""
        model_id = st.sidebar.text_input(
            "Model id", key=keys.MODEL, persist_state=keys.KEEP, placeholder="the deployment's own model",
            help="Only for endpoints that serve several models (a Foundry resource's /models route); "
                 "leave empty for a single deployment, whose /info names its model.")
        return ModelChoice(provider, model_id.strip() or None)
    return ModelChoice(provider, provider.model)


def _listed_model(provider: Provider, listing: ModelListing) -> ModelChoice:
    """An OpenAI v1 endpoint: its live model list (searchable), the built-in list when the live one
    cannot be read (Foundry), and a free-text id for anything else."""
    ss = st.session_state
    choices = model_choices(provider, listing)
    what = "Deployment" if provider.kind == FOUNDRY else "Model"
    search = st.sidebar.text_input(f"Search {what.lower()}s", key=keys.MODEL_SEARCH, persist_state=keys.KEEP,
                                   placeholder="part of a name") if choices else ""
    needle = search.strip().lower()
    shown = [c for c in choices if needle in (c.model or "").lower()]
    if choices and not shown:
        st.sidebar.warning("No model matches the search; showing all.")
        shown = choices
    by_model = {c.model: c for c in shown if c.model}
    options = [*by_model, OTHER]
    if ss.get(keys.MODEL) not in options:
        ss[keys.MODEL] = provider.model if provider.model in by_model else options[0]
    picked = st.sidebar.selectbox(what, options, key=keys.MODEL, persist_state=keys.KEEP,
                                  format_func=lambda m: OTHER_LABEL if m == OTHER else str(m))
    # Options of a selectbox are drawn as text; these messages are markdown and quote the server.
    if listing.offline_reason and listing.cards:
        st.sidebar.warning(f"Offline list: {plain(listing.offline_reason)}", icon=":material/cloud_off:")
    elif listing.offline_reason:
        st.sidebar.warning(f"No model list: {plain(listing.offline_reason)} Type the model id.",
                           icon=":material/cloud_off:")
    elif not listing.entries:
        st.sidebar.caption("The endpoint lists no models; type one.")
    else:
        st.sidebar.caption(f"Live list · {len(listing.entries)} models")
    if picked != OTHER:
        return by_model[picked]
    typed = st.sidebar.text_input(
        "Deployment name" if provider.kind == FOUNDRY else "Model id", key=keys.MODEL_OTHER,
        persist_state=keys.KEEP, placeholder="as the endpoint names it",
        help="Sent as `model`. On Microsoft Foundry it is the deployment's name.").strip()
    known = next((c for c in choices if c.model == typed), None)
    return known or ModelChoice(provider, typed or None, builtin_card(typed) if typed else None)


def _github_model(provider: Provider, listing: ModelListing) -> ModelChoice:
    ss = st.session_state
    models = list(listing.cards)
    with st.sidebar.expander("Find a model"):
        search = st.text_input("Search", key=keys.MODEL_SEARCH, persist_state=keys.KEEP,
                               placeholder="name, summary or tag")
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
    if listing.offline_reason:
        st.sidebar.warning(f"Offline list: {plain(listing.offline_reason)}", icon=":material/cloud_off:")
    else:
        st.sidebar.caption(f"Live catalog · {len(models)} models")
    if card.summary:
        st.sidebar.caption(plain(card.summary))
    return ModelChoice(provider, card.id, card)


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
    """Only drawn when GITHUB_MODELS_URL is set: GitHub Models was retired on 2026-07-30."""
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
    api = ss.get(keys.CUSTOM_FORM + "api") or OPENAI
    ss[keys.CUSTOM_ENDPOINTS] = [e for e in ss.get(keys.CUSTOM_ENDPOINTS, []) if e.name != name] + [
        CustomEndpoint(name, url, Secret(key) if key else None, ss[keys.CUSTOM_FORM + "model"].strip() or None, api)]
    ss[keys.PROVIDER] = f"custom:{name}"
    ss[keys.CUSTOM_ERROR] = None
    for field in ("name", "url", "key", "model"):
        ss[keys.CUSTOM_FORM + field] = ""


API_LABELS = {OPENAI: "OpenAI-compatible (/chat/completions, /models)",
              INFERENCE: "Azure AI Model Inference (/chat/completions, /info)"}


def render_custom_endpoint_form(policy: EndpointPolicy) -> None:
    """Any OpenAI-compatible server (vLLM, Ollama, LM Studio, llama.cpp's llama-server, another
    Foundry resource) or Azure AI Model Inference endpoint, for this browser session only."""
    ss = st.session_state
    expander = lazy_expander("Add an endpoint", keys.ADD_ENDPOINT_OPEN, where=st.sidebar)
    with expander:
        if not expander.open:
            return
        st.text_input("Name", key=keys.CUSTOM_FORM + "name", placeholder="my vLLM")
        st.radio("API", list(API_LABELS), format_func=API_LABELS.__getitem__, key=keys.CUSTOM_FORM + "api")
        st.text_input("URL", key=keys.CUSTOM_FORM + "url", placeholder="http://localhost:11434/v1",
                      help="The base URL: Ollama http://localhost:11434/v1, vLLM http://localhost:8000/v1, "
                           "Foundry https://<resource>.services.ai.azure.com/openai/v1.")
        st.text_input("Key (optional)", key=keys.CUSTOM_FORM + "key", type="password",
                      help="Kept in this browser session only.")
        st.text_input("Model id (optional)", key=keys.CUSTOM_FORM + "model")
        st.button("Add endpoint", on_click=_add_endpoint, args=(policy,))
        if ss.get(keys.CUSTOM_ERROR):
            st.error(plain(ss[keys.CUSTOM_ERROR]))  # it may quote the URL or its host
        for entry in ss.get(keys.CUSTOM_ENDPOINTS, []):
            api = API_LABELS.get(entry.api, entry.api).split(" (")[0]
            st.caption(f"{plain(entry.name)}: {plain(entry.url)} ({api})")
