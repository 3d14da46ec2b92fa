"""Connections, transactions and the ordered list of migrations, for SQLite and PostgreSQL.

A backend hands out transactions (`write()`: one writer at a time in the whole database;
`read()`: one consistent snapshot) as a `Tx`, which runs SQL written once, with `?` parameters,
on either backend. The SQL that differs between the two is here and only here.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import usage
from .records import StoreError

# -- transactions ---------------------------------------------------------------------------------


class Tx:
    """One open transaction. SQL uses `?` placeholders on both backends."""

    def __init__(self, conn: Any, backend: Backend):
        self.conn = conn
        self.backend = backend

    def run(self, sql: str, params: tuple | list = ()) -> Any:
        return self.conn.execute(self.backend.sql(sql), params)

    def one(self, sql: str, params: tuple | list = ()) -> tuple | None:
        return self.run(sql, params).fetchone()

    def one_row(self, sql: str, params: tuple | list = ()) -> tuple:
        """`one` for a query that always returns a row (an aggregate, a PRAGMA, RETURNING)."""
        row = self.one(sql, params)
        assert row is not None, sql
        return row

    def all(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        return self.run(sql, params).fetchall()


class Backend:
    name: str
    location: str
    # SQL types that differ: a float, a byte string, and message text (which may hold NUL).
    types: dict[str, str]

    def sql(self, sql: str) -> str:
        return sql

    def contains(self, column: str) -> str:
        """SQL that is true when `column` holds the `?` parameter as a substring."""
        raise NotImplementedError

    def octets(self, expression: str) -> str:
        """SQL for the bytes of a text (UTF-8) or binary value; NULL for NULL."""
        raise NotImplementedError

    def text(self, value: str) -> Any:
        """A message text as the `nul_text` column type takes it."""
        return value

    def untext(self, value: Any) -> str:
        return value

    def write(self) -> Any:
        raise NotImplementedError

    def read(self) -> Any:
        raise NotImplementedError

    def migration_lock(self) -> Any:
        """Held while migrating, so processes starting at once migrate one after the other."""
        return nullcontext()  # SQLite: BEGIN IMMEDIATE already does it

    def schema_version(self, tx: Tx) -> int:
        raise NotImplementedError

    def set_schema_version(self, tx: Tx, version: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


# -- SQLite ---------------------------------------------------------------------------------------


# A connection and (weakly) the thread it was opened on.
_Opened = tuple[weakref.ref[threading.Thread], sqlite3.Connection]


class SQLiteBackend(Backend):
    name = "sqlite"
    types = {"real": "REAL", "blob": "BLOB", "nul_text": "TEXT"}

    def __init__(self, path: str | os.PathLike[str], *, durable: bool, busy_timeout_ms: int):
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise ValueError("Store needs a file path (each thread opens its own connection to it)")
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self.durable = durable
        self.busy_timeout_ms = int(busy_timeout_ms)
        self._local = threading.local()
        # Every connection opened, with its thread, so a connection whose thread has ended is
        # closed promptly (Streamlit runs each script run on a new thread) instead of whenever
        # the garbage collector gets to it.
        self._opened: list[_Opened] = []
        self._opened_lock = threading.Lock()
        self._pid = os.getpid()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:  # conversations are private: create the file readable by its owner only
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass
        conn = self._conn()
        # Persistent: stored in the file. Switching needs the file to itself, and SQLite does not
        # wait (busy_timeout) for that: several processes opening a new file at once retry instead.
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            try:
                conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)  # a retry pause, not an ordering: the loop ends on the file's state

    def contains(self, column: str) -> str:
        return f"instr({column}, ?) > 0"

    def octets(self, expression: str) -> str:
        return f"length(CAST({expression} AS BLOB))"  # length() of text counts characters

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread=False only so that _reap can close a dead thread's connection; a
        # connection is otherwise used by the thread that opened it and no other.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'NORMAL'}")
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
            alive: list[_Opened] = []
            dead: list[_Opened] = []
            for ref, conn in self._opened:
                thread = ref()
                (alive if thread is not None and thread.is_alive() else dead).append((ref, conn))
            self._opened = alive
        for _, conn in dead:
            conn.close()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            with self._opened_lock:
                self._opened = [entry for entry in self._opened if entry[1] is not conn]
            conn.close()
        self._local.conn = None

    @contextmanager
    def write(self) -> Iterator[Tx]:
        # IMMEDIATE takes the write lock up front, so a writer waits (busy_timeout) instead of
        # failing when another thread or process committed first.
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield Tx(conn, self)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def read(self) -> Iterator[Tx]:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield Tx(conn, self)
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def schema_version(self, tx: Tx) -> int:
        return tx.one_row("PRAGMA user_version")[0]

    def set_schema_version(self, tx: Tx, version: int) -> None:
        tx.run(f"PRAGMA user_version = {int(version)}")


# -- PostgreSQL -----------------------------------------------------------------------------------

# Every write transaction holds this advisory lock: one writer at a time, as SQLite's BEGIN
# IMMEDIATE gives. `updated` is one clock for the whole database, so writers queue anyway; it
# also keeps each writer's messages in its order when several write one conversation.
WRITE_LOCK = 0x706C6179  # "play"
MIGRATION_LOCK = WRITE_LOCK + 1


@functools.lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def redact(url: str) -> str:
    """The URL without its password, for messages and repr."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc[1]}"))


