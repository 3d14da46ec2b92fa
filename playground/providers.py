"""Where a user can send requests: the configured services, the embedded model and custom endpoints,
and the model choices each offers (one list, used by the Chat picker and Compare alike)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from .catalog import BUILTIN_MODELS, CatalogModel, builtin_card
from .local_endpoint.model import CONTEXT_LENGTH, MODEL_NAME
from .settings import Secret, Settings
from .types import INFERENCE, OPENAI, Endpoint, ModelEntry

# Provider kinds. "azure" is the Model Inference API (kept as the id scripts already use).
FOUNDRY, AZURE, OPENAI_COMPATIBLE, GITHUB, EMBEDDED, CUSTOM = "foundry", "azure", "openai", "github", "embedded", \
    "custom"
FOUNDRY_LABEL = "Microsoft Foundry (OpenAI v1)"
INFERENCE_LABEL = "Microsoft Foundry (Model Inference API)"
GITHUB_LABEL = "GitHub Models (retired 2026-07-30)"
OPENAI_DEFAULT_URL = "https://api.openai.com/v1"  # what the openai SDK uses when OPENAI_BASE_URL is unset
DEFAULT_MAX_OUTPUT = 4096
# Hosts of Microsoft Foundry / Azure OpenAI resources: their model names are the built-in list's.
FOUNDRY_HOSTS = (".openai.azure.com", ".services.ai.azure.com", ".cognitiveservices.azure.com")


@dataclass(frozen=True)
class CustomEndpoint:
    """An endpoint a user added in the UI; lives in that browser session only."""

    name: str
    url: str
    key: Secret | None = None
    model: str | None = None
    api: str = INFERENCE  # INFERENCE (Azure AI Model Inference) or OPENAI (OpenAI-compatible)


@dataclass(frozen=True)
class Provider:
    id: str  # stable within a session: "foundry", "azure", "openai", "github", "embedded", "custom:<name>"
    kind: str
    label: str
    endpoint: Endpoint
    model: str | None = None  # a fixed model id (custom endpoints)
    model_name: str | None = None  # the name of the one model it serves, when known (the embedded endpoint)

    @property
    def lists_models(self) -> bool:
        """OpenAI v1 endpoints list their models (`GET {base}/models`); GitHub has its catalog."""
        return self.kind == GITHUB or self.endpoint.api == OPENAI

    @property
    def is_foundry(self) -> bool:
        host = (urlsplit(self.endpoint.url).hostname or "").lower()
        return self.kind in (FOUNDRY, AZURE) or host.endswith(FOUNDRY_HOSTS)


@dataclass(frozen=True)
class ModelListing:
    """What a provider's model list said: the models an endpoint listed (`entries`), or cards
    (GitHub's catalog; the built-in list when the live list could not be read, with the reason)."""

    entries: tuple[ModelEntry, ...] = ()
    cards: tuple[CatalogModel, ...] = ()
    offline_reason: str | None = None
    source: str = ""  # where the live list came from, e.g. "GET https://.../openai/v1/models"


@dataclass(frozen=True)
class ModelChoice:
    provider: Provider
    model: str | None  # sent as `model`; None for a single-model deployment
    card: CatalogModel | None = None  # catalog or built-in metadata, when known
    entry: ModelEntry | None = None  # what the endpoint's model list said about it

    @property
    def endpoint(self) -> Endpoint:
        return self.provider.endpoint

    @property
    def label(self) -> str:
        if self.card and not self.entry:
            return f"{self.card.name} · {self.provider.label}"
        if self.provider.kind == EMBEDDED:
            return f"{self.provider.model_name or MODEL_NAME} · embedded"
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
        fixed = {FOUNDRY: "AZURE_OPENAI_API_KEY", AZURE: "AZURE_INFERENCE_CREDENTIAL", GITHUB: "GITHUB_TOKEN"}
        if kind in fixed:
            return fixed[kind]
        if kind == OPENAI_COMPATIBLE:
            return "OPENAI_API_KEY" if endpoint.key else None
        if kind == EMBEDDED:
            return "PLAYGROUND_LOCAL_API_KEY" if endpoint.key else None
        return "API_KEY" if endpoint.key else None

    @property
    def model_problem(self) -> str | None:
        """Why this choice cannot be sent, or None. Foundry's OpenAI v1 routes need the deployment."""
        if self.provider.kind == FOUNDRY and not self.model:
            return (f"{FOUNDRY_LABEL} needs the deployment name as the model: pick one from the list "
                    "or type it under \"Other model id…\".")
        return None


def model_choices(provider: Provider, listing: ModelListing | None = None) -> list[ModelChoice]:
    """The models `provider` offers, given what its list said (`listing`, for providers that list
    models). A listing with nothing in it offers nothing: the user types a model id instead."""
    if provider.kind == GITHUB:
        return [ModelChoice(provider, card.id, card) for card in (listing.cards if listing else ())]
    if provider.lists_models and listing is not None:
        listed = [ModelChoice(provider, entry.id, builtin_card(entry.id), entry) for entry in listing.entries]
        offline = [ModelChoice(provider, card.id, card) for card in listing.cards]
        return listed + offline
    if provider.lists_models and not provider.model:
        return []
    return [ModelChoice(provider, provider.model)]


def offline_cards(provider: Provider) -> tuple[CatalogModel, ...]:
    """The built-in list, for Foundry endpoints only: its names mean nothing to Ollama or vLLM."""
    return BUILTIN_MODELS if provider.is_foundry else ()


def github_inference_url(settings: Settings) -> str:
    base = settings.github_models_url or ""
    return f"{base}/orgs/{settings.github_models_org}/inference" if settings.github_models_org else f"{base}/inference"


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def configured_providers(
    settings: Settings,
    embedded_url: str,
    session_github_token: Secret | None = None,
    custom: tuple[CustomEndpoint, ...] = (),
    embedded_model: str | None = None,
) -> list[Provider]:
    """In default-selection order: Microsoft Foundry (OpenAI v1, then Model Inference API), an
    OpenAI-compatible server, GitHub Models (retired: only with an explicit GITHUB_MODELS_URL),
    the embedded model, custom endpoints."""
    providers: list[Provider] = []
    if settings.azure_openai_endpoint:
        key = settings.azure_openai_api_key
        providers.append(Provider(FOUNDRY, FOUNDRY, FOUNDRY_LABEL, Endpoint(
            settings.azure_openai_endpoint, "Microsoft Foundry", key, "AZURE_OPENAI_API_KEY",
            entra=key is None, api=OPENAI)))
    if settings.azure_inference_endpoint:
        providers.append(Provider(AZURE, AZURE, INFERENCE_LABEL, Endpoint(
            settings.azure_inference_endpoint, INFERENCE_LABEL, settings.azure_inference_credential,
            "AZURE_INFERENCE_CREDENTIAL", entra=settings.azure_inference_credential is None)))
    if settings.openai_base_url or settings.openai_api_key:
        url = settings.openai_base_url or OPENAI_DEFAULT_URL
        label = f"OpenAI-compatible ({_host(url)})"
        providers.append(Provider(OPENAI_COMPATIBLE, OPENAI_COMPATIBLE, label, Endpoint(
            url, label, settings.openai_api_key, "OPENAI_API_KEY", api=OPENAI)))
    # Codespaces always set GITHUB_TOKEN: on its own it selects nothing since the retirement.
    token = session_github_token or settings.github_token
    if settings.github_models_url and token:
        variable = "the token pasted for this session" if session_github_token else "GITHUB_TOKEN"
        providers.append(Provider(GITHUB, GITHUB, GITHUB_LABEL, Endpoint(
            github_inference_url(settings), "GitHub Models", token, variable)))
    providers.append(Provider(EMBEDDED, EMBEDDED, "Embedded model (offline)", Endpoint(
        embedded_url, "The embedded model", settings.local_api_key, "PLAYGROUND_LOCAL_API_KEY"),
        model_name=embedded_model))
    for entry in custom:
        providers.append(Provider(f"{CUSTOM}:{entry.name}", CUSTOM, entry.name, Endpoint(
            entry.url, entry.name, entry.key, f"the key of '{entry.name}'", api=entry.api), model=entry.model))
    return providers
