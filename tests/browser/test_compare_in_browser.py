"""The Compare page in Debian's Chromium, started as `streamlit run app.py`, on the embedded model."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.app_server import chromium_page, running_app

SCREENSHOTS = Path(os.environ["PLAYGROUND_SCREENSHOTS"]) if os.environ.get("PLAYGROUND_SCREENSHOTS") else None
METRICS = re.compile(r"prompt \+ \d+ completion tokens · finish: \w+ · first token [\d.]+ s")


@pytest.fixture(scope="module")
def app(endpoint, tmp_path_factory):
    log = tmp_path_factory.mktemp("app") / "streamlit.log"
    with running_app({"PLAYGROUND_LOCAL_PORT": str(endpoint.port)}, log) as url:
        yield url


def test_compare_streams_one_prompt_into_two_columns_with_their_metrics(app, endpoint):
    before = len(endpoint.requests())
    with chromium_page(width=1400, height=1000) as page:
        page.goto(app)
        page.get_by_role("link", name="Compare").click()
        expect(page.get_by_role("heading", name="Compare")).to_be_visible(timeout=30_000)
        box = page.get_by_test_id("stChatInput").locator("textarea")
        box.fill("Name two planets.")
        box.press("Enter")

        messages = page.get_by_test_id("stChatMessage")
        expect(messages).to_have_count(3, timeout=60_000)  # the prompt, then one reply per column
        expect(messages.nth(0)).to_contain_text("Name two planets.")
        for column in (1, 2):
            usage = messages.nth(column).get_by_text(METRICS)
            expect(usage).to_be_visible(timeout=120_000)
            reply = messages.nth(column).locator("[data-testid='stMarkdownContainer']").first.inner_text()
            assert reply.strip() and "▌" not in reply
        expect(page.get_by_role("button", name="Stop")).to_have_count(0)
        # Side by side: the two replies share a row.
        first, second = messages.nth(1).bounding_box(), messages.nth(2).bounding_box()
        assert abs(first["y"] - second["y"]) < 5 and second["x"] > first["x"] + first["width"] - 5
        if SCREENSHOTS:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "compare.png"))
    assert len(endpoint.requests()) - before == 2