class PostgresBackend(Backend):
    name = "postgresql"
    # Message text is BYTEA (UTF-8) because PostgreSQL's text cannot hold NUL, which the store
    # keeps exactly; so is the search text, which a search for a NUL must be able to compare.
    # Titles, names and JSON never hold a raw NUL, so they stay text.
    types = {"real": "DOUBLE PRECISION", "blob": "BYTEA", "nul_text": "BYTEA"}

    def __init__(self, url: str, *, durable: bool, busy_timeout_ms: int, pool_size: int):
        try:
            import psycopg  # noqa: F401  (imported here: SQLite users need no driver)
            import psycopg_pool
        except ImportError as exc:  # pragma: no cover
            raise StoreError("PostgreSQL needs psycopg and psycopg-pool (pip install -r requirements.txt): "
                             f"{exc}") from exc
        self._pool_class = psycopg_pool.ConnectionPool
        self.url = url
        self.location = redact(url)
        self.durable = durable
        self.busy_timeout_ms = int(busy_timeout_ms)
        self.pool_size = int(pool_size)
        self._pool: Any = None
        self._pool_lock = threading.Lock()
        self._pid = os.getpid()
        self._pool_for_pid()

    def sql(self, sql: str) -> str:
        return _pg_sql(sql)

    def contains(self, column: str) -> str:
        return f"position(? in {column}) > 0"

    def octets(self, expression: str) -> str:
        return f"octet_length({expression})"

    def text(self, value: str) -> bytes:
        return value.encode("utf-8")

    def untext(self, value: Any) -> str:
        return bytes(value).decode("utf-8")

    def _configure(self, conn: Any) -> None:
        # A waiting writer gives up after busy_timeout, as on SQLite.
        conn.execute(f"SET lock_timeout = {self.busy_timeout_ms}")
        if not self.durable:
            conn.execute("SET synchronous_commit = off")

    def _pool_for_pid(self) -> Any:
        with self._pool_lock:
            if self._pool is not None and self._pid != os.getpid():
                # A forked child: the parent's sockets are not ours to use or to close.
                self._orphaned = self._pool
                self._pool = None
            if self._pool is None:
                self._pid = os.getpid()
                pool = self._pool_class(self.url, min_size=1, max_size=self.pool_size, open=False,
                                        kwargs={"autocommit": True}, configure=self._configure,
                                        timeout=max(30.0, self.busy_timeout_ms / 1000), name="playground-store")
                pool.open()
                try:
                    pool.wait(timeout=10)
                except Exception as exc:
                    pool.close()
                    raise StoreError(f"cannot connect to PostgreSQL at {self.location}: {exc}") from None
                self._pool = pool
            return self._pool

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        pool = self._pool if self._pool is not None and self._pid == os.getpid() else self._pool_for_pid()
        with pool.connection() as conn, conn.transaction():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self._transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield Tx(conn, self)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self._transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield Tx(conn, self)

    @contextmanager
    def migration_lock(self) -> Iterator[None]:
        # A session lock on a connection of its own, taken before each migration's transaction
        # begins: a transaction that began before another process committed its DDL would not
        # see the new tables (an advisory lock does not refresh PostgreSQL's catalog snapshot).
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            yield

    def schema_version(self, tx: Tx) -> int:
        if tx.one_row("SELECT to_regclass('schema_version')")[0] is None:
            return 0
        row = tx.one("SELECT version FROM schema_version")
        return row[0] if row else 0

    def set_schema_version(self, tx: Tx, version: int) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        tx.run("DELETE FROM schema_version")
        tx.run("INSERT INTO schema_version (version) VALUES (?)", (int(version),))

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None


def open_backend(location: str | os.PathLike[str], *, durable: bool = True, busy_timeout_ms: int = 10_000,
                 pool_size: int = 10) -> Backend:
    text = str(location)
    if re.match(r"postgres(ql)?://", text):
        return PostgresBackend(text, durable=durable, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size)
    return SQLiteBackend(location, durable=durable, busy_timeout_ms=busy_timeout_ms)


# -- migrations -----------------------------------------------------------------------------------
# Each runs once, in its own write transaction, in order; the stored schema version (SQLite's
# user_version, PostgreSQL's schema_version table) is the last one that ran. Append, never edit:
# a database in the field has run the old text. `{real}`, `{blob}`, `{nul_text}` are the
# backend's types.


