"""The chat and model info pages against Microsoft Foundry (OpenAI v1 and Model Inference API),
OpenAI-compatible servers, GitHub Models (retired 2026-07-30) and custom endpoints.

The cloud is unreachable here, so each test runs a local server (tests/fake_service.py) that
reproduces the documented wire behaviour: model lists, catalog JSON, SSE streams, error bodies and
headers (`x-ratelimit-*`, GitHub's retirement 403). The embedded model is the real one.
"""

from __future__ import annotations

import re

import pytest

from tests.pages.apptest import CHAT, MODEL_INFO, facts, open_lazy, open_page, send, shown
from tests.playground.transports import foundry
from tests.support.app_server import free_port
from tests.support.fake_service import FakeService, Reply, chunk
from tests.support.github_models import CATALOG, DAILY_LIMIT_429, RETIRED_403, streamed_reply

INFO = MODEL_INFO
run = open_page
TOKEN = "ghp_playgroundtesttoken"


@pytest.fixture
def github(clean_env, endpoint):
    """GitHub Models configured through the environment, served by a local fake."""
    def start(chat_replies: list[Reply], catalog: list[Reply] | None = None) -> FakeService:
        fake = FakeService({"/catalog/models": catalog or [Reply(body=CATALOG)],
                            "/inference/chat/completions": chat_replies})
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("GITHUB_TOKEN", TOKEN)
        clean_env.setenv("GITHUB_MODELS_URL", fake.url)
        return fake
    return start


def chat_requests(fake: FakeService) -> list[dict]:
    return [r for r in fake.requests if r["path"].endswith("/chat/completions")]


GITHUB_LIMITS = {"x-ratelimit-limit-requests": "15", "x-ratelimit-remaining-requests": "14"}


def test_github_with_an_explicit_url_is_the_default_and_its_catalog_fills_the_picker(github):
    with github([streamed_reply("Hello ", "there", headers=GITHUB_LIMITS)]) as fake:
        at = run(CHAT)
        assert at.selectbox(key="model_provider").value == "github"
        picker = at.selectbox(key="model_id")
        assert picker.value == "microsoft/phi-3-mini-4k-instruct"
        assert set(picker.options) == {"Phi-3-mini instruct (4k) (Microsoft)", "Llama-3.3-70B-Instruct (Meta)",
                                       "OpenAI o3-mini (OpenAI)"}
        assert at.slider(key="chat_max_tokens").max == 1024  # capped at the model's output limit
        send(at, "Hi")
    assert at.session_state["chat_messages"][-1].content == "Hello there"
    request = chat_requests(fake)[-1]
    assert request["body"]["model"] == "microsoft/phi-3-mini-4k-instruct"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert any(p.proto.text == "14 / 15 requests left" for p in at.get("progress"))
    assert any("retired on 2026-07-30" in w.value for w in at.sidebar.warning)


def test_a_reasoning_model_hides_and_omits_sampling_parameters(github):
    with github([streamed_reply("Thought.")]) as fake:
        at = run(CHAT)
        at.selectbox(key="model_id").set_value("openai/o3-mini").run()
        assert not [s for s in at.slider if s.key in ("temperature", "top_p", "max_tokens")]
        send(at, "Think")
    body = chat_requests(fake)[-1]["body"]
    assert body["model"] == "openai/o3-mini"
    assert not {"temperature", "top_p", "max_tokens"} & set(body)


def test_the_daily_429_says_when_to_retry_keeps_the_prompt_and_does_not_wait(github):
    with github([DAILY_LIMIT_429]) as fake:
        at = send(run(CHAT), "Please keep me")
    message = at.error[0].value
    assert "150 requests per day" in message and "6 h 46 min" in message
    assert [(m.role, m.content) for m in at.session_state["chat_messages"]] == [("user", "Please keep me")]
    assert len(chat_requests(fake)) == 1
    assert [b.label for b in at.button if b.label == "Retry"] == ["Retry"]


def test_a_stream_cut_mid_way_keeps_the_partial_reply_marked_incomplete(github):
    cut = Reply(events=[chunk("Half "), chunk("a "), chunk("reply"), chunk(finish_reason="stop")], cut_after=2)
    with github([cut]):
        at = send(run(CHAT), "Go")
    reply = at.session_state["chat_messages"][-1]
    assert reply.content == "Half a "
    assert reply.metrics["finish_reason"] == "error"
    assert "broke off mid-reply" in reply.metrics["error"]
    assert any("broke off mid-reply" in w.value for w in at.warning)


