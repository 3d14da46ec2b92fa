"""playground.chat, the chat use case, against a fake store object that records every call
(the real store is another module's; its own tests cover what it does with them)."""

from __future__ import annotations

import base64

import pytest

from playground import state as keys
from playground import tools
from playground.catalog import CatalogModel
from playground.chat import Chat, images_problem, sees_images
from playground.client import ChatClient
from playground.errors import PlaygroundError
from playground.messages import Image, Message, wire
from playground.params import validate
from playground.providers import CUSTOM, EMBEDDED, GITHUB, ModelChoice, Provider
from playground.store import Store
from playground.types import INFERENCE, OPENAI, ChatParams, Endpoint, Reply
from tests.pages.test_chat_images_and_tools import TOOL
from tests.playground.test_messages import GIF, png
from tests.support.fake_service import FakeService, tool_call_reply
from tests.support.github_models import streamed_reply


class FakeStore:
    def __init__(self):
        self.calls: list[tuple] = []
        self.next_id = 0

    def create_conversation(self, setup, kind="chat", title=None):
        self.calls.append(("create", setup))
        return "conv-1"

    def update_setup(self, conversation_id, setup):
        self.calls.append(("setup", setup))

    def add_message(self, conversation_id, role, content, metrics=None, status="complete", column=None, *,
                    tool_calls=None, tool_call_id=None, images=None):
        self.next_id += 1
        self.calls.append(("add", conversation_id, {"role": role, "content": content, "tool_calls": tool_calls,
                                                    "tool_call_id": tool_call_id, "images": images}))
        return self.next_id

    def edit_message(self, conversation_id, message_id, content, drop_following=False):
        self.calls.append(("edit", message_id, content, drop_following))

    def truncate_after(self, conversation_id, message_id):
        self.calls.append(("truncate", message_id))

    def added(self) -> list[dict]:
        return [call[2] for call in self.calls if call[0] == "add"]


def provider(kind=CUSTOM, pid="custom:vision") -> Provider:
    return Provider(pid, kind, "Vision fake", Endpoint("http://127.0.0.1:1/v1", "Vision fake"), model="v")


CUSTOM_CHOICE = ModelChoice(provider(), "v")


@pytest.fixture
def chat() -> Chat:
    return Chat({}, FakeStore())


def submit(chat: Chat, text: str, files=(), choice=CUSTOM_CHOICE, detail="high") -> str | None:
    return chat.submit_prompt(choice, text, files, max_image_mb=1, detail=detail)


def test_a_prompt_with_images_is_saved_with_them_before_it_is_sent(chat):
    data = png()
    assert submit(chat, "What is this?", [("cat.png", data), ("dog.gif", GIF)]) is None
    saved = chat.store.added()
    assert saved == [{"role": "user", "content": "What is this?", "tool_calls": None, "tool_call_id": None,
                      "images": [{"mime": "image/png", "data": data, "detail": "high", "name": "cat.png"},
                                 {"mime": "image/gif", "data": GIF, "detail": "high", "name": "dog.gif"}]}]
    assert chat.awaiting_reply and chat.take_send()
    assert [part["type"] for part in chat.request()[-1]["content"]] == ["text", "image_url", "image_url"]


def test_detail_not_sent_leaves_it_out_of_the_part(chat):
    submit(chat, "", [("cat.png", png())], detail=None)
    assert chat.request()[-1]["content"][0]["image_url"].keys() == {"url"}


def test_a_rejected_file_adds_nothing_and_says_which(chat):
    message = submit(chat, "Keep my words", [("cat.png", png()), ("notes.png", b"plain text")])
    assert message.startswith("Not sent: notes.png is not a PNG, JPEG, WebP or GIF image")
    assert chat.messages == [] and chat.store.calls == [] and not chat.take_send()
    too_big = submit(chat, "x", [("huge.png", png() + bytes(2 * 1024 * 1024))])
    assert "huge.png is 2.0 MB: images may be at most 1.0 MB each" in too_big


def test_editing_a_prompt_keeps_its_images_and_regenerating_resends_them(chat):
    submit(chat, "Describe", [("cat.png", png())])
    chat.take_send()
    chat.begin_reply(CUSTOM_CHOICE).finish(Reply(("A cat.",), ("stop",), (None,)), "stop")
    chat.edit_and_resend(0, "Describe briefly")
    assert chat.messages[0].images and chat.messages[0].content == "Describe briefly" and chat.take_send()
    assert chat.store.calls[-1] == ("edit", 1, "Describe briefly", True)
    chat.begin_reply(CUSTOM_CHOICE).finish(Reply(("A cat again.",), ("stop",), (None,)), "stop")
    chat.regenerate()
    assert chat.take_send() and chat.request()[-1]["content"][1]["type"] == "image_url"


