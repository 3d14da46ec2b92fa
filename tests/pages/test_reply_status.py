"""One rule for a reply's status on both pages: a reply the content filter cut short is saved
as partial by Chat and by Compare, and the Markdown export marks it so.

The service is a local server reproducing Azure's wire behaviour for a filtered stream (the text
so far, then a chunk with `finish_reason: "content_filter"`): the cloud is unreachable here."""

from __future__ import annotations

import os

import pytest

from playground.store import Store
from tests.pages.apptest import COMPARE, open_page, send
from tests.support.fake_service import FakeService
from tests.support.github_models import streamed_reply


@pytest.fixture
def filtering_service(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    filtered = [streamed_reply("Once ", "upon", finish_reason="content_filter") for _ in range(3)]
    with FakeService({"/chat/completions": filtered}) as fake:
        clean_env.setenv("AZURE_INFERENCE_ENDPOINT", fake.url)
        clean_env.setenv("AZURE_INFERENCE_CREDENTIAL", "azure-key-123")
        yield fake


def saved(conversation_id: str):
    store = Store(os.environ["PLAYGROUND_DB_PATH"])
    return store.get(conversation_id), store.export_markdown(conversation_id)


def test_chat_saves_a_filtered_reply_as_partial_and_the_export_marks_it(filtering_service):
    at = send(open_page(), "Tell me a story.")
    reply = at.session_state["chat_messages"][-1]
    assert (reply.content, reply.status, reply.metrics["finish_reason"]) == ("Once upon", "partial", "content_filter")
    assert any("content filter cut this reply short" in w.value for w in at.warning)
    conversation, markdown = saved(at.session_state["chat_conversation_id"])
    assert [m.status for m in conversation.messages] == ["complete", "partial"]
    assert "**⚠ Partial reply** (The service's content filter cut this reply short.)" in markdown


def test_compare_saves_it_the_same_way(filtering_service):
    at = send(open_page(COMPARE), "Tell me a story.")
    replies = [m for m in at.session_state["compare_history"] if m.role == "assistant"]
    assert [(r.content, r.status) for r in replies] == [("Once upon", "partial")] * 2
    conversation, markdown = saved(at.session_state["compare_conversation_id"])
    assert [m.status for m in conversation.messages] == ["complete", "partial", "partial"]
    assert markdown.count("**⚠ Partial reply** (The service's content filter cut this reply short.)") == 2