def test_an_unreachable_catalog_offers_the_builtin_list_marked_offline(github):
    with github([streamed_reply("ok")], catalog=[Reply(status=503, body={"message": "down"})]):
        at = run(CHAT)
    options = at.selectbox(key="model_id").options
    assert "Phi-3-small-8k-instruct (Microsoft)" in options and "Llama-3.3-70B-Instruct (Meta)" in options
    assert any("Offline list" in w.value for w in at.sidebar.warning)


def test_model_info_for_github_shows_catalog_metadata_and_says_so(github):
    with github([]):
        at = run(INFO)
    assert at.subheader[0].value == "Phi-3-mini instruct (4k)"
    shown = facts(at)
    assert shown["Publisher"] == "Microsoft" and shown["Max output tokens"] == "1,024"
    text = " ".join(c.value for c in at.caption)
    assert "Source: GitHub Models' catalog" in text


def test_azure_is_the_default_and_model_info_comes_from_its_info_route(clean_env, endpoint):
    info = Reply(body={"model_name": "Meta-Llama-3.1-8B-Instruct", "model_type": "chat-completions",
                       "model_provider_name": "Meta"})
    with FakeService({"/info": [info], "/chat/completions": [streamed_reply("From ", "Azure")]}) as fake:
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("AZURE_INFERENCE_ENDPOINT", fake.url)
        clean_env.setenv("AZURE_INFERENCE_CREDENTIAL", "azure-key-123")
        at = run(INFO)
        assert at.subheader[0].value == "Meta-Llama-3.1-8B-Instruct"
        assert any("/info route" in c.value for c in at.caption)
        chat = send(run(CHAT), "Hello")
    assert chat.selectbox(key="model_provider").value == "azure"
    assert chat.selectbox(key="model_provider").options == ["Microsoft Foundry (Model Inference API)",
                                                            "Embedded model (offline)"]
    assert chat.session_state["chat_messages"][-1].content == "From Azure"
    sent = chat_requests(fake)[-1]
    assert sent["headers"]["api-key"] == "azure-key-123" and "model" not in sent["body"]


def test_a_pasted_token_enables_github_for_this_session_only(clean_env, endpoint):
    with FakeService({"/catalog/models": [Reply(body=CATALOG)],
                      "/inference/chat/completions": [streamed_reply("Hi")]}) as fake:
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("GITHUB_MODELS_URL", fake.url)
        at = run(CHAT)
        assert at.selectbox(key="model_provider").options == ["Embedded model (offline)"]
        open_lazy(at, "model_token_open")
        at.text_input(key="model_token_input").input("ghp_pastedtoken").run()
        assert at.text_input(key="model_token_input").value == ""  # moved out of the widget
        at.selectbox(key="model_provider").set_value("github").run()
        send(at, "Hi")
        assert chat_requests(fake)[-1]["headers"]["Authorization"] == "Bearer ghp_pastedtoken"
        assert "ghp_pastedtoken" not in repr(at.session_state["model_session_token"])  # reprs reach logs
        # Another browser session does not get it.
        assert run(CHAT).selectbox(key="model_provider").options == ["Embedded model (offline)"]


# -- Microsoft Foundry over the OpenAI v1 API ---------------------------------------------------

OTHER = "Other model id…"


@pytest.fixture
def foundry_env(clean_env, endpoint):
    """AZURE_OPENAI_ENDPOINT (+ key) pointing at a local fake of Foundry's /openai/v1 routes."""
    def start(routes: dict, key: str | None = foundry.KEY) -> FakeService:
        fake = FakeService(routes, require_key=key)
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("AZURE_OPENAI_ENDPOINT", fake.url + foundry.BASE_PATH + "/")
        if key:
            clean_env.setenv("AZURE_OPENAI_API_KEY", key)
        return fake
    return start