def test_which_models_see_images_card_first_then_the_users_word():
    card = CatalogModel(id="openai/gpt-4o", name="GPT-4o", publisher="OpenAI", summary="",
                        input_modalities=("text", "image"))
    text_card = CatalogModel(id="m/text", name="Text", publisher="M", summary="")
    github = provider(GITHUB, "github")
    assert sees_images(ModelChoice(github, card.id, card), {}) is True
    assert sees_images(ModelChoice(github, text_card.id, text_card), {"github": True}) is False
    assert sees_images(CUSTOM_CHOICE, {}) is False
    assert sees_images(CUSTOM_CHOICE, {"custom:vision": True}) is True
    embedded = ModelChoice(provider(EMBEDDED, "embedded"), None)
    images = [Message("user", "hi", images=(Image("image/png", png()),))]
    assert "tick \"This model accepts images\"" in images_problem(embedded, {}, images)
    assert "takes text only" in images_problem(ModelChoice(github, text_card.id, text_card), {}, images)
    assert images_problem(embedded, {}, [Message("user", "no images")]) is None


CALLS = ({"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
         {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}})


def test_the_tool_flow_waits_for_every_result_then_continues(chat):
    submit(chat, "Weather and time in Oslo?")
    assert chat.take_send()
    chat.begin_reply(CUSTOM_CHOICE).finish(Reply(("",), ("tool_calls",), (None,), tool_calls=CALLS), "tool_calls")
    reply = chat.messages[-1]
    assert reply.status == "complete" and reply.tool_calls == CALLS
    assert chat.store.added()[-1]["tool_calls"] == list(CALLS)
    assert [c["id"] for c in chat.pending_tool_calls()] == ["call_a", "call_b"]
    assert not chat.awaiting_reply

    # A new prompt before the results would be refused by the API: it is not added.
    refused = submit(chat, "Never mind")
    assert "waiting for the result of get_time, get_weather" in refused and len(chat.messages) == 2

    chat.add_tool_result(CUSTOM_CHOICE, "call_a", '{"temp": 3}')
    assert [c["id"] for c in chat.pending_tool_calls()] == ["call_b"]
    assert not chat.take_send() and not chat.awaiting_reply
    chat.add_tool_result(CUSTOM_CHOICE, "call_b", "12:00")
    assert chat.pending_tool_calls() == [] and chat.awaiting_reply and chat.take_send()
    assert chat.store.added()[-2:] == [
        {"role": "tool", "content": '{"temp": 3}', "tool_calls": None, "tool_call_id": "call_a", "images": None},
        {"role": "tool", "content": "12:00", "tool_calls": None, "tool_call_id": "call_b", "images": None}]
    assert chat.request()[-3:] == [
        {"role": "assistant", "content": None, "tool_calls": list(CALLS)},
        {"role": "tool", "content": '{"temp": 3}', "tool_call_id": "call_a"},
        {"role": "tool", "content": "12:00", "tool_call_id": "call_b"}]

    chat.begin_reply(CUSTOM_CHOICE).finish(Reply(("3 degrees at noon.",), ("stop",), (None,)), "stop")
    assert not chat.awaiting_reply and chat.pending_tool_calls() == []
    assert submit(chat, "Thanks") is None


def test_the_setup_records_the_tools_and_a_saved_one_brings_them_back(chat):
    tools.add_draft(chat.state, "get_weather", "Weather", '{"type": "object"}')
    chat.state[keys.TOOL_CHOICE] = "required"
    setup = chat.setup(CUSTOM_CHOICE)
    assert setup["tools"] == [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                                 "parameters": {"type": "object"}}}]
    assert setup["tool_choice"] == "required"
    other = Chat({}, FakeStore())
    other.apply_setup(setup)
    assert [d["name"] for d in other.state[keys.TOOLS]] == ["get_weather"]
    assert other.state[keys.TOOL_CHOICE] == "required"


