"""Images and function calling on the chat page, under streamlit.testing.

No vision or tool-calling model runs here (the embedded one reads text only), so the endpoint
is a local server (tests/fake_service.py) reproducing such a model's wire behaviour on the Azure
AI Model Inference route: it records each request body and streams OpenAI-style SSE chunks,
including `tool_calls` deltas whose arguments arrive in pieces, as the services send them.
"""

from __future__ import annotations

import base64
import json
import os

import pytest

from playground.store import Store
from tests.pages.apptest import open_lazy, open_page, send, shown
from tests.playground.test_messages import png
from tests.support.fake_service import FakeService, Reply, tool_call_reply
from tests.support.github_models import streamed_reply

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                         "parameters": WEATHER}}
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}


@pytest.fixture
def vision(clean_env, endpoint):
    """The chat page on an Azure AI endpoint served by the fake, with these replies."""
    def start(replies: list[Reply]) -> FakeService:
        fake = FakeService({"/chat/completions": replies, "/info": [Reply(body={
            "model_name": "fake-vision", "model_type": "chat-completions", "model_provider_name": "Test"})]})
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("AZURE_INFERENCE_ENDPOINT", fake.url)
        clean_env.setenv("AZURE_INFERENCE_CREDENTIAL", "azure-key-123")
        return fake
    return start


def bodies(fake: FakeService) -> list[dict]:
    return [r["body"] for r in fake.requests if r["path"].endswith("/chat/completions")]


def define_weather_tool(at, choice: str = "function:get_weather", parallel: bool = True):
    open_lazy(at, "chat_tools_open")
    next(b for b in at.sidebar.button if b.label == "Add a function").click().run()
    at.text_input(key="chat_tool_description_0").set_value("Weather in a city").run()
    at.text_area(key="chat_tool_parameters_0").set_value(json.dumps(WEATHER)).run()
    at.selectbox(key="chat_tool_choice_input").set_value(choice).run()
    if not parallel:
        at.toggle(key="chat_parallel_tool_calls_input").set_value(False).run()
    assert not at.exception, at.exception
    return at


def test_a_tool_defined_in_the_panel_reaches_the_request_exactly(vision):
    with vision([streamed_reply("No call needed.")]) as fake:
        at = define_weather_tool(open_page(), parallel=False)
        send(at, "Weather in Oslo?")
    body = bodies(fake)[-1]
    assert body["tools"] == [TOOL]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False
    assert at.session_state["chat_messages"][-1].content == "No call needed."


def test_parallel_calls_on_and_choice_auto_send_only_tools_and_auto(vision):
    with vision([streamed_reply("ok")]) as fake:
        at = define_weather_tool(open_page(), choice="auto")
        send(at, "Hi")
    body = bodies(fake)[-1]
    assert body["tools"] == [TOOL] and body["tool_choice"] == "auto" and "parallel_tool_calls" not in body


def test_an_invalid_schema_is_named_blocks_sending_and_keeps_the_prompt(vision):
    with vision([streamed_reply("never")]) as fake:
        at = define_weather_tool(open_page())
        at.text_area(key="chat_tool_parameters_0").set_value('{"type": "object", "properties": {"city": '
                                                             '{"type": "strng"}}}').run()
        send(at, "Keep this prompt")
    assert bodies(fake) == []
    panel = [shown(e.value) for e in at.sidebar.error]
    assert any(m.startswith("Function 'get_weather': parameters is not a valid JSON schema at properties/city/type")
               for m in panel), panel
    assert "Not sent." in at.error[0].value and "Function 'get_weather': parameters" in shown(at.error[0].value)
    assert [(m.role, m.content) for m in at.session_state["chat_messages"]] == [("user", "Keep this prompt")]
    # Fixed, Retry sends the kept prompt.
    at.text_area(key="chat_tool_parameters_0").set_value(json.dumps(WEATHER)).run()
    with vision([streamed_reply("Sent now.")]) as fake:
        next(b for b in at.button if b.label == "Retry").click().run()
    assert bodies(fake)[-1]["messages"][-1] == {"role": "user", "content": "Keep this prompt"}


