"""Where a user can send requests: the configured services, the embedded model and custom endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import CatalogModel
from .client import Endpoint
from .local_endpoint.model import CONTEXT_LENGTH, MODEL_NAME
from .settings import Secret, Settings

AZURE, GITHUB, EMBEDDED, CUSTOM = "azure", "github", "embedded", "custom"
DEFAULT_MAX_OUTPUT = 4096


@dataclass(frozen=True)
class CustomEndpoint:
    """An endpoint a user added in the UI; lives in that browser session only."""

    name: str
    url: str
    key: Secret | None = None
    model: str | None = None


@dataclass(frozen=True)
class Provider:
    id: str  # stable within a session: "azure", "github", "embedded", "custom:<name>"
    kind: str
    label: str
    endpoint: Endpoint
    model: str | None = None  # a fixed model id (custom endpoints); GitHub picks from the catalog


@dataclass(frozen=True)
class ModelChoice:
    provider: Provider
    model: str | None  # sent as `model`; None for a single-model deployment
    card: CatalogModel | None = None  # catalog metadata, when known

    @property
    def endpoint(self) -> Endpoint:
        return self.provider.endpoint

    @property
    def label(self) -> str:
        if self.card:
            return f"{self.card.name} · {self.provider.label}"
        if self.provider.kind == EMBEDDED:
            return f"{MODEL_NAME} · embedded"
        return f"{self.model} · {self.provider.label}" if self.model else self.provider.label

    @property
    def max_output_tokens(self) -> int:
        if self.card and self.card.max_output_tokens:
            return self.card.max_output_tokens
        return CONTEXT_LENGTH // 2 if self.provider.kind == EMBEDDED else DEFAULT_MAX_OUTPUT

    @property
    def is_reasoning(self) -> bool:
        return bool(self.card and self.card.is_reasoning)

    @property
    def accepts_images(self) -> bool | None:
        """Whether the model reads images, by its catalog card; None when no metadata says."""
        return "image" in self.card.input_modalities if self.card else None

    @property
    def key_environment_variable(self) -> str | None:
        """The variable exported code reads the key from (never the key itself)."""
        kind, endpoint = self.provider.kind, self.provider.endpoint
        if kind == GITHUB:
            return "GITHUB_TOKEN"
        if kind == AZURE:
            return "AZURE_INFERENCE_CREDENTIAL"
        if kind == EMBEDDED:
            return "PLAYGROUND_LOCAL_API_KEY" if endpoint.key else None
        return "API_KEY" if endpoint.key else None


def github_inference_url(settings: Settings) -> str:
    base = settings.github_models_url
    return f"{base}/orgs/{settings.github_models_org}/inference" if settings.github_models_org else f"{base}/inference"


def configured_providers(
    settings: Settings,
    embedded_url: str,
    session_github_token: Secret | None = None,
    custom: tuple[CustomEndpoint, ...] = (),
) -> list[Provider]:
    """In default-selection order: Azure endpoint, GitHub Models, the embedded model, custom ones."""
    providers: list[Provider] = []
    if settings.azure_inference_endpoint:
        providers.append(Provider(AZURE, AZURE, "Azure AI endpoint", Endpoint(
            settings.azure_inference_endpoint, "The Azure AI endpoint", settings.azure_inference_credential,
            "AZURE_INFERENCE_CREDENTIAL", entra=settings.azure_inference_credential is None,
        )))
    token = session_github_token or settings.github_token
    if token:
        variable = "the token pasted for this session" if session_github_token else "GITHUB_TOKEN"
        providers.append(Provider(GITHUB, GITHUB, "GitHub Models", Endpoint(
            github_inference_url(settings), "GitHub Models", token, variable)))
    providers.append(Provider(EMBEDDED, EMBEDDED, "Embedded model (offline)", Endpoint(
        embedded_url, "The embedded model", settings.local_api_key, "PLAYGROUND_LOCAL_API_KEY")))
    for entry in custom:
        providers.append(Provider(f"{CUSTOM}:{entry.name}", CUSTOM, entry.name, Endpoint(
            entry.url, entry.name, entry.key, f"the key of '{entry.name}'"), model=entry.model))
    return providers
