"""Conversations are saved as they change and come back with `?c=`: AppTest against the real
embedded endpoint and a real SQLite file (PLAYGROUND_DB_PATH, one per test)."""

from __future__ import annotations

import json
import os

import pytest
from streamlit.testing.v1 import AppTest

from playground.store import Store
from tests.pages.apptest import open_lazy, open_page, send
from tests.support.fake_service import FakeService, Reply, chunk


@pytest.fixture
def env(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    return clean_env


def store() -> Store:
    return Store(os.environ["PLAYGROUND_DB_PATH"])


def roles(at: AppTest) -> list[str]:
    return [m.role for m in at.session_state["chat_messages"]]


def test_a_chat_is_saved_and_a_reload_brings_it_back(env):
    at = open_page()
    at.slider(key="chat_max_tokens").set_value(40)
    at.text_area(key="chat_system_prompt").set_value("Be brief.")
    send(at, "Name a colour.")
    conversation_id = at.query_params["c"][0] if isinstance(at.query_params["c"], list) else at.query_params["c"]
    saved = store().get(conversation_id)
    assert [(m.role, m.status) for m in saved.messages] == [("user", "complete"), ("assistant", "complete")]
    assert saved.messages[1].metrics["completion_tokens"] > 0
    assert saved.setup["system_prompt"] == "Be brief." and saved.setup["parameters"]["max_tokens"] == 40

    again = open_page(conversation_id=conversation_id)  # a new browser session: a reload or a bookmark
    assert roles(again) == ["user", "assistant"]
    assert again.session_state["chat_messages"][1].content == saved.messages[1].content
    assert again.text_area(key="chat_system_prompt").value == "Be brief."
    assert again.slider(key="chat_max_tokens").value == 40
    assert len(again.chat_message) == 2


def test_history_lists_opens_and_deletes_with_undo(env):
    first = send(open_page(), "First conversation about owls")
    first_id = first.session_state["chat_conversation_id"]
    at = open_page()
    at.slider(key="chat_max_tokens").set_value(20)
    send(at, "Second conversation about bees")
    titles = [b.label for b in at.sidebar.button if b.key and b.key.startswith("history_open_")]
    assert titles[:2] == ["Second conversation about bees", "First conversation about owls"]
    at.sidebar.button(key=f"history_open_{first_id}").click().run()
    assert at.session_state["chat_conversation_id"] == first_id
    assert at.session_state["chat_messages"][0].content == "First conversation about owls"

    at.sidebar.button(key=f"history_delete_{first_id}").click().run()
    assert at.session_state["chat_messages"] == []
    assert [s.id for s in store().list()] != [] and first_id not in [s.id for s in store().list()]
    next(b for b in at.sidebar.button if b.label == "Undo delete").click().run()
    assert first_id in [s.id for s in store().list()]
    assert at.session_state["chat_conversation_id"] == first_id


def test_search_finds_conversations_by_text(env):
    send(open_page(), "Tell me about volcanoes")
    at = send(open_page(), "Tell me about rivers")
    at.sidebar.text_input(key="history_search").input("volcano").run()
    titles = [b.label for b in at.sidebar.button if b.key and b.key.startswith("history_open_")]
    assert titles == ["Tell me about volcanoes"]


def test_edit_and_resend_and_regenerate_replace_what_follows(env, endpoint):
    at = open_page()
    at.slider(key="chat_max_tokens").set_value(20)
    send(at, "Say one word.")
    send(at, "Say two words.")
    assert roles(at) == ["user", "assistant"] * 2
    assert "edit_0" not in [t.key for t in at.text_area]  # filled only when opened
    open_lazy(at, "chat_edit_open_0")
    at.text_area(key="chat_edit_0").set_value("Say three words.")
    at.button(key="chat_resend_0").click().run()
    assert roles(at) == ["user", "assistant"]
    assert at.session_state["chat_messages"][0].content == "Say three words."
    assert endpoint.last_request()["body"]["messages"][-1]["content"] == "Say three words."
    saved = store().get(at.session_state["chat_conversation_id"])
    assert [m.content for m in saved.messages][0] == "Say three words." and len(saved.messages) == 2

    before = len(endpoint.requests())
    at.button(key="chat_regenerate").click().run()
    assert roles(at) == ["user", "assistant"] and len(endpoint.requests()) == before + 1
    assert len(store().get(at.session_state["chat_conversation_id"]).messages) == 2


def test_presets_save_and_load_prompt_and_parameters(env):
    at = open_page()
    at.text_area(key="chat_system_prompt").set_value("You are a poet.")
    at.slider(key="chat_temperature").set_value(1.2)
    assert "preset_name" not in [t.key for t in at.sidebar.text_input]  # filled only when opened
    open_lazy(at, "presets_open")
    at.sidebar.text_input(key="presets_name").input("poet").run()
    next(b for b in at.sidebar.button if b.label == "Save preset").click().run()
    at.text_area(key="chat_system_prompt").set_value("Something else.")
    at.slider(key="chat_temperature").set_value(0.1).run()
    at.sidebar.selectbox(key="presets_choice").set_value("poet")
    next(b for b in at.sidebar.button if b.label == "Load preset").click().run()
    assert at.text_area(key="chat_system_prompt").value == "You are a poet."
    assert at.slider(key="chat_temperature").value == pytest.approx(1.2)


def test_a_reply_cut_by_a_dropped_stream_is_stored_as_partial(clean_env, endpoint):
    """A local server stands in for an Azure endpoint and drops the connection mid-stream."""
    cut = Reply(events=[chunk("Half "), chunk("a "), chunk("reply"), chunk(finish_reason="stop")], cut_after=2)
    with FakeService([cut]) as fake:
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("AZURE_INFERENCE_ENDPOINT", fake.url)
        clean_env.setenv("AZURE_INFERENCE_CREDENTIAL", "k")
        at = send(open_page(), "Go")
    saved = store().get(at.session_state["chat_conversation_id"])
    assert (saved.messages[1].content, saved.messages[1].status) == ("Half a ", "partial")
    assert "broke off" in saved.messages[1].metrics["error"]


def test_a_bad_import_changes_nothing_and_says_why(env):
    at = send(open_page(), "Keep this")
    before = [s.id for s in store().list()]
    bad = json.dumps({"format": "model-playground.conversation", "version": 1, "title": "<script>x</script>",
                      "kind": "chat", "setup": {}, "messages": [{"role": 5, "content": "hi"}]})
    store_ids_after = None
    with pytest.raises(ValueError) as caught:
        store().import_json(bad)
    store_ids_after = [s.id for s in store().list()]
    assert "messages[0].role" in str(caught.value)
    assert store_ids_after == before
    assert roles(at) == ["user", "assistant"]