def test_a_function_name_against_the_rule_is_named(vision):
    with vision([streamed_reply("never")]):
        at = define_weather_tool(open_page(), choice="auto")
        at.text_input(key="chat_tool_name_0").set_value("get weather").run()
        named = [e for e in at.sidebar.error if "Function 'get weather': the name may hold only" in shown(e.value)]
        assert len(named) == 2, named  # under the field, and among what blocks sending
        at.text_input(key="chat_tool_name_0").set_value("get_weather").run()
    assert not at.sidebar.error  # the message goes as soon as the name is fixed


def test_a_streamed_tool_call_is_shown_checked_answered_and_the_model_continues(vision):
    with vision([tool_call_reply(), streamed_reply("It is 3 degrees in Oslo.")]) as fake:
        at = define_weather_tool(open_page())
        send(at, "Weather in Oslo?")
        reply = at.session_state["chat_messages"][-1]
        assert reply.tool_calls == (CALL,) and reply.metrics["finish_reason"] == "tool_calls"
        assert any("Calls **get\\_weather**" in m.value for m in at.markdown)
        assert any('"city": "Oslo"' in c.value for c in at.code)
        assert any("Arguments match the schema." in shown(c.value) for c in at.caption)
        assert any("finish: tool_calls" in shown(c.value) for c in at.caption)
        at.text_area(key="chat_result_call_1").set_value('{"temperature": 3}').run()
        at.button(key="chat_save_canned_call_1").click().run()
        at.button(key="chat_send_result_call_1").click().run()
        assert not at.exception, at.exception
    follow_up = bodies(fake)[-1]["messages"]
    assert follow_up[-2:] == [{"role": "assistant", "content": None, "tool_calls": [CALL]},
                              {"role": "tool", "content": '{"temperature": 3}', "tool_call_id": "call_1"}]
    assert at.session_state["chat_messages"][-1].content == "It is 3 degrees in Oslo."
    assert at.session_state["chat_canned_results"] == {"get_weather": ['{"temperature": 3}']}


def test_a_file_that_is_not_an_image_is_refused_and_the_text_comes_back(vision):
    with vision([streamed_reply("never")]) as fake:
        at = open_page()
        at.chat_input[0].upload("cat.png", b"this is not a picture", "image/png")
        at.chat_input[0].set_value("What is in this picture?").run()
    assert not at.exception, at.exception
    assert bodies(fake) == [] and at.session_state["chat_messages"] == []
    assert any("cat.png is not a PNG, JPEG, WebP or GIF image" in w.value for w in at.warning)
    assert at.chat_input[0].proto.value == "What is in this picture?"  # back in the box


def test_a_file_over_the_size_cap_is_refused(vision, clean_env):
    clean_env.setenv("PLAYGROUND_MAX_IMAGE_MB", "1")
    with vision([streamed_reply("never")]) as fake:
        at = open_page()
        assert "images up to 1 MB each" in at.chat_input[0].placeholder
        at.chat_input[0].upload("big.png", png() + bytes(1024 * 1024), "image/png")
        at.chat_input[0].set_value("Look").run()
    assert bodies(fake) == [] and any("big.png is 1.0 MB: images may be at most 1.0 MB each" in w.value
                                      for w in at.warning)


