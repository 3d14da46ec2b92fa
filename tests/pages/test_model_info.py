"""The model info page under streamlit.testing against the real embedded endpoint."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.pages.apptest import facts, shown


def test_shows_what_the_info_route_says(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    at = AppTest.from_file(str(ROOT / "pages" / "model_info.py"), default_timeout=60).run()
    assert not at.exception
    assert at.subheader[0].value == "SmolLM2-135M-Instruct"
    assert facts(at) == {"Type": "chat-completions", "Provider": "HuggingFaceTB"}
    assert any("/info" in c.value for c in at.caption)


def test_an_openai_v1_endpoint_is_described_by_its_model_list_and_the_builtin_list_says_so(clean_env, endpoint):
    """A local fake of Foundry's /openai/v1/models (tests/playground/transports/foundry.py): the
    cloud cannot be reached from here."""
    from tests.playground.transports import foundry
    from tests.support.fake_service import FakeService

    with FakeService({foundry.MODELS: [foundry.MODEL_LIST]}) as fake:
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("AZURE_OPENAI_ENDPOINT", fake.url + foundry.BASE_PATH)
        clean_env.setenv("AZURE_OPENAI_API_KEY", foundry.KEY)
        at = AppTest.from_file(str(ROOT / "pages" / "model_info.py"), default_timeout=60).run()
        at.selectbox(key="model_id").set_value("Llama-3.3-70B-Instruct").run()
    assert not at.exception
    assert at.subheader[0].value == "Llama-3.3-70B-Instruct"
    assert facts(at) == {"Model id": "Llama-3.3-70B-Instruct", "Owned by": "Meta"}
    captions = [c.value for c in at.caption]
    assert any("Source: the endpoint's model list (GET" in c for c in captions)
    assert any("built-in list" in c for c in captions)  # the limits' own source
    assert "128,000" in " ".join(m.value for m in at.markdown)


def test_an_unreadable_model_list_says_why_and_shows_the_builtin_card(clean_env, endpoint):
    from tests.support.app_server import free_port

    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", f"http://127.0.0.1:{free_port()}/openai/v1")
    clean_env.setenv("AZURE_OPENAI_API_KEY", "some-key")
    at = AppTest.from_file(str(ROOT / "pages" / "model_info.py"), default_timeout=60).run()
    assert not at.exception
    assert any(w.value.startswith("The model list could not be read: Cannot reach Microsoft Foundry")
               for w in at.warning)
    assert at.subheader[0].value == "Phi-4"
    assert facts(at) == {"Publisher": "Microsoft", "Max input tokens": "16,384", "Max output tokens": "not published"}


def test_without_a_key_or_an_entra_sign_in_foundry_says_what_to_set(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", "https://contoso.openai.azure.com/")
    at = AppTest.from_file(str(ROOT / "pages" / "model_info.py"), default_timeout=60).run()
    assert not at.exception
    warning = next(shown(w.value) for w in at.warning if w.value.startswith("The model list could not be read"))
    assert "No Microsoft Entra ID sign-in" in warning and "AZURE_OPENAI_API_KEY" in warning
    assert any(shown(c.value).endswith("https://contoso.openai.azure.com/openai/v1") for c in at.caption)
