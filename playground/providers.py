"""The models a user can pick, built from the settings: the embedded model is always there."""

from __future__ import annotations

from dataclasses import dataclass

from .client import Endpoint
from .local_endpoint.model import CONTEXT_LENGTH, MODEL_NAME
from .settings import Settings

# Used when the live catalog is not consulted: the Phi-3 family and Meta Llama instruct models.
GITHUB_BUILTIN_MODELS = (
    "microsoft/phi-3-medium-128k-instruct",
    "microsoft/phi-3-medium-4k-instruct",
    "microsoft/phi-3-mini-128k-instruct",
    "microsoft/phi-3-mini-4k-instruct",
    "microsoft/phi-3-small-128k-instruct",
    "microsoft/phi-3-small-8k-instruct",
    "meta/llama-3.3-70b-instruct",
    "meta/meta-llama-3.1-8b-instruct",
    "meta/meta-llama-3.1-405b-instruct",
)
GITHUB_MAX_OUTPUT_TOKENS = 4000  # free-tier cap per request


@dataclass(frozen=True)
class ModelChoice:
    label: str
    endpoint: Endpoint
    model: str | None  # sent as `model`; None for a single-model deployment
    max_output_tokens: int


def available_models(settings: Settings, embedded_url: str) -> list[ModelChoice]:
    """Choices in default-selection order: Azure endpoint, then GitHub Models, then embedded."""
    choices: list[ModelChoice] = []
    if settings.azure_inference_endpoint:
        azure = Endpoint(settings.azure_inference_endpoint, "Azure AI endpoint",
                         settings.azure_inference_credential, "AZURE_INFERENCE_CREDENTIAL")
        choices.append(ModelChoice("Azure AI endpoint (its deployed model)", azure, None, 4096))
    if settings.github_token:
        base = settings.github_models_url
        url = f"{base}/orgs/{settings.github_models_org}/inference" if settings.github_models_org else f"{base}/inference"
        github = Endpoint(url, "GitHub Models", settings.github_token, "GITHUB_TOKEN")
        choices += [ModelChoice(f"GitHub Models · {m}", github, m, GITHUB_MAX_OUTPUT_TOKENS) for m in GITHUB_BUILTIN_MODELS]
    embedded = Endpoint(embedded_url, "The embedded model", settings.local_api_key, "PLAYGROUND_LOCAL_API_KEY")
    choices.append(ModelChoice(f"Embedded · {MODEL_NAME} (offline)", embedded, None, CONTEXT_LENGTH // 2))
    return choices
