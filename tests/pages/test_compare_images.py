"""Compare sends every column the same images. No vision model runs here: the columns use an
Azure AI endpoint served by a local server (tests/fake_service.py) reproducing one's wire
behaviour, recording each body and streaming SSE chunks."""

from __future__ import annotations

import base64

from tests.conftest import ROOT
from tests.pages.apptest import open_page
from tests.pages.test_chat_images_and_tools import bodies, vision  # noqa: F401 (a fixture)
from tests.playground.test_messages import png
from tests.support.github_models import streamed_reply

PAGE = str(ROOT / "pages" / "compare.py")


def test_columns_not_marked_as_reading_images_are_named_and_nothing_is_sent(vision):  # noqa: F811
    with vision([streamed_reply("never")]) as fake:
        at = open_page(PAGE)
        at.chat_input[0].upload("square.png", png(), "image/png")
        at.chat_input[0].set_value("Which colour?").run()
    assert not at.exception, at.exception
    assert bodies(fake) == [] and at.session_state["compare_history"] == []
    warning = " ".join(w.value for w in at.warning)
    assert "column 1 (Microsoft Foundry (Model Inference API)" in warning and "column 2" in warning
    assert "not marked as reading" in warning
    assert at.chat_input[0].proto.value == "Which colour?"


def test_every_column_is_sent_the_same_image_parts(vision):  # noqa: F811
    data = png()
    with vision([streamed_reply("Red.")]) as fake:
        at = open_page(PAGE)
        at.checkbox(key="model_accepts_images_azure").check().run()
        at.chat_input[0].upload("square.png", data, "image/png")
        at.chat_input[0].set_value("Which colour?").run()
        assert not at.exception, at.exception
    sent = [body["messages"][-1] for body in bodies(fake)]
    part = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(data).decode(),
                                               "detail": "auto"}}
    assert sent == [{"role": "user", "content": [{"type": "text", "text": "Which colour?"}, part]}] * 2
    assert [image.captions for image in at.get("image")] == [["square.png"]]  # the prompt, once, across the page
