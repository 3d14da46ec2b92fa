"""Which providers are offered, in which order, how each authenticates, and the models each offers."""

from playground import compare
from playground.catalog import BUILTIN_MODELS, CatalogModel
from playground.providers import (
    AZURE,
    CUSTOM,
    EMBEDDED,
    FOUNDRY,
    GITHUB,
    OPENAI_COMPATIBLE,
    CustomEndpoint,
    ModelChoice,
    ModelListing,
    configured_providers,
    model_choices,
    offline_cards,
)
from playground.settings import Secret, load_settings
from playground.types import INFERENCE, OPENAI, ModelEntry

EMBEDDED_URL = "http://127.0.0.1:8765"
FOUNDRY_URL = "https://contoso.services.ai.azure.com/openai/v1"
EVERYTHING = {"AZURE_OPENAI_ENDPOINT": FOUNDRY_URL, "AZURE_OPENAI_API_KEY": "fk",
              "AZURE_INFERENCE_ENDPOINT": "https://h.eastus.inference.ai.azure.com", "AZURE_INFERENCE_CREDENTIAL": "k",
              "OPENAI_BASE_URL": "http://localhost:11434/v1", "GITHUB_TOKEN": "ghp_x",
              "GITHUB_MODELS_URL": "https://models.github.ai"}


def kinds(providers):
    return [p.kind for p in providers]


def providers_for(env: dict, *args):
    return configured_providers(load_settings(env, {}, None), EMBEDDED_URL, *args)


def test_with_nothing_configured_only_the_embedded_model_is_offered():
    assert kinds(providers_for({})) == [EMBEDDED]


def test_a_codespace_token_alone_selects_nothing_since_github_models_was_retired():
    assert kinds(providers_for({"GITHUB_TOKEN": "ghp_codespace"})) == [EMBEDDED]
    assert kinds(providers_for({"GITHUB_TOKEN": "ghp_x"}, Secret("ghp_pasted"))) == [EMBEDDED]


def test_default_order_is_foundry_v1_then_model_inference_then_openai_compatible_then_github_then_embedded():
    providers = providers_for(EVERYTHING)
    assert kinds(providers) == [FOUNDRY, AZURE, OPENAI_COMPATIBLE, GITHUB, EMBEDDED]
    assert [p.label for p in providers] == [
        "Microsoft Foundry (OpenAI v1)", "Microsoft Foundry (Model Inference API)",
        "OpenAI-compatible (localhost:11434)",
        "GitHub Models (retired 2026-07-30)", "Embedded model (offline)"]


def test_foundry_speaks_openai_v1_with_its_key_or_entra_id():
    foundry = providers_for({"AZURE_OPENAI_ENDPOINT": FOUNDRY_URL, "AZURE_OPENAI_API_KEY": "fk"})[0]
    assert (foundry.endpoint.url, foundry.endpoint.api, foundry.endpoint.entra) == (FOUNDRY_URL, OPENAI, False)
    assert foundry.endpoint.key_variable == "AZURE_OPENAI_API_KEY" and foundry.lists_models
    keyless = providers_for({"AZURE_OPENAI_ENDPOINT": FOUNDRY_URL})[0]
    assert keyless.endpoint.entra and keyless.endpoint.key is None
    choice = ModelChoice(keyless, None)
    assert choice.key_environment_variable == "AZURE_OPENAI_API_KEY"
    assert "deployment name" in choice.model_problem  # Foundry's v1 routes require `model`
    assert ModelChoice(keyless, "gpt-4o-mini").model_problem is None


def test_model_inference_without_a_key_uses_entra_id():
    azure = providers_for({"AZURE_INFERENCE_ENDPOINT": "https://h.eastus.inference.ai.azure.com"})[0]
    assert azure.endpoint.entra and azure.endpoint.key is None and azure.endpoint.api == INFERENCE
    assert not azure.lists_models
    with_key = providers_for({"AZURE_INFERENCE_ENDPOINT": "https://h", "AZURE_INFERENCE_CREDENTIAL": "k"})[0]
    assert not with_key.endpoint.entra
    assert ModelChoice(with_key, None).key_environment_variable == "AZURE_INFERENCE_CREDENTIAL"


