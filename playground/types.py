"""Value types every layer shares: where requests go, what they carry, what comes back.

No SDK here: the transports (playground.transports) turn these into SDK calls and back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .settings import Secret

INFERENCE, OPENAI = "inference", "openai"  # the two wire APIs an endpoint can speak
APIS = (INFERENCE, OPENAI)


@dataclass(frozen=True)
class Endpoint:
    """Where requests go and how they authenticate. `key_variable` names the setting a user
    fixes when the key is refused; `api` is the wire API: Azure AI Model Inference or OpenAI v1."""

    url: str
    label: str
    key: Secret | None = None
    key_variable: str | None = None
    # No key: authenticate with Microsoft Entra ID (DefaultAzureCredential) instead.
    entra: bool = False
    api: str = INFERENCE


@dataclass(frozen=True)
class ChatParams:
    """The request's parameters. `None` means "not sent": the service's default applies."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # None/"text", "json_object", or {"name", "schema", "description"?, "strict"?} for a JSON schema.
    response_format: str | dict[str, Any] | None = None
    # Model-specific parameters sent as extra body fields (Model Inference: extra-parameters: pass-through).
    extras: dict[str, Any] = field(default_factory=dict)
    # Function definitions in the wire form ({"type": "function", "function": {...}}) and the choice.
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        """The JSON fields these parameters add to the request body, exactly as sent (without
        `extras`, which go into the body root). Penalties at 0 are the API default and left out,
        so the request stays minimal."""
        values: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "presence_penalty": self.presence_penalty or None,
            "frequency_penalty": self.frequency_penalty or None,
            "stop": list(self.stop) or None,
            "seed": self.seed,
            "tools": [dict(tool) for tool in self.tools] or None,
            "tool_choice": self.tool_choice if self.tools else None,
        }
        if self.response_format == "json_object":
            values["response_format"] = {"type": "json_object"}
        elif isinstance(self.response_format, dict):
            values["response_format"] = {"type": "json_schema", "json_schema": self.response_format}
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class Reply:
    """A whole (non-streamed) reply: one entry per choice in `texts`, `finish_reasons` and
    `logprobs` (None for a choice without them), ordered by choice index."""

    texts: tuple[str, ...]
    finish_reasons: tuple[str | None, ...]
    logprobs: tuple[list[dict[str, Any]] | None, ...]
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    elapsed: float | None = None
    # The first choice's tool calls in the wire form ({"id", "type": "function", "function": {...}}).
    tool_calls: tuple[dict[str, Any], ...] = ()

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""

    @property
    def finish_reason(self) -> str | None:
        return self.finish_reasons[0] if self.finish_reasons else None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    model_type: str
    provider: str


@dataclass(frozen=True)
class ModelEntry:
    """One model an endpoint lists (`GET {base}/models`)."""

    id: str
    owned_by: str | None = None
