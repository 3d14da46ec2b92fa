"""The chat and model info pages against GitHub Models and Azure endpoints.

The cloud is unreachable here, so each test runs a local server (tests/fake_service.py) that
reproduces the documented wire behaviour: catalog JSON, SSE streams, error bodies and headers.
"""

from __future__ import annotations

import pytest

from tests.pages.apptest import CHAT, MODEL_INFO, facts, open_lazy, open_page, send
from tests.fake_service import FakeService, Reply, chunk
from tests.github_models import CATALOG, DAILY_LIMIT_429, streamed_reply

INFO = MODEL_INFO
run = open_page
TOKEN = "ghp_playgroundtesttoken"


@pytest.fixture
def github(clean_env, endpoint):
    """GitHub Models configured through the environment, served by a local fake."""
    def start(chat_replies: list[Reply], catalog: list[Reply] | None = None) -> FakeService:
        fake = FakeService({"/catalog/models": catalog or [Reply(body=CATALOG)], "/inference/chat/completions": chat_replies})
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("GITHUB_TOKEN", TOKEN)
        clean_env.setenv("GITHUB_MODELS_URL", fake.url)
        return fake
    return start


def chat_requests(fake: FakeService) -> list[dict]:
    return [r for r in fake.requests if r["path"].endswith("/chat/completions")]


def test_github_is_the_default_and_its_catalog_fills_the_picker(github):
    with github([streamed_reply("Hello ", "there")]) as fake:
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
    assert any(p.proto.text == "1 / 15 requests this minute" for p in at.get("progress"))


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