def test_an_openai_compatible_server_needs_no_key_and_openai_itself_is_the_sdk_default():
    ollama = providers_for({"OPENAI_BASE_URL": "http://localhost:11434/v1"})[0]
    assert (ollama.kind, ollama.endpoint.key, ollama.endpoint.api) == (OPENAI_COMPATIBLE, None, OPENAI)
    assert ModelChoice(ollama, "llama3.2").key_environment_variable is None
    openai = providers_for({"OPENAI_API_KEY": "sk-x"})[0]
    assert openai.endpoint.url == "https://api.openai.com/v1" and openai.label == "OpenAI-compatible (api.openai.com)"
    assert ModelChoice(openai, "gpt-4o-mini").key_environment_variable == "OPENAI_API_KEY"


def test_github_only_with_an_explicit_url_and_org_attribution():
    github = providers_for({"GITHUB_TOKEN": "ghp_x", "GITHUB_MODELS_URL": "https://models.github.ai"})[0]
    assert github.endpoint.url == "https://models.github.ai/inference"
    org = providers_for({"GITHUB_TOKEN": "ghp_x", "GITHUB_MODELS_URL": "https://m", "GITHUB_MODELS_ORG": "contoso"})
    assert org[0].endpoint.url == "https://m/orgs/contoso/inference"


def test_a_pasted_token_enables_github_for_the_session_and_wins_over_the_environment():
    github = providers_for({"GITHUB_TOKEN": "ghp_env", "GITHUB_MODELS_URL": "https://m"}, Secret("ghp_pasted"))[0]
    assert github.endpoint.key.reveal() == "ghp_pasted"
    assert github.endpoint.key_variable == "the token pasted for this session"


def test_custom_endpoints_come_last_with_their_model_and_api():
    custom = (CustomEndpoint("vLLM", "http://localhost:8000/v1", None, "qwen", OPENAI),
              CustomEndpoint("llama", "https://h.inference.ai.azure.com", Secret("k")))
    providers = providers_for({}, None, custom)
    assert kinds(providers) == [EMBEDDED, CUSTOM, CUSTOM]
    assert (providers[1].endpoint.url, providers[1].model, providers[1].endpoint.api) == (
        "http://localhost:8000/v1", "qwen", OPENAI)
    assert providers[1].lists_models and not providers[2].lists_models
    assert providers[2].endpoint.api == INFERENCE


def test_model_choices_come_from_the_list_with_built_in_limits_when_known():
    foundry = providers_for({"AZURE_OPENAI_ENDPOINT": FOUNDRY_URL, "AZURE_OPENAI_API_KEY": "fk"})[0]
    listing = ModelListing(entries=(ModelEntry("gpt-4o-mini", "system"), ModelEntry("Llama-3.3-70B-Instruct", "Meta")))
    choices = model_choices(foundry, listing)
    assert [c.model for c in choices] == ["gpt-4o-mini", "Llama-3.3-70B-Instruct"]
    assert choices[0].max_output_tokens == 4096 and choices[0].entry.owned_by == "system"
    assert choices[1].card.name == "Llama-3.3-70B-Instruct" and choices[1].label == \
        "Llama-3.3-70B-Instruct · Microsoft Foundry (OpenAI v1)"
    # Nothing listed, nothing offered: the picker asks for a typed id.
    assert model_choices(foundry, ModelListing()) == []


