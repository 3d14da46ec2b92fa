"""Conversations that are never lost: a SQLite file holding every conversation and preset.

Pure Python (stdlib `sqlite3`), no Streamlit. One `Store` per database file per process; it is
safe to share between threads (each thread gets its own connection) and between processes
(SQLite WAL journal, `BEGIN IMMEDIATE` writes, `busy_timeout`).

    store = Store(os.environ.get("PLAYGROUND_DB_PATH") or DEFAULT_DB_PATH)

    cid = store.create_conversation({"model": "gpt-4o", "provider": "GitHub Models",
                                     "system_prompt": "Be brief.", "parameters": {"temperature": 0.7}})
    user_id = store.add_message(cid, "user", "Hello")          # BEFORE the request is sent
    store.add_message(cid, "assistant", text, metrics=metrics,   # when the reply ends; "partial"
                      status="partial")                          #   if an error or Stop cut it short
    store.get(cid)            # -> Conversation(id, title, kind, setup, created, updated,
                              #                 deleted_at, messages=[Message(id, role, content,
                              #                 metrics, status, column, created), ...]) | None
    store.list(search="hello")                                   # -> [Summary, ...], newest first

API (every write is one transaction: it happens completely or not at all)

    create_conversation(setup, kind="chat", title=None) -> id
    get(id) -> Conversation | None            (a soft-deleted one too: see `deleted_at`)
    add_message(id, role, content, metrics=None, status="complete", column=None) -> message id
    edit_message(id, message_id, content, drop_following=False)   edit-and-resend in one step
    truncate_after(id, message_id)            drop every message after `message_id` (regenerate)
    update_setup(id, setup)
    rename(id, title)                         a blank title goes back to the automatic one
    list(search="", limit=200, include_deleted=False) -> [Summary]
    delete(id) / undelete(id) / purge_deleted(older_than_seconds) -> number purged
    save_preset(name, data) / presets() -> {name: data} / delete_preset(name) -> bool
    export_json(id) -> str / export_markdown(id) -> str / import_json(text | bytes) -> new id
    close()                                   closes the calling thread's connection

Methods that change a conversation raise `ConversationNotFound` (a LookupError) for an unknown
id, `MessageNotFound` (a LookupError) for a message id that is not in that conversation, and
`ValueError` for a bad argument (unknown role, setup that is not JSON, ...).
`import_json` raises `InvalidImport` (a ValueError) whose message says what to fix, e.g.
"messages[3].role must be user, assistant or system (got 5)"; nothing is written then.

Data
- `id` is `secrets.token_urlsafe(16)`: unguessable, safe in a URL query parameter.
- `title` is one line, at most 200 characters. While nobody has set one it is "" until the first
  user message, then derived from it (first ~60 characters); edits and truncation keep the
  derived title current. `rename(id, "")` returns to the derived title.
- `created`, `updated`, `deleted_at` are Unix timestamps (float seconds). `updated` moves on
  message activity only (add, edit, truncate, import), strictly increasing across the database,
  so `list()` order is stable; rename, setup changes and delete/undelete do not reorder the list.
- `setup` is opaque JSON (a dict) for the caller. Suggested shape, which `export_markdown` shows:
  `{"model": label, "provider": name, "system_prompt": str, "parameters": {...}}`, and for a
  "compare" conversation `{"columns": [<one such dict per column>, ...]}`, with each reply's
  `column` indexing that list. Anything else is kept and exported as JSON.
  SETUP MUST NOT CARRY SECRETS (API keys, tokens, endpoint credentials): it is exported
  verbatim. (`playground.settings.Secret` is not JSON, so passing one fails loudly.)
  An imported setup is untrusted input: map its model label to an endpoint you configured,
  never take an endpoint URL or header from it, or an imported file could send the user's
  token to a server of its choosing.
- A message's `status` is "complete", or "partial" for a reply cut short by an error or Stop;
  `metrics` is a JSON dict or None; `column` is None in a chat.
- Text is stored exactly: NUL, right-to-left marks, emoji, megabyte strings and SQL-looking
  strings all round-trip through add_message/get/export/import. (Strings with unpaired
  surrogates cannot be stored as UTF-8 and are refused with ValueError.)
- Search is case-insensitive (Unicode case folding, so "ÉTÉ" finds "été", which SQLite's LIKE
  does not do) and literal: `%`, `_` and `\\` match themselves, as they would with an escaped
  LIKE. It matches titles and message text (not the setup), of every message, NUL and all.

Import limits (`ImportLimits`, pass `limits=` to Store to change them): file 5 MB, title 200
characters, 10,000 messages, 1,000,000 characters per message, setup 64 KB as JSON. The store
itself does not cap what add_message accepts (a reply is never refused for its size), so an
export over these limits needs raised limits to import again.

Threads and processes: each thread lazily opens its own connection (`threading.local`) and
only ever uses that one, so create ONE Store per process (e.g. under `st.cache_resource`) and
call it from any session thread; no lock is needed around it. Streamlit runs every script run on
a new thread, so a run opens a connection on its first call (about 0.2 ms); connections of
threads that have ended are closed whenever a new one is opened. A forked child opens its own.
Writes use `BEGIN IMMEDIATE`, so concurrent writers queue on `busy_timeout` (default 10 s)
instead of failing. `durable=True` (default) is `synchronous=FULL`: a committed message survives
a power cut, at a few ms per write; `durable=False` (`NORMAL`) survives a crash of the app but
not of the machine.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import sqlite3
import threading
import time
import unicodedata
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

DEFAULT_DB_PATH = Path.home() / ".local" / "share" / "model-playground" / "playground.db"
DB_PATH_VARIABLE = "PLAYGROUND_DB_PATH"

EXPORT_FORMAT = "model-playground.conversation"
EXPORT_VERSION = 1
SCHEMA_VERSION = 1

KINDS = ("chat", "compare")
ROLES = ("system", "user", "assistant")
STATUSES = ("complete", "partial")
MAX_TITLE_CHARS = 200
AUTO_TITLE_CHARS = 60
MAX_PRESET_NAME_CHARS = 100
MAX_COLUMN = 63
DELETED_RETENTION_SECONDS = 30 * 24 * 3600  # a deleted conversation can be restored for 30 days

_SCHEMA = """
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
"""

# `updated` strictly increases across the database, even if the clock steps back or two writes
# land in the same microsecond, so "newest first" is a total, stable order.
_NEXT_UPDATED = "MAX(?, (SELECT COALESCE(MAX(updated), 0) FROM conversations) + 0.000001)"



def _insert_conversation(conn: sqlite3.Connection, title: str, kind: str, setup_json: str,
                         created: float | None) -> str:
    """A new conversations row, created now unless `created` says when (an import); its id.
    An empty title is filled in from the first prompt."""
    conversation_id = secrets.token_urlsafe(16)
    now = _now()
    conn.execute(
        "INSERT INTO conversations (id, title, title_auto, kind, setup, created, updated) "
        f"VALUES (?, ?, ?, ?, ?, ?, {_NEXT_UPDATED})",
        (conversation_id, title, 0 if title else 1, kind, setup_json, created or now, now),
    )
    return conversation_id

class StoreError(Exception):
    """Base class of this module's errors."""