def test_images_go_as_content_parts_are_shown_and_saved(vision, clean_env):
    data = png()
    with vision([streamed_reply("A red square.")]) as fake:
        at = open_page()
        at.checkbox(key="model_accepts_images_azure").check().run()
        at.selectbox(key="chat_image_detail").set_value("low").run()
        at.chat_input[0].upload("square.png", data, "image/png")
        at.chat_input[0].set_value("What is this?").run()
        assert not at.exception, at.exception
    assert bodies(fake)[-1]["messages"][-1] == {"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(data).decode(),
                                            "detail": "low"}}]}
    [thumbnail] = at.get("image")  # drawn from the bytes, served by Streamlit, never a data: URL in markdown
    assert thumbnail.captions == ["square.png"] and "/media/" in thumbnail.value[0]
    conversation = Store(os.environ["PLAYGROUND_DB_PATH"]).get(at.session_state["chat_conversation_id"])
    assert conversation.messages[0].images[0].data == data
    # Opened again (a reload: a new session at ?c=), the image is shown again.
    again = open_page(conversation_id=conversation.id)
    assert [image.captions for image in again.get("image")] == [["square.png"]]


def test_a_model_not_marked_as_reading_images_is_not_sent_them_and_the_prompt_stays(vision):
    with vision([streamed_reply("I see it.")]) as fake:
        at = open_page()
        at.chat_input[0].upload("square.png", png(), "image/png")
        at.chat_input[0].set_value("What is this?").run()
        assert bodies(fake) == []
        assert "is not marked as accepting images" in at.error[0].value
        assert [m.content for m in at.session_state["chat_messages"]] == ["What is this?"]
        at.checkbox(key="model_accepts_images_azure").check().run()
        next(b for b in at.button if b.label == "Retry").click().run()
    assert bodies(fake)[-1]["messages"][-1]["content"][1]["type"] == "image_url"


def test_a_text_only_endpoint_refusing_images_reads_plainly_and_keeps_the_prompt(vision):
    refusal = Reply(status=400, body={"error": {"code": "invalid_request_error", "message":
                                                "messages[1].content[1]: this model takes text only (no images, "
                                                "audio or files)."}})
    with vision([refusal]):
        at = open_page()
        at.checkbox(key="model_accepts_images_azure").check().run()
        at.chat_input[0].upload("square.png", png(), "image/png")
        at.chat_input[0].set_value("What is this?").run()
    assert "takes text only" in at.error[0].value
    assert [m.content for m in at.session_state["chat_messages"]] == ["What is this?"]
    assert [b.label for b in at.button if b.label == "Retry"] == ["Retry"]


def test_a_preset_keeps_the_tools_the_choice_and_canned_results(vision):
    with vision([streamed_reply("ok")]):
        at = define_weather_tool(open_page(), parallel=False)
        at.session_state["chat_canned_results"] = {"get_weather": ["sunny"]}
        open_lazy(at, "presets_open")
        at.text_input(key="presets_name").set_value("weather tools").run()
        next(b for b in at.sidebar.button if b.label == "Save preset").click().run()
        at.button(key="chat_tool_remove_0").click().run()
        at.session_state["chat_canned_results"] = {}
        at.run()
        assert at.session_state["chat_tools"] == []
        next(b for b in at.sidebar.button if b.label == "Load preset").click().run()
    assert [(d["name"], json.loads(d["parameters"])) for d in at.session_state["chat_tools"]] == [
        ("get_weather", WEATHER)]
    assert at.selectbox(key="chat_tool_choice_input").value == "function:get_weather"
    assert at.toggle(key="chat_parallel_tool_calls_input").value is False
    assert at.session_state["chat_canned_results"] == {"get_weather": ["sunny"]}


