"""In Debian's Chromium: a conversation survives a restart of the Streamlit process, and cloud
errors (a 429 and a stream cut mid-way) read plainly while nothing typed is lost.

GitHub Models cannot be reached here; a local server (tests/fake_service.py) replays its
documented wire behaviour: catalog JSON, SSE chunks, and the 429 with `retry-after: 24367`.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.support.app_server import chromium_page, running_app
from tests.support.fake_service import FakeService, Reply, chunk
from tests.support.github_models import CATALOG, DAILY_LIMIT_429


def send(page, text: str) -> None:
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(text)
    box.press("Enter")


def test_a_conversation_survives_an_app_restart_and_a_reload(endpoint, tmp_path):
    env = {"PLAYGROUND_LOCAL_PORT": str(endpoint.port)}
    with running_app(env, tmp_path / "first.log") as url, chromium_page() as page:
        page.goto(url)
        send(page, "Remember the word lighthouse.")
        usage = page.get_by_test_id("stChatMessage").nth(1).get_by_text(re.compile("completion tokens"))
        expect(usage).to_be_visible(timeout=90_000)
        expect(page).to_have_url(re.compile(r"\?c=[\w-]{16,}"))
        bookmark = page.url
        reply = (page.get_by_test_id("stChatMessage").nth(1).locator("[data-testid='stMarkdownContainer']")
                 .first.inner_text())
    # A new Streamlit process on another port, the same database: open the bookmark.
    with running_app(env, tmp_path / "second.log") as url, chromium_page() as page:
        page.goto(url + "/?" + bookmark.split("?", 1)[1])
        messages = page.get_by_test_id("stChatMessage")
        expect(messages).to_have_count(2, timeout=30_000)
        expect(messages.nth(0)).to_contain_text("Remember the word lighthouse.")
        expect(messages.nth(1)).to_contain_text(reply.strip()[:40])
        saved = page.get_by_test_id("stSidebar").get_by_role("button", name="Remember the word lighthouse.")
        expect(saved).to_be_visible()


def test_a_429_and_a_cut_stream_read_plainly_and_lose_nothing(endpoint, tmp_path):
    cut = Reply(events=[chunk("Partial "), chunk("answer "), chunk("here"), chunk(finish_reason="stop")], cut_after=2)
    routes = {"/catalog/models": [Reply(body=CATALOG)], "/inference/chat/completions": [DAILY_LIMIT_429, cut]}
    with FakeService(routes) as fake:
        env = {"PLAYGROUND_LOCAL_PORT": str(endpoint.port), "GITHUB_TOKEN": "ghp_browsertest",
               "GITHUB_MODELS_URL": fake.url}
        with running_app(env, tmp_path / "app.log") as url, chromium_page() as page:
            page.goto(url)
            send(page, "First question")
            alert = page.get_by_test_id("stAlert").filter(has_text="throttling")
            expect(alert).to_be_visible(timeout=30_000)
            expect(alert).to_contain_text("150 requests per day")
            expect(alert).to_contain_text("6 h 46 min")
            expect(page.get_by_test_id("stChatMessage").nth(0)).to_contain_text("First question")
            page.get_by_role("button", name="Retry").click()
            reply = page.get_by_test_id("stChatMessage").nth(1)
            expect(reply).to_contain_text("Partial answer", timeout=30_000)
            expect(reply).to_contain_text("broke off mid-reply")
            expect(reply).to_contain_text("Incomplete reply")
            assert len([r for r in fake.requests if r["path"].endswith("/chat/completions")]) == 2