def test_a_reopened_conversation_shows_its_images_and_tool_messages(tmp_path):
    store = Store(tmp_path / "playground.db")
    cid = store.create_conversation({})
    store.add_message(cid, "user", "hi", images=[{"mime": "image/gif", "data": GIF, "detail": "low", "name": "a.gif"}])
    store.add_message(cid, "assistant", "", metrics={"finish_reason": "tool_calls"}, tool_calls=[CALLS[0]])
    store.add_message(cid, "tool", "sunny", tool_call_id="call_a")
    chat = Chat({}, store)
    assert chat.open(cid) == "chat"
    assert wire(chat.messages) == [
        {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {
            "url": "data:image/gif;base64,R0lGODlhAQABAAAAADs=", "detail": "low"}}]},
        {"role": "assistant", "content": None, "tool_calls": [CALLS[0]]},
        {"role": "tool", "content": "sunny", "tool_call_id": "call_a"}]
    assert chat.awaiting_reply  # the result was saved but the model never continued: Retry sends it


# -- over HTTP, through both transports ----------------------------------------------------------
# No vision or tool-calling model is reachable here: a local server (tests/fake_service.py)
# reproduces one's wire behaviour, recording each body and streaming OpenAI-style chunks.

def send_through(client, chat: Chat, params: ChatParams, choice: ModelChoice) -> Message:
    stream = client.stream_chat(chat.request(), params, choice.model)
    for _ in stream:
        pass
    return chat.begin_reply(choice).finish(stream, stream.finish_reason)


@pytest.mark.parametrize("api", [INFERENCE, OPENAI])
def test_both_transports_send_the_exact_image_parts(api):
    data = png()
    with FakeService({"/chat/completions": [streamed_reply("A red square.")]}) as fake:
        endpoint = Endpoint(fake.url + ("/v1" if api == OPENAI else ""), "Vision fake", api=api)
        choice = ModelChoice(Provider("custom:v", CUSTOM, "Vision fake", endpoint, model="fake-vision"), "fake-vision")
        chat = Chat({}, FakeStore())
        assert chat.submit_prompt(choice, "What is this?", [("square.png", data), ("tiny.gif", GIF)],
                                  max_image_mb=1, detail="high") is None
        reply = send_through(ChatClient(endpoint, read_timeout=30), chat, ChatParams(max_tokens=20), choice)
    assert reply.content == "A red square."
    url = "data:image/{};base64,{}".format
    assert fake.requests[-1]["body"]["messages"][-1] == {"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": url("png", base64.b64encode(data).decode()), "detail": "high"}},
        {"type": "image_url", "image_url": {"url": url("gif", base64.b64encode(GIF).decode()), "detail": "high"}}]}


@pytest.mark.parametrize("api", [INFERENCE, OPENAI])
def test_a_streamed_tool_call_is_reassembled_and_the_follow_up_carries_the_call_and_result(api):
    with FakeService({"/chat/completions": [tool_call_reply("call_a"), streamed_reply("3 degrees in Oslo.")]}) as fake:
        endpoint = Endpoint(fake.url + ("/v1" if api == OPENAI else ""), "Tools fake", api=api)
        choice = ModelChoice(Provider("custom:t", CUSTOM, "Tools fake", endpoint, model="fake-tools"), "fake-tools")
        client = ChatClient(endpoint, read_timeout=30)
        chat = Chat({}, FakeStore())
        params = ChatParams(tools=(TOOL,), tool_choice={"type": "function", "function": {"name": "get_weather"}},
                            extras={"parallel_tool_calls": False})
        assert validate(params, model_id=None, streaming=True).ok
        chat.submit_prompt(choice, "Weather in Oslo?", max_image_mb=1, detail=None)
        call = send_through(client, chat, params, choice)
        assert call.tool_calls == (CALLS[0],) and call.metrics["finish_reason"] == "tool_calls"
        assert call.status == "complete" and not chat.awaiting_reply
        chat.add_tool_result(choice, "call_a", '{"temperature": 3}')
        assert chat.take_send() and chat.awaiting_reply
        reply = send_through(client, chat, params, choice)
    assert reply.content == "3 degrees in Oslo."
    first, follow_up = (r["body"] for r in fake.requests if r["path"].endswith("/chat/completions"))
    assert first["tools"] == [TOOL] and first["tool_choice"] == params.tool_choice
    assert first["parallel_tool_calls"] is False
    assert follow_up["messages"][-2:] == [
        {"role": "assistant", "content": None, "tool_calls": [CALLS[0]]},
        {"role": "tool", "content": '{"temperature": 3}', "tool_call_id": "call_a"}]


