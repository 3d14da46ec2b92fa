"""Images and function calling in Debian's Chromium, on the app started as `streamlit run app.py`.

No vision or tool-calling model runs here, so the chat goes to an Azure AI endpoint
(AZURE_INFERENCE_ENDPOINT) served by a local server (tests/support/fake_service.py) reproducing
such a model's wire behaviour: it records every request body and streams OpenAI-style SSE chunks,
tool-call deltas included. The embedded model is tried too, for function calling.
"""

from __future__ import annotations

import base64
import re
import time
from contextlib import contextmanager

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.pages.test_chat_images_and_tools import TOOL
from tests.playground.test_messages import png
from tests.support.app_server import chromium_page, running_app
from tests.support.fake_service import FakeService, tool_call_reply
from tests.support.github_models import streamed_reply

CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def open_expander(page, label: str) -> None:
    sidebar(page).get_by_test_id("stExpander").filter(
        has=page.locator("summary", has_text=re.compile(rf"^\W*\w*\s*{label}\s*$"))).locator("summary").click()


def env(endpoint, fake: FakeService) -> dict[str, str]:
    return {"PLAYGROUND_LOCAL_PORT": str(endpoint.port), "AZURE_INFERENCE_ENDPOINT": fake.url,
            "AZURE_INFERENCE_CREDENTIAL": "azure-key-123"}


def send(page, text: str, files: list[dict] | None = None) -> None:
    prompt = page.get_by_test_id("stChatInput")
    if files:
        prompt.locator("input[type=file]").set_input_files(files)
        for file in files:
            expect(prompt.get_by_text(file["name"])).to_be_visible(timeout=10_000)
    box = prompt.locator("textarea")
    box.fill(text)
    box.press("Enter")


def test_an_attached_image_is_sent_shown_as_a_thumbnail_and_shown_again_after_a_reload(endpoint, tmp_path):
    data = png(8, 8)
    with FakeService({"/chat/completions": [streamed_reply("A red square.")]}) as fake, \
            running_app(env(endpoint, fake), tmp_path / "app.log") as url, \
            chromium_page() as page:
        page.goto(url)
        open_expander(page, "Images")
        sidebar(page).get_by_text("This model accepts images").click()
        expect(sidebar(page).get_by_role("checkbox", name="This model accepts images")).to_be_checked()
        send(page, "What is this?", [{"name": "square.png", "mimeType": "image/png", "buffer": data}])
        messages = page.get_by_test_id("stChatMessage")
        expect(messages.nth(1)).to_contain_text("A red square.", timeout=30_000)
        thumbnail = messages.nth(0).locator("img")
        expect(thumbnail).to_be_visible()
        expect(messages.nth(0)).to_contain_text("square.png")
        assert thumbnail.evaluate("img => img.naturalWidth") == 8  # the browser decoded the bytes
        expect(page).to_have_url(re.compile(r"\?c=[\w-]{16,}"))
        sent = [r["body"] for r in fake.requests if r["path"].endswith("/chat/completions")][-1]
        assert sent["messages"][-1]["content"] == [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(data).decode(),
                                                "detail": "auto"}}]

        page.reload()
        again = page.get_by_test_id("stChatMessage")
        expect(again).to_have_count(2, timeout=30_000)
        expect(again.nth(0).locator("img")).to_be_visible()
        assert again.nth(0).locator("img").evaluate("img => img.naturalWidth") == 8


def test_a_file_that_is_not_an_image_is_refused_and_the_text_stays(endpoint, tmp_path):
    with FakeService({"/chat/completions": [streamed_reply("never")]}) as fake, \
            running_app(env(endpoint, fake), tmp_path / "app.log") as url, \
            chromium_page() as page:
        page.goto(url)
        send(page, "Describe it", [{"name": "photo.png", "mimeType": "image/png", "buffer": b"not an image"}])
        expect(page.get_by_text("photo.png is not a PNG, JPEG, WebP or GIF image")).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stChatInput").locator("textarea")).to_have_value("Describe it")
        expect(page.get_by_test_id("stChatMessage")).to_have_count(0)
        assert not [r for r in fake.requests if r["path"].endswith("/chat/completions")]


