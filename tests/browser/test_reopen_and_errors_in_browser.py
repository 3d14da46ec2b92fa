"""In Debian's Chromium: a saved comparison reopens from the History list in the Compare page;
the model info page shows its values whole at an ordinary window width; and the user's prompt
never leaves the page while errors arrive one after another.

The cloud services are unreachable here: a local server (tests/fake_service.py) replays their
documented wire behaviour (`/info`, error bodies and statuses, SSE streams cut mid-way)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.support.app_server import chromium_page, idle, running_app
from tests.support.browser_tree import gaps, received
from tests.support.fake_service import FakeService, Reply, chunk
from tests.support.github_models import CONTENT_FILTER_400, DAILY_LIMIT_429, TOKENS_LIMIT_413, streamed_reply

METRICS = re.compile(r"completion tokens · finish: \w+")
UNAUTHORIZED = Reply(status=401, body={"error": {"code": "401", "message": "Access denied due to invalid key."}})


def send(page, text: str) -> None:
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(text)
    box.press("Enter")


def test_a_comparison_in_the_history_reopens_in_compare_with_its_columns_and_replies(endpoint, tmp_path):
    with running_app({"PLAYGROUND_LOCAL_PORT": str(endpoint.port)}, tmp_path / "app.log") as url, \
            chromium_page(width=1400, height=1000) as page:
        page.goto(url + "/compare")
        expect(page.get_by_role("heading", name="Compare")).to_be_visible(timeout=30_000)
        send(page, "Name a river.")
        messages = page.get_by_test_id("stChatMessage")
        for column in (1, 2):
            expect(messages.nth(column).get_by_text(METRICS)).to_be_visible(timeout=120_000)
        replies = [messages.nth(c).locator("[data-testid='stMarkdownContainer']").first.inner_text() for c in (1, 2)]

        page.get_by_role("link", name="Chat").click()
        expect(page.get_by_role("heading", name="Chat")).to_be_visible(timeout=30_000)
        page.get_by_test_id("stSidebar").get_by_role("button", name="Name a river.").click()

        expect(page.get_by_role("heading", name="Compare")).to_be_visible(timeout=30_000)
        expect(page).to_have_url(re.compile(r"/compare\?c=[\w-]{16,}"))
        expect(messages).to_have_count(3, timeout=30_000)
        expect(messages.nth(0)).to_contain_text("Name a river.")
        for column, text in zip((1, 2), replies, strict=True):
            expect(messages.nth(column)).to_contain_text(text.strip()[:30])
            expect(messages.nth(column).get_by_text(METRICS)).to_be_visible()
        expect(page.get_by_text("does not exist")).to_have_count(0)


def test_model_info_shows_long_values_whole_at_an_ordinary_width(endpoint, tmp_path):
    provider = "Meta Platforms, Inc. — serverless deployment in Sweden Central (pay-as-you-go)"
    info = Reply(body={"model_name": "Meta-Llama-3.1-405B-Instruct", "model_type": "chat-completions",
                       "model_provider_name": provider})
    with FakeService({"/info": [info] * 5}) as fake:
        env = {"PLAYGROUND_LOCAL_PORT": str(endpoint.port), "AZURE_INFERENCE_ENDPOINT": fake.url,
               "AZURE_INFERENCE_CREDENTIAL": "azure-key-123"}
        with running_app(env, tmp_path / "app.log") as url, chromium_page(width=1280, height=800) as page:
            page.goto(url + "/model_info")
            for value in ("chat-completions", provider):
                shown = page.get_by_text(value, exact=True)
                expect(shown).to_be_visible(timeout=30_000)
                # Whole: neither the element nor any box around it that clips (st.metric's ellipsis)
                # is narrower than the text.
                assert shown.evaluate("""e => {
                    for (let box = e; box && box.dataset.testid !== 'stMain'; box = box.parentElement) {
                        const style = getComputedStyle(box);
                        const clips = style.overflow !== 'visible' || style.textOverflow === 'ellipsis';
                        if (clips && box.scrollWidth > box.clientWidth + 1) return false;
                    }
                    return true;
                }"""), value


def test_the_prompt_stays_on_the_page_through_a_run_of_errors(endpoint, tmp_path):
    cut = Reply(events=[chunk("Partial "), chunk("answer "), chunk("here"), chunk(finish_reason="stop")], cut_after=2)
    script = [DAILY_LIMIT_429, CONTENT_FILTER_400, TOKENS_LIMIT_413, UNAUTHORIZED, cut, streamed_reply("Fine.")]
    with FakeService({"/chat/completions": script}) as fake:
        env = {"PLAYGROUND_LOCAL_PORT": str(endpoint.port), "AZURE_INFERENCE_ENDPOINT": fake.url,
               "AZURE_INFERENCE_CREDENTIAL": "azure-key-123"}
        with running_app(env, tmp_path / "app.log") as url, chromium_page() as page:
            page.goto(url)
            prompt = "Keep this prompt on screen"
            send(page, prompt)
            expect(page.get_by_test_id("stChatMessage").first).to_contain_text(prompt, timeout=30_000)
            # From now on, note every moment the prompt is not in the page.
            page.evaluate("""prompt => {
                window.__missing = [];
                new MutationObserver(() => {
                    const shown = [...document.querySelectorAll('[data-testid=stChatMessage]')]
                        .some(m => m.textContent.includes(prompt));
                    if (!shown) window.__missing.push(performance.now());
                }).observe(document.body, {subtree: true, childList: true, characterData: true});
            }""", prompt)
            for expected in ("throttling", "content policy", "larger than", "refused the credentials"):
                alert = page.get_by_test_id("stAlert").filter(has_text=expected)
                expect(alert).to_be_visible(timeout=30_000)
                page.get_by_role("button", name="Retry").click()
            reply = page.get_by_test_id("stChatMessage").nth(1)
            expect(reply).to_contain_text("broke off mid-reply", timeout=30_000)
            assert page.evaluate("window.__missing") == []
            expect(page.get_by_test_id("stChatMessage").first).to_contain_text(prompt)


def test_no_message_the_browser_receives_takes_a_prompt_off_the_page(endpoint, tmp_path):
    """Every message the browser receives through a session (a reply, a 429 and Retry, a reply),
    applied in order as the browser applies them (tests/support/browser_tree.py): once a prompt is
    on the page, none takes it off, not even for the moment between two of them. A full page run
    that drew the fragment's new messages at another place did, after every reply."""
    script = [streamed_reply("First answer."), DAILY_LIMIT_429, streamed_reply("Second answer.")]
    with FakeService({"/chat/completions": script}) as fake:
        env = {"PLAYGROUND_LOCAL_PORT": str(endpoint.port), "AZURE_INFERENCE_ENDPOINT": fake.url,
               "AZURE_INFERENCE_CREDENTIAL": "azure-key-123"}
        with running_app(env, tmp_path / "app.log") as url, chromium_page() as page:
            messages = received(page)
            page.goto(url)
            send(page, "The first prompt")
            expect(page.get_by_test_id("stChatMessage").nth(1)).to_contain_text("First answer.", timeout=30_000)
            idle(page)
            send(page, "The second prompt")
            expect(page.get_by_test_id("stAlert").filter(has_text="throttling")).to_be_visible(timeout=30_000)
            page.get_by_role("button", name="Retry").click()
            expect(page.get_by_test_id("stChatMessage").nth(3)).to_contain_text("Second answer.", timeout=30_000)
            idle(page)
    assert sum(m.WhichOneof("type") == "script_finished" for m in messages) >= 5  # the session was seen
    for prompt in ("The first prompt", "The second prompt", "First answer."):
        assert gaps(messages, prompt) == [], prompt