@dataclass(frozen=True)
class Migration:
    version: int
    why: str
    sqlite: tuple[str, ...] = ()
    postgresql: tuple[str, ...] = ()
    both: tuple[str, ...] = ()
    then: Callable[[Tx], None] | None = None

    def statements(self, backend: Backend) -> tuple[str, ...]:
        own = self.sqlite if backend.name == "sqlite" else self.postgresql
        return tuple(sql.format(**backend.types) for sql in (*own, *self.both))


def _statements(script: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in script.split(";") if s.strip())


# The schema of the first release, exactly (a file it wrote is at version 1).
_SQLITE_1 = _statements("""
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
)
""")

_POSTGRES_1 = _statements("""
CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL DEFAULT '',
    title_auto  INTEGER NOT NULL DEFAULT 1,
    kind        TEXT NOT NULL CONSTRAINT conversations_kind_check CHECK (kind IN ('chat', 'compare')),
    setup       TEXT NOT NULL,
    created     DOUBLE PRECISION NOT NULL,
    updated     DOUBLE PRECISION NOT NULL,
    deleted_at  DOUBLE PRECISION
);
CREATE INDEX conversations_updated ON conversations (updated);
CREATE TABLE messages (
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CONSTRAINT messages_role_check CHECK (role IN ('system', 'user', 'assistant')),
    content         BYTEA NOT NULL,
    metrics         TEXT,
    status          TEXT NOT NULL CONSTRAINT messages_status_check CHECK (status IN ('complete', 'partial')),
    column_index    INTEGER,
    created         DOUBLE PRECISION NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE TABLE presets (
    name    TEXT PRIMARY KEY,
    data    TEXT NOT NULL,
    updated DOUBLE PRECISION NOT NULL
)
""")

# Owners: what was saved before belongs to the single local user.
_BOTH_2 = _statements("""
ALTER TABLE conversations ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
CREATE INDEX conversations_owner ON conversations (owner, updated);
CREATE TABLE presets_by_owner (
    owner   TEXT NOT NULL,
    name    TEXT NOT NULL,
    data    TEXT NOT NULL,
    updated {real} NOT NULL,
    PRIMARY KEY (owner, name)
);
INSERT INTO presets_by_owner (owner, name, data, updated) SELECT 'local', name, data, updated FROM presets;
DROP TABLE presets;
ALTER TABLE presets_by_owner RENAME TO presets
""")

# Tool calls and images. SQLite cannot change a CHECK, so messages is rebuilt, ids kept.
_SQLITE_3 = _statements("""
CREATE TABLE messages_v3 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content         TEXT NOT NULL,
    metrics         TEXT,
    status          TEXT NOT NULL CHECK (status IN ('complete', 'partial')),
    column_index    INTEGER,
    created         REAL NOT NULL,
    tool_calls      TEXT,
    tool_call_id    TEXT
);
INSERT INTO messages_v3 (id, conversation_id, role, content, metrics, status, column_index, created)
    SELECT id, conversation_id, role, content, metrics, status, column_index, created FROM messages;
-- ids are never reused: carry the counter over, deleted messages' ids included
INSERT INTO sqlite_sequence (name, seq) SELECT 'messages_v3', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'messages_v3');
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'messages'))
    WHERE name = 'messages_v3';
DROP TABLE messages;
ALTER TABLE messages_v3 RENAME TO messages;
CREATE INDEX messages_conversation ON messages (conversation_id, id)
""")

_POSTGRES_3 = _statements("""
ALTER TABLE messages DROP CONSTRAINT messages_role_check;
ALTER TABLE messages ADD CONSTRAINT messages_role_check CHECK (role IN ('system', 'user', 'assistant', 'tool'));
ALTER TABLE messages ADD COLUMN tool_calls TEXT;
ALTER TABLE messages ADD COLUMN tool_call_id TEXT
""")

_BOTH_3 = _statements("""
CREATE TABLE attachments (
    message_id  BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    mime        TEXT NOT NULL CHECK (mime IN ('image/png', 'image/jpeg', 'image/webp', 'image/gif')),
    data        {blob} NOT NULL,
    detail      TEXT CHECK (detail IN ('auto', 'low', 'high')),
    name        TEXT,
    PRIMARY KEY (message_id, position)
)
""")

# Search compares casefolded text computed in Python on write, so "ß" finds "SS" and "ﬁ" finds
# "FI" on both backends exactly as str.casefold says (PostgreSQL's lower() does neither).
_BOTH_4 = _statements("""
ALTER TABLE conversations ADD COLUMN title_fold {nul_text} NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN content_fold {nul_text}
""")


