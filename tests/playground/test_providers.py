"""Which providers are offered, in which order, and how each authenticates."""

from playground.providers import configured_providers, CustomEndpoint
from playground.settings import Secret, load_settings

EMBEDDED_URL = "http://127.0.0.1:8765"


def kinds(providers):
    return [p.kind for p in providers]


def test_with_nothing_configured_only_the_embedded_model_is_offered():
    assert kinds(configured_providers(load_settings({}, {}, None), EMBEDDED_URL)) == ["embedded"]


def test_default_order_is_azure_then_github_then_embedded():
    settings = load_settings({"GITHUB_TOKEN": "ghp_x", "AZURE_INFERENCE_ENDPOINT": "https://h.eastus.inference.ai.azure.com",
                              "AZURE_INFERENCE_CREDENTIAL": "k"}, {}, None)
    assert kinds(configured_providers(settings, EMBEDDED_URL)) == ["azure", "github", "embedded"]
    settings = load_settings({"GITHUB_TOKEN": "ghp_x"}, {}, None)
    assert kinds(configured_providers(settings, EMBEDDED_URL)) == ["github", "embedded"]


def test_github_uses_the_current_endpoint_and_org_attribution():
    settings = load_settings({"GITHUB_TOKEN": "ghp_x"}, {}, None)
    github = configured_providers(settings, EMBEDDED_URL)[0]
    assert github.endpoint.url == "https://models.github.ai/inference"
    settings = load_settings({"GITHUB_TOKEN": "ghp_x", "GITHUB_MODELS_ORG": "contoso"}, {}, None)
    assert configured_providers(settings, EMBEDDED_URL)[0].endpoint.url == "https://models.github.ai/orgs/contoso/inference"


def test_a_pasted_token_enables_github_for_the_session_and_wins_over_the_environment():
    settings = load_settings({"GITHUB_TOKEN": "ghp_env"}, {}, None)
    github = configured_providers(settings, EMBEDDED_URL, Secret("ghp_pasted"))[0]
    assert github.endpoint.key.reveal() == "ghp_pasted"
    assert github.endpoint.key_variable == "the token pasted for this session"


def test_azure_without_a_key_uses_entra_id():
    settings = load_settings({"AZURE_INFERENCE_ENDPOINT": "https://h.eastus.inference.ai.azure.com"}, {}, None)
    azure = configured_providers(settings, EMBEDDED_URL)[0]
    assert azure.endpoint.entra and azure.endpoint.key is None
    with_key = load_settings({"AZURE_INFERENCE_ENDPOINT": "https://h", "AZURE_INFERENCE_CREDENTIAL": "k"}, {}, None)
    assert not configured_providers(with_key, EMBEDDED_URL)[0].endpoint.entra


def test_custom_endpoints_come_last_with_their_model():
    custom = (CustomEndpoint("vLLM", "http://localhost:8000/v1", None, "qwen"),)
    providers = configured_providers(load_settings({}, {}, None), EMBEDDED_URL, None, custom)
    assert kinds(providers) == ["embedded", "custom"]
    assert (providers[1].endpoint.url, providers[1].model) == ("http://localhost:8000/v1", "qwen")