def rate_texts(at) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def test_foundry_v1_lists_its_deployments_streams_a_reply_and_shows_the_rate_limits(foundry_env):
    replies = {foundry.MODELS: [foundry.MODEL_LIST], foundry.CHAT: [foundry.stream("From ", "Foundry")]}
    with foundry_env(replies) as fake:
        at = run(CHAT)
        assert at.selectbox(key="model_provider").value == "foundry"
        assert at.selectbox(key="model_provider").options[0] == "Microsoft Foundry (OpenAI v1)"
        picker = at.selectbox(key="model_id")
        assert picker.options == ["gpt-4o-mini", "Llama-3.3-70B-Instruct", "DeepSeek-R1", OTHER]
        assert picker.value == "gpt-4o-mini"
        assert any("Live list · 3 models" in c.value for c in at.sidebar.caption)
        at.text_input(key="model_search").input("llama").run()
        assert at.selectbox(key="model_id").options == ["Llama-3.3-70B-Instruct", OTHER]
        at.text_input(key="model_search").input("").run()
        assert at.selectbox(key="model_id").value == "Llama-3.3-70B-Instruct"  # the pick survives the search
        assert at.slider(key="chat_max_tokens").max == 4096  # its limit, from the built-in list
        send(at, "Hello")
    assert not at.error
    assert at.session_state["chat_messages"][-1].content == "From Foundry"
    sent = [r for r in fake.requests if r["path"] == foundry.CHAT][-1]
    assert sent["body"]["model"] == "Llama-3.3-70B-Instruct"
    assert {k.lower(): v for k, v in sent["headers"].items()}["authorization"] == f"Bearer {foundry.KEY}"
    texts = rate_texts(at)
    assert any(re.fullmatch(r"999 / 1,000 requests left · resets in \d+ min", t) for t in texts), texts
    assert any(t.startswith("199,950 / 200,000 tokens left") for t in texts), texts
    assert sum(r["path"] == foundry.MODELS for r in fake.requests) == 1  # the list is cached


def test_foundry_needs_a_deployment_name_and_says_so_keeping_the_prompt(foundry_env):
    with foundry_env({foundry.MODELS: [foundry.MODEL_LIST], foundry.CHAT: [foundry.stream("x")]}) as fake:
        at = run(CHAT)
        at.selectbox(key="model_id").set_value("\x00other").run()
        send(at, "Keep me")
    assert "needs the deployment name" in at.error[0].value
    assert [(m.role, m.content) for m in at.session_state["chat_messages"]] == [("user", "Keep me")]
    assert not [r for r in fake.requests if r["path"] == foundry.CHAT]


def test_an_unreadable_model_list_offers_the_offline_list_and_a_typed_deployment(foundry_env):
    down = Reply(status=503, body={"error": {"code": "ServiceUnavailable", "message": "Try later."}})
    with foundry_env({foundry.MODELS: [down], foundry.CHAT: [foundry.stream("typed ", "ok")]}) as fake:
        at = run(CHAT)
        options = at.selectbox(key="model_id").options
        assert {"Phi-4", "Phi-3-mini-4k-instruct", "Llama-3.3-70B-Instruct", "Meta-Llama-3.1-405B-Instruct"} \
            <= set(options) and options[-1] == OTHER
        assert any(w.value.startswith("Offline list: Microsoft Foundry had a server error (HTTP 503)")
                   for w in at.sidebar.warning)
        listed = sum(r["path"] == foundry.MODELS for r in fake.requests)
        at.selectbox(key="model_id").set_value("\x00other").run()
        at.text_input(key="model_other").input("my-phi-deployment").run()
        send(at, "Hi")
        assert sum(r["path"] == foundry.MODELS for r in fake.requests) == listed  # the failure is remembered
    assert at.session_state["chat_messages"][-1].content == "typed ok"
    assert [r for r in fake.requests if r["path"] == foundry.CHAT][-1]["body"]["model"] == "my-phi-deployment"