def _fill_search_columns(tx: Tx) -> None:
    backend = tx.backend
    for cid, title in tx.all("SELECT id, title FROM conversations"):
        tx.run("UPDATE conversations SET title_fold = ? WHERE id = ?", (backend.text(title.casefold()), cid))
    last = 0
    while True:  # in batches: a large database's text need not fit in memory at once
        rows = tx.all("SELECT id, content FROM messages WHERE id > ? ORDER BY id LIMIT 500", (last,))
        if not rows:
            return
        for message_id, content in rows:
            tx.run("UPDATE messages SET content_fold = ? WHERE id = ?",
                   (backend.text(backend.untext(content).casefold()), message_id))
        last = rows[-1][0]


# Evaluation runs (playground.evaluate.runs) had a file of their own beside the SQLite
# database; with the conversations, replicas on one PostgreSQL share them too.
_BOTH_5 = _statements("""
CREATE TABLE eval_runs (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    created     TEXT NOT NULL,              -- ISO 8601 UTC, from the run
    saved       {real} NOT NULL,            -- orders runs made within the same second
    name        TEXT NOT NULL,
    prompt_text TEXT NOT NULL,                  -- YAML, which never holds a NUL
    models_json TEXT NOT NULL,
    judge_json  TEXT,
    params_json TEXT NOT NULL,
    run_json    TEXT NOT NULL,
    total       INTEGER NOT NULL,
    passed      INTEGER NOT NULL
);
CREATE INDEX eval_runs_owner_created ON eval_runs (owner, created, saved)
""")

RUNS_FILE = "evaluations.db"  # where runs were saved before schema 5


def _move_runs_file_in(tx: Tx) -> None:
    """The runs an earlier version saved in evaluations.db beside this SQLite file move in, in order."""
    path: Path | None = getattr(tx.backend, "path", None)
    old = path.with_name(RUNS_FILE) if path else None
    if old is None or not old.is_file():
        return
    try:
        with closing(sqlite3.connect(old)) as conn:
            rows = conn.execute("SELECT id, owner, created, name, prompt_text, models_json, judge_json, params_json,"
                                " run_json, total, passed FROM eval_runs ORDER BY rowid").fetchall()
    except sqlite3.DatabaseError:  # not such a file after all: leave it be rather than not start
        return
    for order, (run_id, owner, created, name, prompt, *rest) in enumerate(rows):
        tx.run("INSERT INTO eval_runs (id, owner, created, saved, name, prompt_text, models_json, judge_json,"
               " params_json, run_json, total, passed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (run_id, owner, created, float(order), name, prompt, *rest))


# The per-user request limit (playground.ratelimit), counted here so that replicas count together.
_BOTH_6 = _statements("""
CREATE TABLE requests_sent (
    owner   TEXT NOT NULL,
    at      {real} NOT NULL                -- time.time() when the request was let through
);
CREATE INDEX requests_sent_owner ON requests_sent (owner, at);
CREATE INDEX requests_sent_at ON requests_sent (at)
""")

# The per-owner storage budget (playground.store.usage): each owner's bytes, counted as they
# change; what is already saved is counted once here.
_BOTH_7 = _statements("""
CREATE TABLE storage_used (
    owner   TEXT PRIMARY KEY,
    bytes   BIGINT NOT NULL
)
""")


MIGRATIONS = (
    Migration(1, "conversations, messages and presets", sqlite=_SQLITE_1, postgresql=_POSTGRES_1),
    Migration(2, "an owner for every conversation and preset", both=_BOTH_2),
    Migration(3, "tool calls and images", sqlite=_SQLITE_3, postgresql=_POSTGRES_3, both=_BOTH_3),
    Migration(4, "casefolded search columns", both=_BOTH_4, then=_fill_search_columns),
    Migration(5, "evaluation runs", both=_BOTH_5, then=_move_runs_file_in),
    Migration(6, "requests counted for the per-user limit", both=_BOTH_6),
    Migration(7, "storage counted per owner for the storage budget", both=_BOTH_7, then=usage.fill),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def migrate(backend: Backend) -> None:
    """Run the migrations this database has not run yet, each in its own transaction (which
    re-reads the version, so processes starting at once run each migration once)."""
    with backend.read() as tx:
        if backend.schema_version(tx) == SCHEMA_VERSION:
            return  # the usual case: no write lock taken
    with backend.migration_lock():
        for migration in MIGRATIONS:
            with backend.write() as tx:
                version = backend.schema_version(tx)
                if version > SCHEMA_VERSION:
                    raise StoreError(f"{backend.location} was written by a newer Model Playground "
                                     f"(schema {version}, this one knows {SCHEMA_VERSION})")
                if version >= migration.version:
                    continue
                for statement in migration.statements(backend):  # not executescript: it would COMMIT
                    tx.run(statement)
                if migration.then is not None:
                    migration.then(tx)
                backend.set_schema_version(tx, migration.version)