def test_the_embedded_model_refusing_an_image_says_it_takes_text_only_and_keeps_the_prompt(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    at = open_page()
    at.checkbox(key="model_accepts_images_embedded").check().run()  # the user says so; the endpoint knows better
    at.chat_input[0].upload("square.png", png(), "image/png")
    at.chat_input[0].set_value("What is this?").run()
    assert not at.exception, at.exception
    assert "text only" in at.error[0].value
    assert [m.content for m in at.session_state["chat_messages"]] == ["What is this?"]
    assert [b.label for b in at.button if b.label == "Retry"] == ["Retry"]


def parallel_calls_reply() -> Reply:
    """Two calls in one reply (parallel tool calls), each streamed under its own index."""
    def event(delta: dict, finish_reason: str | None = None) -> dict:
        return {"id": "chatcmpl-fake", "created": 0, "model": "fake-vision", "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
    return Reply(events=[
        event({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_oslo", "type": "function",
                                                    "function": {"name": "get_weather", "arguments": '{"city": '}}]}),
        event({"tool_calls": [{"index": 1, "id": "call_rome", "type": "function",
                               "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]}),
        event({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]}),
        event({}, "tool_calls"),
    ])


def test_parallel_calls_each_take_a_result_and_the_model_continues_after_the_last(vision):
    with vision([parallel_calls_reply(), streamed_reply("Oslo 3, Rome 18.")]) as fake:
        at = define_weather_tool(open_page(), choice="required")
        send(at, "Weather in Oslo and Rome?")
        assert [c["id"] for c in at.session_state["chat_messages"][-1].tool_calls] == ["call_oslo", "call_rome"]
        at.text_area(key="chat_result_call_oslo").set_value("3").run()
        at.button(key="chat_send_result_call_oslo").click().run()
        assert len(bodies(fake)) == 1  # still waiting for Rome's result, whose box is still there
        at.text_area(key="chat_result_call_rome").set_value("18").run()
        at.button(key="chat_send_result_call_rome").click().run()
        assert not at.exception, at.exception
    assert [(m["role"], m.get("tool_call_id")) for m in bodies(fake)[-1]["messages"][-3:]] == [
        ("assistant", None), ("tool", "call_oslo"), ("tool", "call_rome")]
    assert at.session_state["chat_messages"][-1].content == "Oslo 3, Rome 18."


def test_image_names_and_model_written_call_names_are_shown_literally():
    from streamlit.testing.v1 import AppTest

    def draw():
        from components.conversation import render_message
        from playground.messages import Image, Message
        from tests.playground.test_messages import png
        render_message(Message("user", "look", images=(Image("image/png", png(), None, "![x](http://h.test/a.png)"),)))
        render_message(Message("assistant", "", tool_calls=({"id": "c](http://h.test)", "type": "function",
                                                             "function": {"name": "![y](http://h.test/b)",
                                                                          "arguments": "{}"}},)))

    at = AppTest.from_function(draw).run()
    assert not at.exception, at.exception
    [image] = at.get("image")
    assert image.captions == [r"!\[x\](http\://h.test/a.png)"]  # shown as typed, not drawn
    assert any(m.value.startswith(r"Calls **!\[y\](http\://h.test/b)**") for m in at.markdown)


def test_an_edited_prompt_is_resent_with_its_images_and_so_is_a_regenerated_one(vision):
    data = png()
    image_part = {"type": "image_url", "image_url": {
        "url": "data:image/png;base64," + base64.b64encode(data).decode(), "detail": "auto"}}
    with vision([streamed_reply("A square."), streamed_reply("Red."), streamed_reply("Red, again.")]) as fake:
        at = open_page()
        at.checkbox(key="model_accepts_images_azure").check().run()
        at.chat_input[0].upload("square.png", data, "image/png")
        at.chat_input[0].set_value("What is this?").run()
        open_lazy(at, "chat_edit_open_0")
        assert any("Its 1 image(s) are sent again" in c.value for c in at.caption)
        at.text_area(key="chat_edit_0").set_value("Which colour is it?")
        at.button(key="chat_resend_0").click().run()
        at.button(key="chat_regenerate").click().run()
        assert not at.exception, at.exception
    sent = [body["messages"][-1]["content"] for body in bodies(fake)]
    assert sent[1:] == [[{"type": "text", "text": "Which colour is it?"}, image_part]] * 2
    assert at.session_state["chat_messages"][-1].content == "Red, again."
