"""A deleted conversation takes no new messages: a reply that ends after the conversation was
deleted in another session (another tab, another replica) is refused, not written where it would
go unseen and then be purged with the conversation. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from playground.store import ConversationDeleted, Store

SETUP = {"model": "gpt-4o-mini", "system_prompt": "Be brief."}


def contents(store: Store, cid: str) -> list[str]:
    return [m.content for m in store.get(cid).messages]


def test_a_reply_ending_after_another_session_deleted_the_conversation_is_refused(new_store):
    streaming, other = new_store(), new_store()  # two sessions (or replicas): two connections
    cid = streaming.create_conversation(SETUP)
    first = streaming.add_message(cid, "user", "Tell me a long story")
    other.delete(cid)

    with pytest.raises(ConversationDeleted, match="the conversation was deleted"):
        streaming.add_message(cid, "assistant", "Once upon a time", status="partial")
    assert contents(other, cid) == ["Tell me a long story"]  # nothing written where no one sees it
    for change in (lambda: streaming.edit_message(cid, first, "Shorter"),
                   lambda: streaming.truncate_after(cid, first),
                   lambda: streaming.update_setup(cid, dict(SETUP, model="other"))):
        with pytest.raises(ConversationDeleted):
            change()
    assert contents(other, cid) == ["Tell me a long story"] and other.get(cid).setup == SETUP

    streaming.update_setup(cid, SETUP)  # unchanged: nothing to write, nothing refused
    streaming.rename(cid, "Still mine to rename")
    other.undelete(cid)  # restored, it takes the reply again
    streaming.add_message(cid, "assistant", "Once upon a time", status="partial")
    assert contents(other, cid) == ["Tell me a long story", "Once upon a time"]


def test_a_purge_loses_nothing_written_after_the_delete(new_store):
    store = new_store()
    cid = store.create_conversation(SETUP)
    store.add_message(cid, "user", "Delete me")
    store.delete(cid)
    with pytest.raises(ConversationDeleted):
        store.add_message(cid, "user", "typed in a tab still showing it")
    assert store.purge_deleted(0) == 1
    with store._db.read() as tx:
        assert tx.one_row("SELECT COUNT(*) FROM messages")[0] == 0
