"""The playground in Debian's Chromium, started as `streamlit run app.py`, on the embedded model."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.app_server import chromium_page, running_app

SCREENSHOTS = Path(os.environ.get("PLAYGROUND_SCREENSHOTS", "")) if os.environ.get("PLAYGROUND_SCREENSHOTS") else None


@pytest.fixture(scope="module")
def app(endpoint, tmp_path_factory):
    log = tmp_path_factory.mktemp("app") / "streamlit.log"
    with running_app({"PLAYGROUND_LOCAL_PORT": str(endpoint.port)}, log) as url:
        yield url


def shoot(page, name: str) -> None:
    if SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name))


def test_chat_streams_a_reply_with_usage_then_model_info_names_the_model(app):
    with chromium_page() as page:
        page.goto(app)
        box = page.get_by_test_id("stChatInput").locator("textarea")
        box.fill("Tell me three facts about the moon.")
        box.press("Enter")
        messages = page.get_by_test_id("stChatMessage")
        expect(messages).to_have_count(2, timeout=60_000)
        expect(messages.nth(0)).to_contain_text("Tell me three facts about the moon.")
        usage = messages.nth(1).get_by_text(re.compile(r"prompt \+ \d+ completion tokens"))
        expect(usage).to_be_visible(timeout=60_000)
        expect(usage).to_contain_text("finish:")
        expect(usage).to_contain_text("first token")
        assert len(messages.nth(1).inner_text()) > len(usage.inner_text()) + 10  # the reply text itself
        shoot(page, "chat.png")

        page.get_by_role("link", name="Model info").click()
        expect(page.get_by_role("heading", name="SmolLM2-135M-Instruct")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("HuggingFaceTB")).to_be_visible()
        shoot(page, "model-info.png")

        # Back on the chat page the conversation is still there.
        page.get_by_role("link", name="Chat").click()
        expect(page.get_by_test_id("stChatMessage")).to_have_count(2, timeout=30_000)


def test_stop_ends_generation_and_keeps_the_partial_reply(app):
    with chromium_page() as page:
        page.goto(app)
        box = page.get_by_test_id("stChatInput").locator("textarea")
        box.fill("Write a very long, detailed essay about the history of the Roman Empire.")
        box.press("Enter")
        stop = page.get_by_role("button", name="Stop")
        expect(stop).to_be_visible(timeout=60_000)
        reply = page.get_by_test_id("stChatMessage").nth(1)
        expect(reply).to_contain_text(re.compile(r"\w+ \w+ \w+"), timeout=30_000)
        stop.click()
        expect(reply.get_by_text("finish: stopped")).to_be_visible(timeout=30_000)
        expect(stop).to_have_count(0)
        partial = reply.locator("[data-testid='stMarkdownContainer']").first.inner_text()
        assert len(partial.split()) >= 3
        # A new prompt still works after stopping.
        box.fill("Say hi.")
        box.press("Enter")
        expect(page.get_by_test_id("stChatMessage")).to_have_count(4, timeout=60_000)
        usage = page.get_by_test_id("stChatMessage").nth(3).get_by_text(re.compile("completion tokens"))
        expect(usage).to_be_visible(timeout=60_000)
