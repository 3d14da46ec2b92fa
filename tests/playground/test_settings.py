"""Settings: where each value comes from, and messages that name the variable to fix."""

from __future__ import annotations

import pytest

from playground.settings import Secret, SettingsError, load_settings


def test_defaults_need_no_configuration(tmp_path):
    settings = load_settings({}, {}, tmp_path / "missing.env")
    assert settings.github_token is None and settings.azure_inference_endpoint is None
    assert settings.azure_openai_endpoint is None and settings.openai_base_url is None
    assert settings.github_models_url is None  # retired: no default address to send a token to
    assert (settings.local_host, settings.local_port) == ("127.0.0.1", 8765)


def test_environment_beats_secrets_beats_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("GITHUB_MODELS_ORG=from-dotenv\nPLAYGROUND_LOCAL_PORT=9001\nGITHUB_TOKEN=dotenv-token\n")
    settings = load_settings(
        {"GITHUB_MODELS_ORG": "from-env"},
        {"GITHUB_MODELS_ORG": "from-secrets", "PLAYGROUND_LOCAL_PORT": 9002},
        dotenv,
    )
    assert settings.github_models_org == "from-env"
    assert settings.local_port == 9002
    assert settings.github_token.reveal() == "dotenv-token"


def test_empty_values_count_as_unset(tmp_path):
    settings = load_settings({"AZURE_INFERENCE_ENDPOINT": "", "GITHUB_TOKEN": "  "}, {}, None)
    assert settings.azure_inference_endpoint is None and settings.github_token is None


@pytest.mark.parametrize("name, value, words", [
    ("PLAYGROUND_LOCAL_PORT", "eighty", "whole number"),
    ("PLAYGROUND_LOCAL_PORT", "70000", "between 1 and 65535"),
    ("AZURE_INFERENCE_ENDPOINT", "my-endpoint.azure.com", "http(s) URL"),
    ("GITHUB_MODELS_URL", "ftp://models", "http(s) URL"),
    ("AZURE_OPENAI_ENDPOINT", "contoso.openai.azure.com", "http(s) URL"),
    ("OPENAI_BASE_URL", "localhost:11434/v1", "http(s) URL"),
    ("PLAYGROUND_REQUEST_TIMEOUT", "-1", "seconds"),
])
def test_a_bad_value_fails_naming_the_variable(name, value, words):
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value}, {}, None)
    assert name in str(caught.value) and words in str(caught.value)


def test_secrets_do_not_show_in_reprs():
    settings = load_settings({"GITHUB_TOKEN": "ghp_supersecret", "AZURE_INFERENCE_CREDENTIAL": "azkey",
                              "AZURE_OPENAI_API_KEY": "foundrykey", "OPENAI_API_KEY": "sk-openai"}, {}, None)
    for secret in ("ghp_supersecret", "azkey", "foundrykey", "sk-openai"):
        assert secret not in repr(settings)
    assert settings.github_token == Secret("ghp_supersecret")


@pytest.mark.parametrize("value, url", [
    ("https://contoso.openai.azure.com/openai/v1/", "https://contoso.openai.azure.com/openai/v1"),
    ("https://contoso.services.ai.azure.com/openai/v1", "https://contoso.services.ai.azure.com/openai/v1"),
    # The bare resource URL Azure OpenAI code has long put in this variable: the v1 routes are under it.
    ("https://contoso.openai.azure.com/", "https://contoso.openai.azure.com/openai/v1"),
    ("https://contoso.openai.azure.com/openai", "https://contoso.openai.azure.com/openai/v1"),
])
def test_the_foundry_endpoint_is_the_openai_v1_base_url(value, url):
    settings = load_settings({"AZURE_OPENAI_ENDPOINT": value, "AZURE_OPENAI_API_KEY": "k"}, {}, None)
    assert settings.azure_openai_endpoint == url
    assert settings.azure_openai_api_key == Secret("k")


def test_openai_compatible_server_settings():
    settings = load_settings({"OPENAI_BASE_URL": "http://localhost:11434/v1/"}, {}, None)
    assert settings.openai_base_url == "http://localhost:11434/v1" and settings.openai_api_key is None


def test_the_user_storage_budget_defaults_by_sign_in_and_can_be_set_or_turned_off():
    from playground.settings import user_storage_bytes

    unset = load_settings({}, {}, None)
    assert user_storage_bytes(unset, signed_in=True) == 200 * 1024 * 1024  # shared database: a budget
    assert user_storage_bytes(unset, signed_in=False) is None  # one user, their own disk: none
    assert user_storage_bytes(load_settings({"PLAYGROUND_USER_STORAGE_MB": "50"}, {}, None), signed_in=False) == (
        50 * 1024 * 1024)
    assert user_storage_bytes(load_settings({"PLAYGROUND_USER_STORAGE_MB": "OFF"}, {}, None), signed_in=True) is None
    for bad in ("0", "-5", "1.5", "lots"):
        with pytest.raises(SettingsError, match="PLAYGROUND_USER_STORAGE_MB must be a whole number of megabytes "
                                                "from 1 to 1000000, or off"):
            load_settings({"PLAYGROUND_USER_STORAGE_MB": bad}, {}, None)
