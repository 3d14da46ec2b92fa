"""Owns every session-state key. Works on any MutableMapping, so it needs no Streamlit.

A message is a dict: {"role", "content"} plus, for replies, "metrics" (see `reply_metrics`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, MutableMapping

MESSAGES = "messages"
ERROR = "error"  # the last request's error message, shown until the next send
RETRY = "retry"  # set by the Retry button: send the conversation again
GENERATION = "generation"  # the reply being streamed in this session, if any
CONVERSATION_ID = "conversation_id"  # the stored conversation shown, once it has a first message
PROVIDER = "provider"
GITHUB_MODEL = "github_model"
MODEL_ID = "model_id"  # free-text model id for multi-model Azure endpoints
CATALOG_SEARCH = "catalog_search"
CATALOG_PUBLISHERS = "catalog_publishers"
CATALOG_CAPABILITY = "catalog_capability"
SESSION_GITHUB_TOKEN = "session_github_token"  # a Secret pasted for this session only
CUSTOM_ENDPOINTS = "custom_endpoints"  # CustomEndpoint list, this session only
SYSTEM_PROMPT = "system_prompt"
TEMPERATURE = "temperature"
TOP_P = "top_p"
MAX_TOKENS = "max_tokens"
PRESENCE_PENALTY = "presence_penalty"
FREQUENCY_PENALTY = "frequency_penalty"

PARAMETER_DEFAULTS: dict[str, Any] = {
    TEMPERATURE: 0.7,
    TOP_P: 0.95,
    MAX_TOKENS: 512,
    PRESENCE_PENALTY: 0.0,
    FREQUENCY_PENALTY: 0.0,
}
DEFAULTS: dict[str, Any] = {SYSTEM_PROMPT: "You are a helpful assistant.", **PARAMETER_DEFAULTS}
PARAMETER_RANGES: dict[str, tuple[float, float]] = {
    TEMPERATURE: (0.0, 2.0),
    TOP_P: (0.0, 1.0),
    MAX_TOKENS: (1, 1_000_000),
    PRESENCE_PENALTY: (-2.0, 2.0),
    FREQUENCY_PENALTY: (-2.0, 2.0),
}
# Keys bound to widgets: Streamlit drops these when a page that does not draw the widget runs.
WIDGET_KEYS = (PROVIDER, GITHUB_MODEL, MODEL_ID, CATALOG_SEARCH, CATALOG_PUBLISHERS, CATALOG_CAPABILITY,
               SYSTEM_PROMPT, *PARAMETER_DEFAULTS)


def init(state: MutableMapping[str, Any]) -> None:
    for key, value in DEFAULTS.items():
        state.setdefault(key, value)
    state.setdefault(MESSAGES, [])
    state.setdefault(CUSTOM_ENDPOINTS, [])
    state.setdefault(CONVERSATION_ID, None)
    state.setdefault(ERROR, None)
    # Re-assigning a widget's value detaches it from the widget, so it survives page switches.
    for key in WIDGET_KEYS:
        if key in state:
            state[key] = state[key]


def new_chat(state: MutableMapping[str, Any]) -> None:
    state[MESSAGES] = []
    state[ERROR] = None
    state[CONVERSATION_ID] = None


def setup_snapshot(state: MutableMapping[str, Any], provider_id: str, provider_label: str,
                   model: str | None, model_label: str) -> dict[str, Any]:
    """What a saved conversation records about how it was made (never a key or token)."""
    return {
        "provider": provider_id,
        "provider_label": provider_label,
        "model": model,
        "model_label": model_label,
        "system_prompt": state.get(SYSTEM_PROMPT, ""),
        "parameters": {key: state.get(key) for key in PARAMETER_DEFAULTS},
    }


def apply_parameters(state: MutableMapping[str, Any], parameters: dict[str, Any]) -> None:
    """Take known numeric parameters, clamped to the controls' ranges; ignore anything else."""
    for key, default in PARAMETER_DEFAULTS.items():
        value = parameters.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            low, high = PARAMETER_RANGES[key]
            state[key] = type(default)(min(max(value, low), high))


def load_conversation(state: MutableMapping[str, Any], conversation_id: str, setup: dict[str, Any],
                      messages: list[dict[str, Any]]) -> None:
    """Show a stored conversation with the system prompt, parameters and model it was made with.
    Only known keys with values of the right type are taken: an imported file is untrusted."""
    new_chat(state)
    state[CONVERSATION_ID] = conversation_id
    state[MESSAGES] = messages
    if isinstance(setup.get("system_prompt"), str):
        state[SYSTEM_PROMPT] = setup["system_prompt"]
    parameters = setup.get("parameters") if isinstance(setup.get("parameters"), dict) else {}
    apply_parameters(state, parameters)
    if isinstance(setup.get("provider"), str):
        state[PROVIDER] = setup["provider"]
        if setup["provider"] == "github" and isinstance(setup.get("model"), str):
            state[GITHUB_MODEL] = setup["model"]


def messages(state: MutableMapping[str, Any]) -> list[dict[str, Any]]:
    return state[MESSAGES]


def add_message(state: MutableMapping[str, Any], role: str, content: str, **extra: Any) -> None:
    state[MESSAGES].append({"role": role, "content": content, **extra})


def request_messages(state: MutableMapping[str, Any]) -> list[dict[str, str]]:
    """What is sent: the system prompt (if any) and the conversation, without metrics."""
    system = (state.get(SYSTEM_PROMPT) or "").strip()
    head = [{"role": "system", "content": system}] if system else []
    return head + [{"role": m["role"], "content": m["content"]} for m in state[MESSAGES]]


def request_retry(state: MutableMapping[str, Any]) -> None:
    state[RETRY] = True


@dataclass
class Generation:
    """The reply a run is streaming. Streamlit starts the next run on a new thread while the
    interrupted one is still unwinding (fast reruns), so the next run must wait for the
    interrupted reply to be saved before it draws the conversation."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    stream: Any = None  # a ChatStream while one is being drawn


def generation(state: MutableMapping[str, Any]) -> Generation:
    if GENERATION not in state:
        state[GENERATION] = Generation()
    return state[GENERATION]


def settle_interrupted_reply(state: MutableMapping[str, Any], timeout: float = 5.0) -> None:
    """Stop a reply an earlier run left streaming and wait until it is saved."""
    current = generation(state)
    if current.stream is not None:
        current.stream.cancel()
    if current.lock.acquire(timeout=timeout):
        current.lock.release()