def test_the_offline_list_names_foundrys_phi_and_llama_models_for_foundry_endpoints_only():
    foundry = providers_for({"AZURE_OPENAI_ENDPOINT": FOUNDRY_URL})[0]
    names = {card.id for card in offline_cards(foundry)}
    assert {"Phi-4", "Phi-4-mini-instruct", "Phi-3.5-mini-instruct", "Phi-3-mini-4k-instruct",
            "Phi-3-mini-128k-instruct",
            "Phi-3-small-8k-instruct", "Phi-3-small-128k-instruct", "Phi-3-medium-4k-instruct",
            "Phi-3-medium-128k-instruct", "Llama-3.3-70B-Instruct", "Meta-Llama-3.1-8B-Instruct",
            "Meta-Llama-3.1-70B-Instruct", "Meta-Llama-3.1-405B-Instruct", "Llama-3.2-11B-Vision-Instruct",
            "Llama-3.2-90B-Vision-Instruct", "Llama-3.2-1B-Instruct", "Llama-3.2-3B-Instruct"} == names
    ollama = providers_for({"OPENAI_BASE_URL": "http://localhost:11434/v1"})[0]
    assert offline_cards(ollama) == ()
    custom_foundry = providers_for({}, None, (CustomEndpoint("mine", "https://x.openai.azure.com/openai/v1",
                                                             api=OPENAI),))[1]
    assert offline_cards(custom_foundry) == BUILTIN_MODELS
    offline = model_choices(foundry, ModelListing(cards=BUILTIN_MODELS, offline_reason="unreachable"))
    phi3 = next(c for c in offline if c.model == "Phi-3-mini-4k-instruct")
    assert phi3.max_output_tokens == 1024 and phi3.card.offline


def test_single_model_providers_offer_their_one_model():
    embedded, = providers_for({})
    assert model_choices(embedded) == [ModelChoice(embedded, None)]
    github = providers_for({"GITHUB_TOKEN": "g", "GITHUB_MODELS_URL": "https://m"})[0]
    card = CatalogModel("openai/o3-mini", "o3-mini", "OpenAI", tags=("reasoning",))
    choice, = model_choices(github, ModelListing(cards=(card,)))
    assert choice.is_reasoning and choice.key_environment_variable == "GITHUB_TOKEN"


def test_compare_offers_one_option_per_listed_model_and_skips_what_cannot_be_sent():
    from playground import compare

    custom = (CustomEndpoint("ollama", "http://localhost:11434/v1", api=OPENAI),)
    providers = providers_for({"AZURE_OPENAI_ENDPOINT": FOUNDRY_URL, "OPENAI_BASE_URL": "http://gpu:8000/v1"},
                              None, custom)
    listings = {"foundry": ModelListing(entries=(ModelEntry("gpt-4o-mini"), ModelEntry("Phi-4"))),
                "openai": ModelListing(entries=(ModelEntry("Qwen/Qwen2.5-7B-Instruct"),)),
                "custom:ollama": ModelListing(offline_reason="Cannot reach ollama")}  # nothing to send to
    options = compare.model_options(providers, lambda provider: listings[provider.id])
    assert [compare.option_label(c) for c in options.values()] == [
        "Microsoft Foundry (OpenAI v1) · gpt-4o-mini", "Microsoft Foundry (OpenAI v1) · Phi-4",
        "OpenAI-compatible (gpu:8000) · Qwen/Qwen2.5-7B-Instruct", "Embedded model (offline) · SmolLM2-135M-Instruct"]
    offline = compare.model_options(providers[:1], lambda provider: ModelListing(cards=BUILTIN_MODELS,
                                                                                  offline_reason="down"))
    assert len(offline) == len(BUILTIN_MODELS)


def test_the_embedded_model_is_named_by_what_its_endpoint_serves():
    """PLAYGROUND_LOCAL_MODEL serves another GGUF: its name comes from the endpoint's /info."""
    default, = providers_for({})
    assert ModelChoice(default, None).label == "SmolLM2-135M-Instruct · embedded"
    phi, = configured_providers(load_settings({}, {}, None), EMBEDDED_URL, embedded_model="Phi-3-mini-4k-instruct")
    assert ModelChoice(phi, None).label == "Phi-3-mini-4k-instruct · embedded"
    assert compare.option_label(ModelChoice(phi, None)) == "Embedded model (offline) · Phi-3-mini-4k-instruct"
