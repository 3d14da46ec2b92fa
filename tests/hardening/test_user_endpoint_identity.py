"""The deployment's OpenAI identity (OPENAI_ORG_ID, OPENAI_PROJECT_ID) goes with requests to the
endpoint the deployment configured, and not with those to an endpoint a user added in the sidebar.

The chat page as a user drives it, over two local servers that record the headers they receive:
one is the deployment's OPENAI_BASE_URL, the other the user's own endpoint."""

from __future__ import annotations

from tests.pages.apptest import CHAT, open_lazy, open_page, send
from tests.support.fake_service import FakeService, Reply
from tests.support.github_models import streamed_reply

MODELS = Reply(body={"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "me"}]})


def server(text: str) -> FakeService:
    return FakeService({"/v1/models": [MODELS], "/v1/chat/completions": [streamed_reply(text)]})


def headers(fake: FakeService) -> list[dict[str, str]]:
    return [{name.lower(): value for name, value in r["headers"].items()} for r in fake.requests]


def test_a_user_added_endpoint_gets_no_organization_or_project_while_the_configured_one_does(clean_env, endpoint):
    clean_env.setenv("OPENAI_ORG_ID", "org-deployment")
    clean_env.setenv("OPENAI_PROJECT_ID", "proj_deployment")
    with server("from the deployment") as configured, server("from mine") as mine:
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("OPENAI_BASE_URL", configured.url + "/v1")
        clean_env.setenv("OPENAI_API_KEY", "sk-deployment-key")
        at = send(open_page(CHAT), "One")
        assert at.session_state["chat_messages"][-1].content == "from the deployment"

        open_lazy(at, "model_add_endpoint_open")
        at.text_input(key="model_custom_name").input("mine")
        at.radio(key="model_custom_api").set_value("openai")
        at.text_input(key="model_custom_url").input(mine.url + "/v1")
        at.button[[b.label for b in at.button].index("Add endpoint")].click().run()
        assert at.selectbox(key="model_provider").value == "custom:mine"
        send(at, "Two")
        assert at.session_state["chat_messages"][-1].content == "from mine"

    assert [h["openai-organization"] for h in headers(configured)] == ["org-deployment"] * len(configured.requests)
    assert [h["openai-project"] for h in headers(configured)] == ["proj_deployment"] * len(configured.requests)
    received = headers(mine)
    assert len(received) == 2  # the model list and the chat
    assert not [h for h in received if "openai-organization" in h or "openai-project" in h], received
    assert {h["authorization"] for h in received} == {"Bearer no-key"}  # never the deployment's key