class ConversationNotFound(StoreError, LookupError):
    def __init__(self, conversation_id: str):
        super().__init__(f"no conversation with id {conversation_id!r}")
        self.conversation_id = conversation_id


class MessageNotFound(StoreError, LookupError):
    def __init__(self, conversation_id: str, message_id: int):
        super().__init__(f"conversation {conversation_id!r} has no message {message_id!r}")


class InvalidImport(StoreError, ValueError):
    """The file cannot be imported; `str(exc)` tells the user what is wrong and where."""


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int = 5 * 1024 * 1024
    max_title_chars: int = MAX_TITLE_CHARS
    max_messages: int = 10_000
    max_content_chars: int = 1_000_000
    max_setup_bytes: int = 64 * 1024


@dataclass
class Message:
    id: int
    role: str
    content: str
    metrics: dict[str, Any] | None = None
    status: str = "complete"
    column: int | None = None
    created: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The session-state shape (`playground.state`): role, content, and metrics if any,
        plus id, status and column."""
        out: dict[str, Any] = {"id": self.id, "role": self.role, "content": self.content,
                               "status": self.status, "column": self.column}
        if self.metrics is not None:
            out["metrics"] = self.metrics
        return out


@dataclass
class Conversation:
    id: str
    title: str
    kind: str
    setup: dict[str, Any]
    created: float
    updated: float
    deleted_at: float | None = None
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class Summary:
    id: str
    title: str
    kind: str
    created: float
    updated: float
    message_count: int
    deleted_at: float | None = None


class Store:
    def __init__(self, path: str | os.PathLike[str], *, durable: bool = True,
                 busy_timeout_ms: int = 10_000, limits: ImportLimits = ImportLimits()):
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise ValueError("Store needs a file path (each thread opens its own connection to it)")
        self.path = Path(path).expanduser()
        self.durable = durable
        self.busy_timeout_ms = int(busy_timeout_ms)
        self.limits = limits
        self._local = threading.local()
        # Every connection opened, with its thread, so a connection whose thread has ended is
        # closed promptly (Streamlit runs each script run on a new thread) instead of whenever
        # the garbage collector gets to it.
        self._opened: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._opened_lock = threading.Lock()
        self._pid = os.getpid()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:  # conversations are private: create the file readable by its owner only
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass
        self._init_schema()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- connections and transactions ---------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread=False only so that _reap can close a dead thread's connection; a
        # connection is otherwise used by the thread that opened it and no other.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'NORMAL'}")
        conn.create_function("pg_casefold", 1, _casefold, deterministic=True)
        return conn

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():  # a forked child must not use the parent's
            self._reap()
            conn = self._connect()
            local.conn, local.pid = conn, os.getpid()
            with self._opened_lock:
                self._opened.append((weakref.ref(threading.current_thread()), conn))
        return conn

    def _reap(self) -> None:
        """Close the connections of threads that have ended."""
        with self._opened_lock:
            if self._pid != os.getpid():  # forked: the parent's connections are not ours to close
                self._opened, self._pid = [], os.getpid()
            alive, dead = [], []
            for ref, conn in self._opened:
                thread = ref()
                (alive if thread is not None and thread.is_alive() else dead).append((ref, conn))
            self._opened = alive
        for _, conn in dead:
            conn.close()

    def close(self) -> None:
        """Close the calling thread's connection (the next call opens a new one)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            with self._opened_lock:
                self._opened = [entry for entry in self._opened if entry[1] is not conn]
            conn.close()
        self._local.conn = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. IMMEDIATE takes the write lock up front, so a writer waits
        (busy_timeout) instead of failing when another thread or process committed first."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for several SELECTs."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _init_schema(self) -> None:
        conn = self._conn()
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer Model Playground "
                                 f"(schema {version}, this one knows {SCHEMA_VERSION})")
            for statement in _SCHEMA.split(";"):  # not executescript: it would COMMIT first
                if statement.strip():
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- conversations ------------------------------------------------------------------------

    def create_conversation(self, setup: dict[str, Any], kind: str = "chat", title: str | None = None) -> str:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        setup_json = _dump_object(setup, "setup")
        with self._write() as conn:
            return _insert_conversation(conn, _clean_title(title or ""), kind, setup_json, None)

    def get(self, conversation_id: str) -> Conversation | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT id, title, kind, setup, created, updated, deleted_at FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
            if row is None:
                return None
            rows = conn.execute(
                "SELECT id, role, content, metrics, status, column_index, created FROM messages "
                "WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        messages = [Message(id=r[0], role=r[1], content=r[2], metrics=None if r[3] is None else json.loads(r[3]),
                            status=r[4], column=r[5], created=r[6]) for r in rows]
        return Conversation(id=row[0], title=row[1], kind=row[2], setup=json.loads(row[3]), created=row[4],
                            updated=row[5], deleted_at=row[6], messages=messages)

    def add_message(self, conversation_id: str, role: str, content: str, metrics: dict[str, Any] | None = None,
                    status: str = "complete", column: int | None = None) -> int:
        """Append a message and return its id. Save each user message before sending it and
        each reply as soon as it ends (status="partial" if cut short), so nothing is lost."""
        _check_message(role, content, status, column)
        metrics_json = None if metrics is None else _dump_object(metrics, "metrics")
        with self._write() as conn:
            title_auto = self._title_auto(conn, conversation_id)
            cursor = conn.execute(
                "INSERT INTO messages (conversation_id, role, content, metrics, status, column_index, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, role, content, metrics_json, status, column, _now()),
            )
            self._touch(conn, conversation_id, refresh_title=title_auto and role == "user")
            return cursor.lastrowid

    def edit_message(self, conversation_id: str, message_id: int, content: str, *,
                     drop_following: bool = False) -> None:
        """Replace a message's text. `drop_following=True` also deletes every later message,
        in the same transaction: edit-and-resend."""
        if not isinstance(content, str):
            raise ValueError(f"content must be a string (got {type(content).__name__})")
        _check_text(content, "content")
        with self._write() as conn:
            title_auto = self._title_auto(conn, conversation_id)
            self._check_message_id(conn, conversation_id, message_id)
            conn.execute("UPDATE messages SET content = ? WHERE id = ?", (content, message_id))
            if drop_following:
                conn.execute("DELETE FROM messages WHERE conversation_id = ? AND id > ?",
                             (conversation_id, message_id))
            self._touch(conn, conversation_id, refresh_title=title_auto)

    def truncate_after(self, conversation_id: str, message_id: int) -> None:
        """Delete every message after `message_id` (which stays): regenerate a reply, or resend."""
        with self._write() as conn:
            title_auto = self._title_auto(conn, conversation_id)
            self._check_message_id(conn, conversation_id, message_id)
            conn.execute("DELETE FROM messages WHERE conversation_id = ? AND id > ?", (conversation_id, message_id))
            self._touch(conn, conversation_id, refresh_title=title_auto)

    def update_setup(self, conversation_id: str, setup: dict[str, Any]) -> None:
        """Replace the setup. Cheap to call on every run: an unchanged setup writes nothing."""
        setup_json = _dump_object(setup, "setup")
        row = self._conn().execute("SELECT setup FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is not None and row[0] == setup_json:
            return  # no write lock taken
        with self._write() as conn:
            self._title_auto(conn, conversation_id)
            conn.execute("UPDATE conversations SET setup = ? WHERE id = ?", (setup_json, conversation_id))

    def rename(self, conversation_id: str, title: str) -> None:
        """Set the title (made one line, control characters removed, cut to 200 characters).
        A blank title returns to the one derived from the first user message."""
        title = _clean_title(title or "")
        with self._write() as conn:
            self._title_auto(conn, conversation_id)
            conn.execute("UPDATE conversations SET title = ?, title_auto = ? WHERE id = ?",
                         (title, 0 if title else 1, conversation_id))
            if not title:
                self._refresh_title(conn, conversation_id)

    def list(self, search: str = "", limit: int = 200, include_deleted: bool = False) -> list[Summary]:
        """Conversations, most recently active first. `search` matches titles and message text,
        case-insensitively and literally (no wildcards)."""
        needle = _casefold(search.strip()) if search else ""
        where = [] if include_deleted else ["c.deleted_at IS NULL"]
        params: list[Any] = []
        if needle:
            where.append("(instr(pg_casefold(c.title), ?) > 0 OR EXISTS (SELECT 1 FROM messages m "
                         "WHERE m.conversation_id = c.id AND instr(pg_casefold(m.content), ?) > 0))")
            params += [needle, needle]
        sql = ("SELECT c.id, c.title, c.kind, c.created, c.updated, c.deleted_at, "
               "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) FROM conversations c"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY c.updated DESC, c.rowid DESC LIMIT ?")
        rows = self._conn().execute(sql, (*params, max(0, int(limit)))).fetchall()
        return [Summary(id=r[0], title=r[1], kind=r[2], created=r[3], updated=r[4], deleted_at=r[5],
                        message_count=r[6]) for r in rows]

    def delete(self, conversation_id: str) -> None:
        """Soft delete: hidden from `list()` until `undelete`, removed by `purge_deleted`."""
        with self._write() as conn:
            self._title_auto(conn, conversation_id)
            conn.execute("UPDATE conversations SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                         (_now(), conversation_id))

    def undelete(self, conversation_id: str) -> None:
        with self._write() as conn:
            self._title_auto(conn, conversation_id)
            conn.execute("UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conversation_id,))

    def purge_deleted(self, older_than_seconds: float) -> int:
        """Remove for good the conversations deleted at least `older_than_seconds` ago; returns
        how many. (0 purges every deleted conversation.)"""
        cutoff = _now() - max(0.0, float(older_than_seconds))
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?",
                                  (cutoff,))
            return cursor.rowcount

    def purge_expired(self) -> int:
        """Purge what was deleted more than DELETED_RETENTION_SECONDS ago (until then, Undo works)."""
        return self.purge_deleted(DELETED_RETENTION_SECONDS)

    # -- presets ------------------------------------------------------------------------------

    def save_preset(self, name: str, data: dict[str, Any]) -> None:
        """Create or overwrite a preset (system prompt and parameters, as JSON)."""
        name = _clean_preset_name(name)
        data_json = _dump_object(data, "preset")
        with self._write() as conn:
            conn.execute("INSERT INTO presets (name, data, updated) VALUES (?, ?, ?) "
                         "ON CONFLICT (name) DO UPDATE SET data = excluded.data, updated = excluded.updated",
                         (name, data_json, _now()))

    def presets(self) -> dict[str, dict[str, Any]]:
        """Every preset by name, in name order (case-insensitive)."""
        rows = self._conn().execute("SELECT name, data FROM presets").fetchall()
        return {name: json.loads(data) for name, data in sorted(rows, key=lambda r: (_casefold(r[0]), r[0]))}

    def delete_preset(self, name: str) -> bool:
        """Returns whether a preset of that name existed."""
        try:
            name = _clean_preset_name(name)
        except ValueError:
            return False
        with self._write() as conn:
            return conn.execute("DELETE FROM presets WHERE name = ?", (name,)).rowcount > 0

    # -- export and import --------------------------------------------------------------------

    def export_json(self, conversation_id: str) -> str:
        """A versioned, self-contained document (`import_json` reads it back). It holds exactly
        what the store holds, so no secrets as long as none were put in `setup`."""
        conversation = self._require(conversation_id)
        document = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "title": conversation.title,
            "kind": conversation.kind,
            "created": _iso(conversation.created),
            "updated": _iso(conversation.updated),
            "setup": conversation.setup,
            "messages": [
                {"role": m.role, "content": m.content, "status": m.status, "column": m.column,
                 "metrics": m.metrics, "created": _iso(m.created)}
                for m in conversation.messages
            ],
        }
        return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"

    def export_markdown(self, conversation_id: str) -> str:
        """A readable document: title, model, system prompt, parameters, then each message under
        a role heading, with the metrics line under replies and partial replies marked."""
        return _markdown(self._require(conversation_id))

    def import_json(self, text: str | bytes) -> str:
        """Check the whole document first (raising InvalidImport, having written nothing), then
        insert it as a new conversation in one transaction. Returns the new id."""
        doc = _parse_document(text, self.limits)
        now = _now()
        with self._write() as conn:
            conversation_id = _insert_conversation(conn, doc["title"], doc["kind"], doc["setup"], doc["created"])
            conn.executemany(
                "INSERT INTO messages (conversation_id, role, content, metrics, status, column_index, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(conversation_id, m["role"], m["content"], m["metrics"], m["status"], m["column"],
                  m["created"] or now) for m in doc["messages"]],
            )
            if not doc["title"]:
                self._refresh_title(conn, conversation_id)
        return conversation_id

    # -- helpers ------------------------------------------------------------------------------

    def _require(self, conversation_id: str) -> Conversation:
        conversation = self.get(conversation_id)
        if conversation is None:
            raise ConversationNotFound(conversation_id)
        return conversation

    @staticmethod
    def _title_auto(conn: sqlite3.Connection, conversation_id: str) -> bool:
        """Whether the title is derived; raises ConversationNotFound for an unknown id."""
        row = conn.execute("SELECT title_auto FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise ConversationNotFound(conversation_id)
        return bool(row[0])

    @staticmethod
    def _check_message_id(conn: sqlite3.Connection, conversation_id: str, message_id: int) -> None:
        if isinstance(message_id, bool) or not isinstance(message_id, int) or conn.execute(
                "SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?", (message_id, conversation_id)
        ).fetchone() is None:
            raise MessageNotFound(conversation_id, message_id)

    @staticmethod
    def _refresh_title(conn: sqlite3.Connection, conversation_id: str) -> None:
        row = conn.execute("SELECT content FROM messages WHERE conversation_id = ? AND role = 'user' "
                           "ORDER BY id LIMIT 1", (conversation_id,)).fetchone()
        conn.execute("UPDATE conversations SET title = ? WHERE id = ? AND title_auto = 1",
                     (auto_title(row[0]) if row else "", conversation_id))

    def _touch(self, conn: sqlite3.Connection, conversation_id: str, refresh_title: bool) -> None:
        conn.execute(f"UPDATE conversations SET updated = {_NEXT_UPDATED} WHERE id = ?", (_now(), conversation_id))
        if refresh_title:
            self._refresh_title(conn, conversation_id)


# -- text and JSON helpers --------------------------------------------------------------------

def _casefold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def _one_line(text: str) -> str:
    """Whitespace runs (newlines, tabs, line separators) become one space; other control
    characters (NUL, ESC, ...) are removed."""
    return " ".join("".join(ch for ch in text if not _is_control(ch) or ch.isspace()).split())


def _clean_title(title: str) -> str:
    if not isinstance(title, str):
        raise ValueError(f"title must be a string (got {type(title).__name__})")
    _check_text(title, "title")
    return _one_line(title)[:MAX_TITLE_CHARS].rstrip()


def auto_title(prompt: str) -> str:
    """The title derived from a first prompt: one line, about 60 characters, cut at a word."""
    text = _one_line(prompt)
    if len(text) <= AUTO_TITLE_CHARS:
        return text
    cut = text[:AUTO_TITLE_CHARS - 1]
    space = cut.rfind(" ")
    if space >= AUTO_TITLE_CHARS // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _clean_preset_name(name: str) -> str:
    if not isinstance(name, str):
        raise ValueError(f"preset name must be a string (got {type(name).__name__})")
    _check_text(name, "preset name")
    cleaned = _one_line(name)
    if not cleaned:
        raise ValueError("preset name must not be empty")
    if len(cleaned) > MAX_PRESET_NAME_CHARS:
        raise ValueError(f"preset name is longer than {MAX_PRESET_NAME_CHARS} characters")
    return cleaned


def _check_text(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} contains an unpaired surrogate (\\u{ord(text[exc.start]):04x}) "
                         f"at position {exc.start}; it cannot be stored as UTF-8") from None


