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
SHOWN = "shown_messages"  # how many of the latest messages the page draws
SHOWN_STEP = 40  # drawing every message of a long conversation on each rerun is what makes it slow
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
# The rest of the API's parameters and the Llama extras, as the sidebar's inputs hold them.
STOP_SEQUENCES = "stop_sequences"  # one per line
SEED = "seed"  # text: blank means not sent
RESPONSE_FORMAT = "response_format"  # "text" | "json_object" | "json_schema"
SCHEMA_NAME = "schema_name"
SCHEMA_TEXT = "schema_text"
EXTRA_N = "extra_n"
EXTRA_BEST_OF = "extra_best_of"  # 0: not sent
EXTRA_LOGPROBS = "extra_logprobs"  # -1: not sent; else top-k alternatives
EXTRA_IGNORE_EOS = "extra_ignore_eos"
EXTRA_BEAM_SEARCH = "extra_use_beam_search"
EXTRA_STOP_TOKEN_IDS = "extra_stop_token_ids"  # comma-separated ints
EXTRA_SKIP_SPECIAL = "extra_skip_special_tokens"  # "default" | "true" | "false"
RAW_EXTRAS = "raw_extras"  # a JSON object
ADVANCED_DEFAULTS: dict[str, Any] = {
    STOP_SEQUENCES: "", SEED: "", RESPONSE_FORMAT: "text", SCHEMA_NAME: "reply",
    SCHEMA_TEXT: '{\n  "type": "object",\n  "properties": {"answer": {"type": "string"}},\n  "required": ["answer"]\n}',
    EXTRA_N: 1, EXTRA_BEST_OF: 0, EXTRA_LOGPROBS: -1, EXTRA_IGNORE_EOS: False, EXTRA_BEAM_SEARCH: False,
    EXTRA_STOP_TOKEN_IDS: "", EXTRA_SKIP_SPECIAL: "default", RAW_EXTRAS: "",
}
ADVANCED_CHOICES = {RESPONSE_FORMAT: ("text", "json_object", "json_schema"),
                    EXTRA_SKIP_SPECIAL: ("default", "true", "false")}
ADVANCED_RANGES = {EXTRA_N: (1, 8), EXTRA_BEST_OF: (0, 16), EXTRA_LOGPROBS: (-1, 20)}

PARAMETER_RANGES: dict[str, tuple[float, float]] = {
    TEMPERATURE: (0.0, 2.0),
    TOP_P: (0.0, 1.0),
    MAX_TOKENS: (1, 1_000_000),
    PRESENCE_PENALTY: (-2.0, 2.0),
    FREQUENCY_PENALTY: (-2.0, 2.0),
}
# Keys bound to widgets: Streamlit drops these when a page that does not draw the widget runs.
WIDGET_KEYS = (PROVIDER, GITHUB_MODEL, MODEL_ID, CATALOG_SEARCH, CATALOG_PUBLISHERS, CATALOG_CAPABILITY,
               SYSTEM_PROMPT, *PARAMETER_DEFAULTS, *ADVANCED_DEFAULTS)


def init(state: MutableMapping[str, Any]) -> None:
    for key, value in {**DEFAULTS, **ADVANCED_DEFAULTS}.items():
        state.setdefault(key, value)
    state.setdefault(MESSAGES, [])
    state.setdefault(CUSTOM_ENDPOINTS, [])
    state.setdefault(CONVERSATION_ID, None)
    state.setdefault(ERROR, None)
    state.setdefault(SHOWN, SHOWN_STEP)
    # Re-assigning a widget's value detaches it from the widget, so it survives page switches.
    for key in WIDGET_KEYS:
        if key in state:
            state[key] = state[key]


def new_chat(state: MutableMapping[str, Any]) -> None:
    state[MESSAGES] = []
    state[ERROR] = None
    state[CONVERSATION_ID] = None
    state[SHOWN] = SHOWN_STEP


def show_earlier(state: MutableMapping[str, Any]) -> None:
    state[SHOWN] = state.get(SHOWN, SHOWN_STEP) + SHOWN_STEP


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
        "advanced": {key: state.get(key) for key in ADVANCED_DEFAULTS},
    }


def apply_parameters(state: MutableMapping[str, Any], parameters: dict[str, Any]) -> None:
    """Take known numeric parameters, clamped to the controls' ranges; ignore anything else."""
    for key, default in PARAMETER_DEFAULTS.items():
        value = parameters.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            low, high = PARAMETER_RANGES[key]
            state[key] = type(default)(min(max(value, low), high))


def apply_advanced(state: MutableMapping[str, Any], advanced: dict[str, Any]) -> None:
    """Take the advanced inputs' values when they have the input's type; ignore anything else."""
    for key, default in ADVANCED_DEFAULTS.items():
        value = advanced.get(key)
        if type(value) is not type(default) or value not in ADVANCED_CHOICES.get(key, (value,)):
            continue
        if key in ADVANCED_RANGES:
            low, high = ADVANCED_RANGES[key]
            value = min(max(value, low), high)
        state[key] = value


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
    if isinstance(setup.get("advanced"), dict):
        apply_advanced(state, setup["advanced"])
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