def force_weather_call(page) -> None:
    open_expander(page, "Tools")
    sidebar(page).get_by_role("button", name="Add a function").click()
    expect(sidebar(page).get_by_role("textbox", name="Function 1 name")).to_have_value("get_weather", timeout=30_000)
    sidebar(page).get_by_role("textbox", name="Description").fill("Weather in a city")
    sidebar(page).get_by_role("textbox", name="Description").press("Tab")
    choice = sidebar(page).get_by_role("combobox", name="Tool choice")
    deadline = time.monotonic() + 30
    while True:  # a rerun (the description just typed) may redraw the list as it opens: open it again
        choice.click()
        try:
            page.get_by_role("option", name="call get_weather").click(timeout=3_000)
            break
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise
    expect(choice).to_have_value("call get_weather")


def answer_the_call(page, result: str):
    messages = page.get_by_test_id("stChatMessage")
    call = messages.nth(1)
    expect(call).to_contain_text("Calls get_weather", timeout=60_000)
    expect(call).to_contain_text("finish: tool_calls")
    box = call.get_by_role("textbox", name="Result of get_weather")
    box.fill(result)
    box.press("Tab")
    call.get_by_role("button", name="Send result").click()
    return messages


@contextmanager
def asked_for_the_weather(endpoint, tmp_path, replies):
    """The app on a fake tool-calling model with get_weather forced, once "Weather in Oslo?" is sent."""
    with FakeService({"/chat/completions": replies}) as fake, \
            running_app(env(endpoint, fake), tmp_path / "app.log") as url, \
            chromium_page() as page:
        page.goto(url)
        force_weather_call(page)
        send(page, "Weather in Oslo?")
        yield fake, page


def test_a_forced_call_is_shown_answered_and_the_model_continues(endpoint, tmp_path):
    replies = [tool_call_reply(), streamed_reply("It is 3 degrees in Oslo.")]
    with asked_for_the_weather(endpoint, tmp_path, replies) as (fake, page):
        call = page.get_by_test_id("stChatMessage").nth(1)
        expect(call).to_contain_text('"city": "Oslo"', timeout=60_000)
        expect(call).to_contain_text("Arguments match the schema")
        messages = answer_the_call(page, '{"temperature": 3}')
        expect(messages.last).to_contain_text("It is 3 degrees in Oslo.", timeout=60_000)
        expect(messages.nth(2)).to_contain_text("Tool result for call call_1")
        bodies = [r["body"] for r in fake.requests if r["path"].endswith("/chat/completions")]
    assert bodies[0]["tools"] == [TOOL]
    assert bodies[0]["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert bodies[-1]["messages"][-2:] == [
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "content": '{"temperature": 3}', "tool_call_id": "call_1"}]


def test_a_call_shows_while_it_streams_then_as_a_call_to_answer(endpoint, tmp_path):
    held = tool_call_reply()
    held.hold_after = 2  # the id and name, then half the arguments: the service then waits
    with asked_for_the_weather(endpoint, tmp_path, [held]) as (_, page):
        reply = page.get_by_test_id("stChatMessage").nth(1)
        expect(reply).to_contain_text(re.compile(r"Calling get_weather \(\d characters of arguments so far\)"),
                                      timeout=60_000)
        held.release.set()
        expect(reply).to_contain_text("Calls get_weather", timeout=60_000)
        expect(reply).to_contain_text("finish: tool_calls")
        expect(reply).not_to_contain_text("Calling get_weather")


def test_a_forced_call_on_the_embedded_model_is_answered_and_it_continues(endpoint, tmp_path):
    with running_app({"PLAYGROUND_LOCAL_PORT": str(endpoint.port)}, tmp_path / "app.log") as url, \
            chromium_page() as page:
        page.goto(url)
        force_weather_call(page)
        send(page, "What is the weather in Oslo?")
        messages = answer_the_call(page, '{"temperature": 3, "sky": "clear"}')
        expect(messages).to_have_count(4, timeout=90_000)
        expect(messages.nth(3).get_by_text(re.compile("completion tokens"))).to_be_visible(timeout=90_000)