def test_view_code_reproduces_images_from_files_and_the_tools_calls_and_results():
    import resources
    from playground import codegen

    data = png()
    chat = Chat({}, FakeStore())
    endpoint = Endpoint("https://vision.example/models", "Vision", api=INFERENCE)
    choice = ModelChoice(Provider("custom:v", CUSTOM, "Vision", endpoint, model="fake-vision"), "fake-vision")
    chat.submit_prompt(choice, "Weather where this photo was taken?", [("photo.png", data)], max_image_mb=1,
                       detail="low")
    chat.begin_reply(choice).finish(Reply(("",), ("tool_calls",), (None,), tool_calls=CALLS[:1]), "tool_calls")
    chat.add_tool_result(choice, "call_a", '{"temperature": 3}')
    params = ChatParams(tools=(TOOL,), tool_choice="required", extras={"parallel_tool_calls": False})
    spec, note = resources.code_spec(chat, choice, params, True)
    assert note is None and codegen.attachments(spec) == [("image_1.png", data)]
    body = spec.body()
    assert body["tools"] == [TOOL] and body["tool_choice"] == "required" and body["parallel_tool_calls"] is False
    assert body["messages"][-2:] == [{"role": "assistant", "content": None, "tool_calls": [CALLS[0]]},
                                     {"role": "tool", "content": '{"temperature": 3}', "tool_call_id": "call_a"}]
    for language in codegen.languages(spec):
        code = codegen.generate(language, spec)
        assert "image_1.png" in code and base64.b64encode(data).decode() not in code, language
        assert "get_weather" in code and "call_a" in code, language


def a_reply(text: str) -> Reply:
    return Reply(texts=(text,), finish_reasons=("stop",), logprobs=(None,), prompt_tokens=3, completion_tokens=2,
                 elapsed=0.02)


def test_a_reply_ending_after_another_tab_deleted_the_conversation_is_kept_on_the_page_and_restorable(tmp_path):
    store = Store(tmp_path / "playground.db")
    streaming, other = Chat({}, store), Chat({}, store)  # two tabs of one user: one session state each
    assert submit(streaming, "Tell me a story") is None
    cid = streaming.conversation_id
    recorder = streaming.begin_reply(CUSTOM_CHOICE)
    assert other.open(cid) == "chat"
    other.store.delete(cid)  # what the other tab's History > Delete does
    recorder.finish(a_reply("Once upon a time"), "stop")

    streaming.settle()  # the next run of the streaming tab
    assert [m.content for m in streaming.messages] == ["Tell me a story", "Once upon a time"]  # still shown
    assert streaming.deleted and streaming.error == (
        "This conversation was deleted in another tab or window, so the reply above was not saved. Restore the "
        "conversation to keep it, or start a new chat.")
    assert [m.content for m in store.get(cid).messages] == ["Tell me a story"]  # nothing purged unseen later
    with pytest.raises(PlaygroundError, match="so nothing was sent"):  # Retry sends nothing now
        streaming.begin_reply(CUSTOM_CHOICE)

    streaming.restore()
    assert not streaming.deleted and streaming.error is None
    restored = store.get(cid)
    assert restored.deleted_at is None and [m.content for m in restored.messages] == [
        "Tell me a story", "Once upon a time"]
    assert [m.id for m in streaming.messages] == [m.id for m in restored.messages]

    other.store.delete(cid)  # deleted again; then a prompt typed in the tab that still shows it
    assert submit(streaming, "And then?") == "Not sent: your text is back in the box."
    assert streaming.error == ("This conversation was deleted in another tab or window, so your prompt was not sent. "
                               "Restore the conversation to continue it, or start a new chat.")
    assert streaming.deleted and len(streaming.messages) == 2 and len(store.get(cid).messages) == 2
    streaming.new()
    assert not streaming.deleted


def test_a_prompt_past_the_storage_budget_is_refused_with_the_text_back_and_nothing_lost(tmp_path):
    store = Store(tmp_path / "playground.db", storage_budget=3000)
    chat = Chat({}, store)
    assert submit(chat, "x" * 1000) is None and chat.take_send()
    chat.begin_reply(CUSTOM_CHOICE).finish(a_reply("r" * 2000), "stop")  # a reply is never refused
    refused = submit(chat, "One more question")
    assert refused.startswith("Not sent: Your saved conversations take ") and refused.endswith(
        "each user may keep on this deployment, and this needs 117 bytes more. Delete conversations you no longer "
        "need (History); deleted ones still count until they are removed for good. Your text is back in the box.")
    assert [m.content for m in chat.messages] == ["x" * 1000, "r" * 2000]
    assert [m.content for m in store.get(chat.conversation_id).messages] == ["x" * 1000, "r" * 2000]
    assert not chat.sending  # nothing to send
