"""What the SDKs take from this deployment's environment by themselves goes only to the
deployment's own endpoints, never to an endpoint a user added (a transport built with a guard).

The openai SDK reads OPENAI_ORG_ID, OPENAI_PROJECT_ID (sent as OpenAI-Organization and
OpenAI-Project), OPENAI_CUSTOM_HEADERS (any headers, even an Authorization that replaces the key)
and OPENAI_ADMIN_KEY; azure-core appends AZURE_HTTP_USER_AGENT to the User-Agent. A local server
records what arrives."""

from __future__ import annotations

from functools import partial

import pytest

from playground.client import ChatClient, ChatParams, Endpoint
from playground.netguard import EndpointPolicy
from playground.settings import Secret
from playground.types import INFERENCE, OPENAI
from tests.support.fake_service import FakeService, Reply
from tests.support.github_models import streamed_reply

HELLO = [{"role": "user", "content": "Hi"}]
DEPLOYMENT = {
    "OPENAI_ORG_ID": "org-deployment",
    "OPENAI_PROJECT_ID": "proj_deployment",
    "OPENAI_API_KEY": "sk-deployment-key",
    "OPENAI_ADMIN_KEY": "sk-admin-deployment",
    "OPENAI_CUSTOM_HEADERS": "X-Gateway-Token: gw-deployment\nAuthorization: Bearer sk-ambient-deployment",
    "AZURE_HTTP_USER_AGENT": "deployment-agent/7",
}
MODELS = Reply(body={"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "me"}]})
INFO = Reply(body={"model_name": "m", "model_type": "chat-completions", "model_provider_name": "me"})


@pytest.fixture
def deployment_environment(monkeypatch):
    for name, value in DEPLOYMENT.items():
        monkeypatch.setenv(name, value)


def headers(request: dict) -> dict[str, str]:
    return {name.lower(): value for name, value in request["headers"].items()}


def served(api: str, client) -> None:
    """A chat and a model list (or /info), as the sidebar and a prompt make them."""
    assert "".join(client.stream_chat(HELLO, ChatParams(), "m")) == "hello"
    client.list_models()
    client.close()


@pytest.mark.parametrize("api", [INFERENCE, OPENAI])
def test_a_user_endpoint_receives_none_of_the_deployment_s_identity(api, deployment_environment):
    policy = EndpointPolicy.parse("any", signed_in=True)
    with FakeService({"/chat/completions": [streamed_reply("hello")], "/models": [MODELS], "/info": [INFO]}) as user:
        served(api, ChatClient(Endpoint(user.url, "mine", Secret("users-own-key"), api=api), read_timeout=10,
                               guard=partial(policy.addresses, resolver=lambda host, port: ["127.0.0.1"])))
    assert len(user.requests) == 2
    for request in user.requests:
        received = headers(request)
        assert "openai-organization" not in received and "openai-project" not in received
        assert "x-gateway-token" not in received
        assert not [value for value in DEPLOYMENT.values() if value in str(received)], received
        assert received.get("authorization") == "Bearer users-own-key" or received.get("api-key") == "users-own-key"


def test_the_deployment_s_own_endpoint_still_carries_its_organization_and_project(deployment_environment):
    with FakeService({"/chat/completions": [streamed_reply("hello")], "/models": [MODELS]}) as configured:
        served(OPENAI, ChatClient(Endpoint(configured.url, "OpenAI", Secret("sk-deployment-key"), api=OPENAI),
                                  read_timeout=10))
    for request in configured.requests:
        received = headers(request)
        assert received["openai-organization"] == "org-deployment"
        assert received["openai-project"] == "proj_deployment"
        assert received["x-gateway-token"] == "gw-deployment"


def test_a_user_endpoint_without_a_key_gets_a_placeholder_never_a_deployment_key(deployment_environment):
    policy = EndpointPolicy.parse("any", signed_in=True)
    with FakeService({"/chat/completions": [streamed_reply("hello")], "/models": [MODELS]}) as user:
        served(OPENAI, ChatClient(Endpoint(user.url, "mine", api=OPENAI), read_timeout=10,
                                  guard=partial(policy.addresses, resolver=lambda host, port: ["127.0.0.1"])))
    assert {headers(r)["authorization"] for r in user.requests} == {"Bearer no-key"}
