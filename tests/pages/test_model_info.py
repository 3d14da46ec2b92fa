"""The model info page under streamlit.testing against the real embedded endpoint."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.pages.apptest import facts


def test_shows_what_the_info_route_says(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    at = AppTest.from_file(str(ROOT / "pages" / "model_info.py"), default_timeout=60).run()
    assert not at.exception
    assert at.subheader[0].value == "SmolLM2-135M-Instruct"
    assert facts(at) == {"Type": "chat-completions", "Provider": "HuggingFaceTB"}
    assert any("/info" in c.value for c in at.caption)