def _check_message(role: Any, content: Any, status: Any, column: Any) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be user, assistant or system (got {role!r})")
    if not isinstance(content, str):
        raise ValueError(f"content must be a string (got {type(content).__name__})")
    _check_text(content, "content")
    if status not in STATUSES:
        raise ValueError(f"status must be complete or partial (got {status!r})")
    if column is not None and (type(column) is not int or not 0 <= column <= MAX_COLUMN):
        raise ValueError(f"column must be None or a whole number from 0 to {MAX_COLUMN} (got {column!r})")


def _dump_object(value: Any, what: str) -> str:
    """Compact JSON text of a dict, or ValueError saying why it cannot be stored."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a dict (got {type(value).__name__})")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{what} must be plain JSON (dict, list, str, finite number, bool, None): {exc}") from None
    _check_text(text, what)
    return text


def _now() -> float:
    """Now, to the microsecond: exactly what an export's ISO timestamps can carry."""
    return round(time.time(), 6)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


# -- import validation ------------------------------------------------------------------------

def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _reject_constant(name: str) -> Any:
    raise InvalidImport(f"not JSON: {name} is not a valid JSON value")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _parse_document(text: str | bytes, limits: ImportLimits) -> dict[str, Any]:
    """The checked, normalised document, ready to insert; InvalidImport on the first problem."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        raw = bytes(text)
        if len(raw) > limits.max_bytes:
            raise InvalidImport(f"file is larger than {_megabytes(limits.max_bytes)} ({len(raw):,} bytes)")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidImport(f"not JSON: the file is not UTF-8 text (bad byte at position {exc.start})") from None
    elif isinstance(text, str):
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limits.max_bytes:
            raise InvalidImport(f"file is larger than {_megabytes(limits.max_bytes)} ({size:,} bytes)")
        text = text.removeprefix("\ufeff")
    else:
        raise InvalidImport(f"expected the file's text or bytes, got {type(text).__name__}")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except InvalidImport:
        raise
    except RecursionError:
        raise InvalidImport("not JSON this playground reads: values are nested too deeply") from None
    except ValueError as exc:
        raise InvalidImport(f"not JSON: {exc}") from None

    if not isinstance(document, dict):
        raise InvalidImport(f"not a conversation export: the file holds {_type_name(document)}, "
                            f"expected an object with \"format\": \"{EXPORT_FORMAT}\"")
    fmt = document.get("format")
    if fmt != EXPORT_FORMAT:
        raise InvalidImport(f"unknown format {_describe(fmt)}: expected \"{EXPORT_FORMAT}\" "
                            "(is this a conversation exported from Model Playground?)")
    version = document.get("version")
    if type(version) is not int or version != EXPORT_VERSION:
        raise InvalidImport(f"unknown version {_describe(version)} of {EXPORT_FORMAT}: "
                            f"this playground reads version {EXPORT_VERSION}")
    for key in ("title", "kind", "setup", "messages"):
        if key not in document:
            raise InvalidImport(f"{key} is missing")

    title = document["title"]
    if not isinstance(title, str):
        raise InvalidImport(f"title must be a string, got {_type_name(title)}")
    if "\x00" in title:
        raise InvalidImport("title contains a NUL character")
    if len(title) > limits.max_title_chars:
        raise InvalidImport(f"title is {len(title):,} characters long; at most {limits.max_title_chars} are allowed")
    _import_text(title, "title")

    kind = document["kind"]
    if kind not in KINDS:
        raise InvalidImport(f"kind must be chat or compare, got {_describe(kind)}")

    setup = document["setup"]
    if not isinstance(setup, dict):
        raise InvalidImport(f"setup must be an object, got {_type_name(setup)}")
    setup_json = _import_object(setup, "setup")
    if len(setup_json.encode("utf-8")) > limits.max_setup_bytes:
        raise InvalidImport(f"setup is larger than {limits.max_setup_bytes // 1024} KB")

    messages = document["messages"]
    if not isinstance(messages, list):
        raise InvalidImport(f"messages must be a list, got {_type_name(messages)}")
    if len(messages) > limits.max_messages:
        raise InvalidImport(f"messages has {len(messages):,} items; at most {limits.max_messages:,} are allowed")
    checked = [_import_message(m, f"messages[{i}]", limits) for i, m in enumerate(messages)]

    return {"title": _one_line(title), "kind": kind, "setup": setup_json, "messages": checked,
            "created": _import_time(document.get("created"), "created")}


def _import_message(message: Any, where: str, limits: ImportLimits) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise InvalidImport(f"{where} must be an object, got {_type_name(message)}")
    if "role" not in message:
        raise InvalidImport(f"{where}.role is missing")
    role = message["role"]
    if role not in ROLES or not isinstance(role, str):
        raise InvalidImport(f"{where}.role must be user, assistant or system (got {_describe(role)})")
    if "content" not in message:
        raise InvalidImport(f"{where}.content is missing")
    content = message["content"]
    if not isinstance(content, str):
        raise InvalidImport(f"{where}.content must be a string, got {_type_name(content)}")
    if len(content) > limits.max_content_chars:
        raise InvalidImport(f"{where}.content is {len(content):,} characters long; "
                            f"at most {limits.max_content_chars:,} are allowed")
    _import_text(content, f"{where}.content")
    metrics = message.get("metrics")
    if metrics is not None and not isinstance(metrics, dict):
        raise InvalidImport(f"{where}.metrics must be an object or null, got {_type_name(metrics)}")
    status = message.get("status", "complete")
    if status not in STATUSES or not isinstance(status, str):
        raise InvalidImport(f"{where}.status must be complete or partial (got {_describe(status)})")
    column = message.get("column")
    if column is not None and (type(column) is not int or not 0 <= column <= MAX_COLUMN):
        raise InvalidImport(f"{where}.column must be null or a whole number from 0 to {MAX_COLUMN} "
                            f"(got {_describe(column)})")
    return {"role": role, "content": content, "status": status, "column": column,
            "metrics": None if metrics is None else _import_object(metrics, f"{where}.metrics"),
            "created": _import_time(message.get("created"), f"{where}.created")}


def _import_text(text: str, where: str) -> None:
    try:
        _check_text(text, where)
    except ValueError as exc:
        raise InvalidImport(str(exc)) from None


def _import_object(value: dict[str, Any], where: str) -> str:
    try:
        return _dump_object(value, where)
    except ValueError as exc:
        raise InvalidImport(str(exc)) from None


def _import_time(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidImport(f"{where} must be an ISO 8601 date-time string, got {_type_name(value)}")
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        timestamp = moment.timestamp()
    except (ValueError, OverflowError, OSError):
        raise InvalidImport(f"{where} must be an ISO 8601 date-time such as 2025-01-31T12:00:00+00:00 "
                            f"(got {_describe(value)})") from None
    if not math.isfinite(timestamp) or timestamp < 0:
        raise InvalidImport(f"{where} is before 1970 ({_describe(value)})")
    return timestamp


# -- markdown ---------------------------------------------------------------------------------

def metrics_line(metrics: dict[str, Any]) -> str:
    """Tokens, finish reason, first-token time and speed, as under a reply in the chat."""
    parts = []
    prompt, completion = metrics.get("prompt_tokens"), metrics.get("completion_tokens")
    if completion is not None:
        approx = "" if metrics.get("usage_reported", True) else "~"
        head = f"{prompt} prompt + " if prompt is not None else ""
        parts.append(f"{head}{approx}{completion} completion tokens")
    parts.append(f"finish: {metrics.get('finish_reason') or 'unknown'}")
    if isinstance(metrics.get("ttft_s"), (int, float)):
        parts.append(f"first token {metrics['ttft_s']:.2f} s")
    if isinstance(metrics.get("tokens_per_s"), (int, float)):
        parts.append(f"{metrics['tokens_per_s']:.1f} tokens/s")
    if metrics.get("json_valid") is not None:
        parts.append("valid JSON" if metrics["json_valid"] else "NOT valid JSON")
    return " · ".join(parts)


def _setup_lines(setup: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    model = setup.get("model", setup.get("model_label"))
    if model is not None:
        provider = setup.get("provider")
        lines.append(f"- **Model:** {model}" + (f" ({provider})" if provider else ""))
    elif setup.get("provider"):
        lines.append(f"- **Provider:** {setup['provider']}")
    parameters = setup.get("parameters")
    if isinstance(parameters, dict) and parameters:
        shown = ", ".join(f"{k} {json.dumps(v, ensure_ascii=False)}" for k, v in parameters.items())
        lines.append(f"- **Parameters:** {shown}")
    known = {"model", "model_label", "provider", "parameters", "system_prompt", "columns"}
    for key, value in setup.items():
        if key not in known:
            lines.append(f"- **{key}:** {json.dumps(value, ensure_ascii=False)}")
    system = setup.get("system_prompt")
    if isinstance(system, str) and system.strip():
        lines += ["", "**System prompt:**", "", *[f"> {line}".rstrip() for line in system.splitlines()]]
    return lines


def _markdown(conversation: Conversation) -> str:
    out = [f"# {conversation.title or 'Untitled conversation'}", ""]
    kind = "Chat" if conversation.kind == "chat" else "Comparison"
    out += [f"*{kind} · created {_human(conversation.created)} · last message {_human(conversation.updated)}*", ""]
    columns = conversation.setup.get("columns")
    out += _setup_lines(conversation.setup)
    if isinstance(columns, list):
        for index, column in enumerate(columns):
            out += ["", f"## Column {index + 1}", ""]
            if isinstance(column, dict):
                out += _setup_lines(column)
            else:
                out.append(f"- {json.dumps(column, ensure_ascii=False)}")
    for message in conversation.messages:
        heading = message.role.capitalize()
        if message.column is not None:
            column = columns[message.column] if isinstance(columns, list) and message.column < len(columns) else None
            label = column.get("model", column.get("model_label")) if isinstance(column, dict) else None
            heading += f" · column {message.column + 1}" + (f" ({label})" if label else "")
        out += ["", "---", "", f"### {heading}", "", message.content]
        metrics = message.metrics or {}
        if message.status == "partial":
            why = metrics.get("error") or ("stopped" if metrics.get("finish_reason") == "stopped" else "cut short")
            out += ["", f"**⚠ Partial reply** ({why})"]
        if message.role == "assistant" and message.metrics:
            out += ["", f"*{metrics_line(message.metrics)}*"]
    return "\n".join(out).rstrip() + "\n"


def _human(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
