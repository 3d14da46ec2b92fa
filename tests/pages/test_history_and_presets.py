"""The sidebar's history and presets: deleted conversations are purged after the documented 30
days (Undo works until then), and presets can be deleted (and the deletion undone)."""

from __future__ import annotations

import os
import sqlite3
import time

from playground.store import DELETED_RETENTION_SECONDS, Store
from tests.pages.apptest import open_lazy, open_page


def test_conversations_deleted_over_30_days_ago_are_purged_when_the_app_starts(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    store = Store(os.environ["PLAYGROUND_DB_PATH"])
    old, recent, kept = (store.create_conversation({}) for _ in range(3))
    for conversation_id in (old, recent, kept):
        store.add_message(conversation_id, "user", f"About {conversation_id}")
    store.delete(old)
    store.delete(recent)
    with sqlite3.connect(os.environ["PLAYGROUND_DB_PATH"]) as db:  # as if deleted 31 days ago
        db.execute("UPDATE conversations SET deleted_at = ? WHERE id = ?",
                   (time.time() - DELETED_RETENTION_SECONDS - 86400, old))

    at = open_page()
    assert not at.exception
    assert store.get(old) is None  # gone for good
    assert store.get(recent).deleted_at is not None  # still there: Undo works for 30 days
    assert [s.id for s in store.list()] == [kept]
    assert any("restored with Undo for 30 days" in c.value for c in at.sidebar.caption)


def test_a_preset_can_be_deleted_in_the_sidebar_and_the_deletion_undone(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    store = Store(os.environ["PLAYGROUND_DB_PATH"])
    store.save_preset("pirate", {"system_prompt": "Talk like a pirate.", "parameters": {"temperature": 1.2}})
    store.save_preset("terse", {"system_prompt": "Be terse.", "parameters": {}})
    at = open_lazy(open_page(), "presets_open")
    at.sidebar.selectbox(key="presets_choice").select("pirate").run()
    next(b for b in at.sidebar.button if b.label == "Delete preset").click().run()
    assert list(store.presets()) == ["terse"]
    assert at.sidebar.selectbox(key="presets_choice").options == ["terse"]
    next(b for b in at.sidebar.button if b.label.startswith("Undo: restore")).click().run()
    assert list(store.presets()) == ["pirate", "terse"]
    assert store.presets()["pirate"]["parameters"] == {"temperature": 1.2}
