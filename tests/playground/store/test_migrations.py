"""Migrations: a file written by the first release (schema version 1) opens with nothing lost and
everything in it the local owner's; each migration runs once, in its own transaction."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from playground.store import LOCAL_OWNER, SCHEMA_VERSION, Store, StoreError, schema

# The first release's schema and writes, verbatim: this is what users' files hold.
VERSION_1_DDL = """
CREATE TABLE IF NOT EXISTS conversations (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL DEFAULT '',
    title_auto  INTEGER NOT NULL DEFAULT 1,   -- 1: derived from the first user message
    kind        TEXT NOT NULL CHECK (kind IN ('chat', 'compare')),
    setup       TEXT NOT NULL,                -- JSON object
    created     REAL NOT NULL,
    updated     REAL NOT NULL,
    deleted_at  REAL
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations (updated);
CREATE TABLE IF NOT EXISTS messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,   -- also the order within a conversation
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content         TEXT NOT NULL,
    metrics         TEXT,                                -- JSON object or NULL
    status          TEXT NOT NULL CHECK (status IN ('complete', 'partial')),
    column_index    INTEGER,
    created         REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_conversation ON messages (conversation_id, id);
CREATE TABLE IF NOT EXISTS presets (
    name    TEXT PRIMARY KEY,
    data    TEXT NOT NULL,                               -- JSON object
    updated REAL NOT NULL
);
PRAGMA user_version = 1;
"""

CHAT = ("chat-id-0000000000000", "Straße notes", 1, "chat", '{"model":"gpt-4o","parameters":{"temperature":0.7}}',
        1700000000.0, 1700000100.5, None)
COMPARE = ("compare-id-000000000", "Mine", 0, "compare", '{"columns":[{"model":"a"},{"model":"b"}]}',
           1700000200.0, 1700000300.25, None)
DELETED = ("deleted-id-000000000", "gone soon", 1, "chat", "{}", 1700000400.0, 1700000400.5, 1700000500.0)
MESSAGES = [
    (1, CHAT[0], "user", "Straße notes", None, "complete", None, 1700000001.0),
    (2, CHAT[0], "assistant", "nul \x00 and ÉTÉ", '{"prompt_tokens":3}', "partial", None, 1700000002.0),
    (4, COMPARE[0], "user", "which?", None, "complete", None, 1700000201.0),
    (5, COMPARE[0], "assistant", "B", '{"finish_reason":"stop"}', "complete", 1, 1700000202.0),
    (6, DELETED[0], "user", "gone soon", None, "complete", None, 1700000401.0),
]


def write_version_1_file(path) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(VERSION_1_DDL)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executemany("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [CHAT, COMPARE, DELETED])
        conn.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)", MESSAGES)
        conn.execute("INSERT INTO messages VALUES (7, ?, 'user', 'deleted later', NULL, 'complete', NULL, 1)",
                     (CHAT[0],))
        conn.execute("DELETE FROM messages WHERE id = 7")  # the counter stays at 7
        conn.execute("INSERT INTO presets VALUES ('fast', '{\"temperature\":0.2}', 1700000000.0)")
    conn.close()


def test_a_version_1_file_migrates_with_nothing_lost(tmp_path):
    path = tmp_path / "playground.db"
    write_version_1_file(path)
    store = Store(path)

    for row in (CHAT, COMPARE, DELETED):
        c = store.get(row[0])
        assert (c.id, c.title, c.kind, c.created, c.updated, c.deleted_at) == (
            row[0], row[1], row[3], row[5], row[6], row[7])
    for m in MESSAGES:
        stored = next(x for x in store.get(m[1]).messages if x.id == m[0])
        assert (stored.role, stored.content, stored.status, stored.column, stored.created) == (
            m[2], m[3], m[5], m[6], m[7])
        assert (stored.tool_calls, stored.tool_call_id, stored.images) == ((), None, ())
    assert store.get(CHAT[0]).setup == {"model": "gpt-4o", "parameters": {"temperature": 0.7}}
    assert store.get(CHAT[0]).messages[1].metrics == {"prompt_tokens": 3}
    assert store.presets() == {"fast": {"temperature": 0.2}}

    # All of it is the local owner's, and only theirs.
    assert [s.id for s in store.list()] == [COMPARE[0], CHAT[0]]
    assert [s.message_count for s in store.list()] == [2, 2]
    assert store.scoped("alice").list(include_deleted=True) == [] and store.scoped("alice").presets() == {}
    with store._db.read() as tx:
        assert {row[0] for row in tx.all("SELECT owner FROM conversations")} == {LOCAL_OWNER}
        assert {row[0] for row in tx.all("SELECT owner FROM presets")} == {LOCAL_OWNER}

    # Old text is searchable as new text is; ids go on from the old counter, never reused.
    assert [s.id for s in store.list(search="STRASSE")] == [CHAT[0]]
    assert [s.id for s in store.list(search="été")] == [CHAT[0]]
    assert [s.id for s in store.list(search="\x00")] == [CHAT[0]]
    assert store.add_message(CHAT[0], "user", "new") == 8
    store.rename(COMPARE[0], "")  # the derived title still comes from the first prompt
    assert store.get(COMPARE[0]).title == "which?"
    assert store.purge_deleted(0) == 1 and store.get(DELETED[0]) is None

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    again = Store(path)  # reopening runs nothing again
    assert [m.content for m in again.get(CHAT[0]).messages] == ["Straße notes", "nul \x00 and ÉTÉ", "new"]


def schema_version(store: Store) -> int:
    with store._db.read() as tx:
        return store._db.schema_version(tx)


def test_a_failing_migration_changes_nothing(new_store, monkeypatch):
    store = new_store()
    cid = store.create_conversation({})
    broken = schema.Migration(SCHEMA_VERSION + 1, "broken", both=(
        "ALTER TABLE conversations ADD COLUMN half_done TEXT", "SELECT no_such_function()"))
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", broken.version)
    with pytest.raises(Exception, match="no_such_function"):
        new_store()
    monkeypatch.undo()
    assert schema_version(store) == SCHEMA_VERSION
    with store._db.read() as tx:  # the ALTER before the failure was rolled back with it
        columns = [d[0] for d in tx.run("SELECT * FROM conversations").description]
    assert "half_done" not in columns and store.get(cid) is not None


def test_a_newer_database_is_refused(new_store):
    store = new_store()
    with store._db.write() as tx:
        store._db.set_schema_version(tx, SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="written by a newer Model Playground"):
        new_store()


def test_stores_opening_a_new_database_at_once_migrate_it_once(new_store):
    start = threading.Barrier(4)
    opened, errors = [], []

    def open_one():
        try:
            start.wait()
            opened.append(new_store())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(opened) == 4
    assert schema_version(opened[0]) == SCHEMA_VERSION


def test_missing_postgres_binaries_say_how_to_install_them(monkeypatch):
    from tests.support import postgres

    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: [])
    with pytest.raises(RuntimeError, match=r"run `make test`, which installs Debian's postgresql package"):
        postgres.PostgresServer()