def test_an_unreachable_foundry_endpoint_costs_no_wait_per_rerun(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", f"http://127.0.0.1:{free_port()}/openai/v1")
    clean_env.setenv("AZURE_OPENAI_API_KEY", "k")
    at = run(CHAT)
    assert any("Offline list: Cannot reach Microsoft Foundry" in w.value for w in at.sidebar.warning)
    assert "Phi-3.5-mini-instruct" in at.selectbox(key="model_id").options


def test_model_info_for_foundry_shows_what_its_model_list_says(foundry_env):
    with foundry_env({foundry.MODELS: [foundry.MODEL_LIST]}) as fake:
        at = run(INFO)
    assert at.subheader[0].value == "gpt-4o-mini"
    assert facts(at) == {"Model id": "gpt-4o-mini", "Owned by": "system"}
    assert any(f"Source: the endpoint's model list (GET {fake.url}/openai/v1/models)" in shown(c.value)
               for c in at.caption)


# -- any OpenAI-compatible server ------------------------------------------------------------------

# What Ollama's OpenAI-compatible routes send (`GET /v1/models`, no key needed).
OLLAMA_MODELS = Reply(body={"object": "list", "data": [
    {"id": "llama3.2:1b", "object": "model", "created": 1730000000, "owned_by": "library"},
    {"id": "phi4-mini:latest", "object": "model", "created": 1740000000, "owned_by": "library"}]})


def test_an_ollama_like_server_from_openai_base_url_works_without_a_key(clean_env, endpoint):
    with FakeService({"/v1/models": [OLLAMA_MODELS], "/v1/chat/completions": [streamed_reply("Local ", "llama")]}) \
            as fake:
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("OPENAI_BASE_URL", fake.url + "/v1")
        at = run(CHAT)
        port = fake.url.rsplit(":", 1)[1]
        assert at.selectbox(key="model_provider").options == [f"OpenAI-compatible (127.0.0.1:{port})",
                                                              "Embedded model (offline)"]
        assert at.selectbox(key="model_id").options == ["llama3.2:1b", "phi4-mini:latest", OTHER]
        send(at, "Hi")
    assert at.session_state["chat_messages"][-1].content == "Local llama"
    assert [r for r in fake.requests if r["path"] == "/v1/chat/completions"][-1]["body"]["model"] == "llama3.2:1b"
    assert not at.get("progress")  # it sent no rate-limit headers: nothing to show


# -- GitHub Models after its retirement ------------------------------------------------------------

def test_a_codespace_github_token_alone_chats_with_the_embedded_model(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    clean_env.setenv("GITHUB_TOKEN", "ghp_codespace_token")
    at = run(CHAT)
    assert at.selectbox(key="model_provider").options == ["Embedded model (offline)"]
    assert not [e for e in at.expander if "GitHub token" in e.label]
    at.slider(key="chat_max_tokens").set_value(8).run()
    send(at, "Say hi.")
    assert not at.error
    reply = at.session_state["chat_messages"][-1]
    assert reply.role == "assistant" and reply.content and reply.metrics["finish_reason"] in ("stop", "length")


def test_the_retired_github_service_says_so_with_its_notice_and_never_blames_the_token(clean_env, endpoint):
    with FakeService([RETIRED_403]) as fake:
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("GITHUB_TOKEN", TOKEN)
        clean_env.setenv("GITHUB_MODELS_URL", fake.url)
        at = run(CHAT)
        assert at.selectbox(key="model_provider").options[0] == "GitHub Models (retired 2026-07-30)"
        offline = [w.value for w in at.sidebar.warning if w.value.startswith("Offline list")]
        assert offline and "retired on 2026-07-30" in offline[0] and "Check" not in offline[0]
        send(at, "Still there?")
    message = shown(at.error[0].value)
    assert "retired on 2026-07-30" in message and "Check" not in message
    assert "https://github.blog/changelog/2026-07-01-github-models-is-being-fully-retired-on-july-30-2026/" in message
    assert "Microsoft Foundry" in message
    assert [(m.role, m.content) for m in at.session_state["chat_messages"]] == [("user", "Still there?")]


# -- custom endpoints ------------------------------------------------------------------------------

def add_endpoint(at, name: str, url: str, api: str, model: str = ""):
    open_lazy(at, "model_add_endpoint_open")
    at.text_input(key="model_custom_name").input(name)
    at.radio(key="model_custom_api").set_value(api)
    at.text_input(key="model_custom_url").input(url)
    at.text_input(key="model_custom_model").input(model)
    at.button[[b.label for b in at.button].index("Add endpoint")].click().run()
    assert not at.exception, at.exception
    return at


def test_custom_endpoints_with_either_api(clean_env, endpoint):
    info = Reply(body={"model_name": "Phi-4", "model_type": "chat-completions", "model_provider_name": "Microsoft"})
    with FakeService({"/v1/models": [OLLAMA_MODELS], "/v1/chat/completions": [streamed_reply("via ", "openai")]}) \
            as openai_like, FakeService({"/info": [info], "/chat/completions": [streamed_reply("via ", "inference")]}) \
            as inference:
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        at = add_endpoint(run(CHAT), "my ollama", openai_like.url + "/v1", "openai")
        assert at.selectbox(key="model_provider").value == "custom:my ollama"
        assert at.selectbox(key="model_id").options == ["llama3.2:1b", "phi4-mini:latest", OTHER]
        at.selectbox(key="model_id").set_value("phi4-mini:latest").run()
        send(at, "One")
        assert at.session_state["chat_messages"][-1].content == "via openai"
        assert openai_like.requests[-1]["body"]["model"] == "phi4-mini:latest"

        add_endpoint(at, "my phi", inference.url, "inference")
        assert at.selectbox(key="model_provider").value == "custom:my phi"
        send(at, "Two")
        assert at.session_state["chat_messages"][-1].content == "via inference"
        assert inference.requests[-1]["path"] == "/chat/completions" and "model" not in inference.requests[-1]["body"]
