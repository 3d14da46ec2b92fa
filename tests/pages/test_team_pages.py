"""The pages in local single-user mode (no [auth]: as before, owner "local") and with sign-in
configured (st.user as Streamlit's OIDC sign-in fills it): the store scoped to the user, the
per-user request limit, custom endpoints off by default. Real embedded model throughout."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from playground import state as keys
from playground.auth import owner_id
from playground.netguard import OFF_MESSAGE
from playground.store import Store
from tests.conftest import ROOT
from tests.pages.apptest import CHAT, open_lazy, open_page, send, shown

ISSUER = "https://login.example.com/tenant/v2.0"
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "id",
        "client_secret": "secret", "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}


def user(sub: str) -> dict:
    return {"is_logged_in": True, "iss": ISSUER, "sub": sub, "email": f"{sub}@example.com", "name": sub.title()}


def open_signed_in(sub: str, conversation_id: str | None = None) -> AppTest:
    at = AppTest.from_file(CHAT, default_timeout=120)
    at.secrets["auth"] = AUTH
    at.user = user(sub)
    if conversation_id:
        at.query_params["c"] = conversation_id
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def local(clean_env, endpoint, tmp_path):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    return tmp_path / "playground.db"


def add_endpoint(at: AppTest, url: str) -> AppTest:
    open_lazy(at, keys.ADD_ENDPOINT_OPEN)
    at.text_input(key=keys.CUSTOM_FORM + "name").set_value("mine")
    at.text_input(key=keys.CUSTOM_FORM + "url").set_value(url)
    at.button[[b.label for b in at.button].index("Add endpoint")].click().run()
    assert not at.exception, at.exception
    return at


def test_local_mode_is_as_before_one_owner_local_and_custom_endpoints_allowed(local, endpoint):
    at = send(open_page(CHAT), "Hello from the local user")
    assert at.session_state[keys.MESSAGES][-1].role == "assistant"
    assert not at.error
    assert [s.title for s in Store(local).list()] == ["Hello from the local user"]  # the local owner's
    add_endpoint(at, f"{endpoint.url}/v1")
    assert at.session_state[keys.CUSTOM_ERROR] is None
    assert at.selectbox(key=keys.PROVIDER).value == "custom:mine"
    assert not [c for c in at.sidebar.caption if "Signed in" in c.value]


def test_signed_in_users_write_and_read_only_their_own_conversations(local):
    alice = send(open_signed_in("alice"), "Alice's question")
    conversation = alice.session_state[keys.CONVERSATION_ID]
    store = Store(local)
    assert [s.title for s in store.scoped(owner_id(ISSUER, "alice")).list()] == ["Alice's question"]
    assert store.list() == [] and store.scoped(owner_id(ISSUER, "bob")).list() == []
    bob = open_signed_in("bob", conversation)
    assert bob.session_state[keys.MESSAGES] == []
    assert [t.value for t in bob.toast] == ["That conversation does not exist any more."]
    assert "Alice's question" not in str([b.label for b in bob.button])
    again = open_signed_in("alice", conversation)
    assert again.session_state[keys.MESSAGES][0].content == "Alice's question"


def test_the_per_user_limit_refuses_plainly_sends_nothing_and_keeps_the_prompt(local, endpoint, clean_env):
    local_requests = len(endpoint.requests())
    clean_env.setenv("PLAYGROUND_USER_REQUESTS_PER_MINUTE", "1")
    at = send(open_signed_in("carol"), "First")
    assert at.session_state[keys.MESSAGES][-1].role == "assistant"
    send(at, "Second")
    assert at.session_state[keys.MESSAGES][-1].content == "Second"  # the prompt stays
    error = at.session_state[keys.ERROR]
    assert error.startswith("You have sent 1 requests in the last minute, the limit on this deployment; try again in")
    assert [e.value for e in at.error] == [error]
    assert len(endpoint.requests()) == local_requests + 1  # the second was never sent
    dave = send(open_signed_in("dave"), "Dave is someone else")
    assert dave.session_state[keys.MESSAGES][-1].role == "assistant"


def test_with_sign_in_custom_endpoints_are_off_unless_the_deployment_allows_them(local, endpoint, clean_env):
    at = add_endpoint(open_signed_in("alice"), f"{endpoint.url}/v1")
    assert at.session_state[keys.CUSTOM_ERROR] == OFF_MESSAGE
    assert OFF_MESSAGE in [shown(e.value) for e in at.sidebar.error]
    assert "custom:mine" not in at.selectbox(key=keys.PROVIDER).options
    clean_env.setenv("PLAYGROUND_CUSTOM_ENDPOINTS", f"127.0.0.1:{endpoint.port}")
    at = add_endpoint(open_signed_in("alice"), f"{endpoint.url}/v1")
    assert at.session_state[keys.CUSTOM_ERROR] is None
    assert at.selectbox(key=keys.PROVIDER).value == "custom:mine"
    send(at, "Through the allowed endpoint")
    assert at.session_state[keys.MESSAGES][-1].role == "assistant", at.session_state[keys.ERROR]


def test_each_compare_column_counts_against_the_limit_and_a_refused_one_is_not_sent(local, endpoint, clean_env):
    clean_env.setenv("PLAYGROUND_USER_REQUESTS_PER_MINUTE", "1")
    at = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=120)
    at.secrets["auth"] = AUTH
    at.user = user("erin")
    at.run()
    at.slider(key="compare_max_tokens").set_value(8).run()
    before = len(endpoint.requests())
    send(at, "Hello?")
    answers = [m for m in at.session_state["compare_history"] if m.role == "assistant"]
    assert sorted(a.status for a in answers) == ["complete", "partial"]  # the workers race: either column wins
    refused = next(a for a in answers if a.status == "partial")
    assert refused.metrics["error"].startswith("You have sent 1 requests in the last minute, the limit on this")
    assert len(endpoint.requests()) == before + 1
