"""Providers as a user meets them, in Debian's Chromium against `streamlit run app.py`: a
Codespace-like start (only GITHUB_TOKEN set, as Codespaces always do) and Microsoft Foundry over
the OpenAI v1 API. Foundry is unreachable from here, so a local server replays its wire behaviour
(tests/playground/transports/foundry.py: the deployments list, SSE, `x-ratelimit-*` headers);
the embedded model is the real one."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.playground.transports import foundry
from tests.support.app_server import chromium_page, running_app
from tests.support.fake_service import FakeService

# Variables the playground reads that app_server.app_env does not strip from this environment.
NO_OPENAI = {"OPENAI_BASE_URL": "", "OPENAI_API_KEY": ""}


def send(page, text: str):
    box = page.get_by_test_id("stChatInput").locator("textarea")
    expect(box).to_be_editable(timeout=60_000)
    box.fill(text)
    box.press("Enter")
    messages = page.get_by_test_id("stChatMessage")
    expect(messages).to_have_count(2, timeout=60_000)
    reply = messages.nth(1)
    expect(reply.get_by_text(re.compile(r"prompt \+ \d+ completion tokens"))).to_be_visible(timeout=90_000)
    return reply


def test_a_codespace_start_chats_with_the_embedded_model_at_once(endpoint, tmp_path):
    env = {**NO_OPENAI, "PLAYGROUND_LOCAL_PORT": str(endpoint.port), "GITHUB_TOKEN": "ghp_codespace_token"}
    with running_app(env, tmp_path / "streamlit.log") as url, chromium_page() as page:
        page.goto(url)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_role("combobox", name="Provider")).to_have_value("Embedded model (offline)",
                                                                              timeout=60_000)
        expect(sidebar.get_by_text("GitHub token for this session")).to_have_count(0)
        reply = send(page, "Say hello.")
        expect(reply).to_contain_text("finish:")
        expect(page.get_by_test_id("stAlert")).to_have_count(0)  # no error, no GitHub message
        assert "GitHub" not in page.inner_text("body")


@pytest.fixture
def foundry_service():
    routes = {foundry.MODELS: [foundry.MODEL_LIST],
              foundry.CHAT: [foundry.stream("Hello ", "from ", "your ", "Foundry ", "deployment.")]}
    with FakeService(routes, require_key=foundry.KEY) as fake:
        yield fake


def test_foundry_lists_its_deployments_and_streams_a_reply_with_the_rate_limits(endpoint, foundry_service, tmp_path):
    env = {**NO_OPENAI, "PLAYGROUND_LOCAL_PORT": str(endpoint.port),
           "AZURE_OPENAI_ENDPOINT": foundry_service.url + foundry.BASE_PATH + "/", "AZURE_OPENAI_API_KEY": foundry.KEY}
    with running_app(env, tmp_path / "streamlit.log") as url, chromium_page() as page:
        page.goto(url)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_role("combobox", name="Provider")).to_have_value("Microsoft Foundry (OpenAI v1)",
                                                                              timeout=60_000)
        deployment = sidebar.get_by_role("combobox", name="Deployment")
        expect(deployment).to_have_value("gpt-4o-mini")
        deployment.click()
        options = page.get_by_role("option")
        expect(options).to_have_text(["gpt-4o-mini", "Llama-3.3-70B-Instruct", "DeepSeek-R1", "Other model id…"])
        options.nth(1).click()
        expect(deployment).to_have_value("Llama-3.3-70B-Instruct")

        reply = send(page, "Hi there")
        expect(reply).to_contain_text("Hello from your Foundry deployment.")
        expect(sidebar.get_by_text(re.compile(r"999 / 1,000 requests left"))).to_be_visible(timeout=30_000)
        expect(sidebar.get_by_text(re.compile(r"199,950 / 200,000 tokens left"))).to_be_visible()
    sent = [r for r in foundry_service.requests if r["path"] == foundry.CHAT]
    assert sent[-1]["body"]["model"] == "Llama-3.3-70B-Instruct"
