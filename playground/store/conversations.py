"""The store's API: `Store` (one database) and `OwnerStore` (one owner's part of it)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from ..messages import Image
from . import documents, usage
from .records import (
    DEFAULT_IMPORT_LIMITS,
    KINDS,
    LOCAL_OWNER,
    MAX_IMAGE_BYTES,
    Conversation,
    ConversationDeleted,
    ConversationNotFound,
    ImportLimits,
    Message,
    MessageNotFound,
    Summary,
    auto_title,
    casefold,
    check_images,
    check_message,
    check_owner,
    check_text,
    clean_preset_name,
    clean_title,
    dump_json,
    dump_object,
    now,
)
from .schema import Backend, Tx, migrate, open_backend

DELETED_RETENTION_SECONDS = 30 * 24 * 3600  # a deleted conversation can be undeleted for 30 days


class OwnerStore:
    """The conversations and presets of one owner. Another owner's conversation is, to every
    method, exactly like a missing one: `get` returns None, writes raise ConversationNotFound.

    Methods that change a conversation raise `ConversationNotFound` (a LookupError) for an
    unknown id, `MessageNotFound` (a LookupError) for a message id not in that conversation,
    `ConversationDeleted` when adding to or changing the messages or setup of a deleted one,
    `usage.StorageFull` when what the owner adds would pass this owner's `storage_budget`,
    and `ValueError` for a bad argument. Every write is one transaction: refused, it wrote nothing."""

    def __init__(self, store: Store, owner: str, storage_budget: int | None = None):
        self._store = store
        self._db: Backend = store._db
        self.owner = check_owner(owner)
        # The bytes this owner may keep (playground.store.usage); None: the Store's budget.
        self.storage_budget: int | None = store.storage_budget if storage_budget is None else int(storage_budget)

    def __repr__(self) -> str:
        return f"OwnerStore({self._store!r}, {self.owner!r})"

    # -- conversations ----------------------------------------------------------------------------

    def create_conversation(self, setup: dict[str, Any], kind: str = "chat", title: str | None = None) -> str:
        """A new, empty conversation; its id (`secrets.token_urlsafe(16)`: safe in a URL).
        `setup` is opaque JSON for the caller, exported verbatim: IT MUST NOT CARRY SECRETS.
        Suggested shape: {"model", "provider", "system_prompt", "parameters"}, or for kind
        "compare" {"columns": [one such dict per column]}, which each reply's `column` indexes."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        setup_json = dump_object(setup, "setup")
        with self._db.write() as tx:
            self._charge(tx, usage.ROW_BYTES + usage.size(setup_json))
            return self._insert_conversation(tx, clean_title(title or ""), kind, setup_json, None)

    def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with every message, a soft-deleted one too (see `deleted_at`); None
        if there is none of this owner's with that id. Times are Unix seconds (float)."""
        db = self._db
        with db.read() as tx:
            row = tx.one("SELECT id, title, kind, setup, created, updated, deleted_at FROM conversations "
                         "WHERE id = ? AND owner = ?", (conversation_id, self.owner))
            if row is None:
                return None
            rows = tx.all("SELECT id, role, content, metrics, status, column_index, created, tool_calls, "
                          "tool_call_id FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,))
            images: dict[int, list[Image]] = {}
            for message_id, mime, data, detail, name in tx.all(
                    "SELECT a.message_id, a.mime, a.data, a.detail, a.name FROM attachments a "
                    "JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = ? "
                    "ORDER BY a.message_id, a.position", (conversation_id,)):
                images.setdefault(message_id, []).append(Image(mime, bytes(data), detail, name))
        messages = [Message(id=r[0], role=r[1], content=db.untext(r[2]),
                            metrics=None if r[3] is None else json.loads(r[3]), status=r[4], column=r[5],
                            created=r[6], tool_calls=tuple(json.loads(r[7])) if r[7] is not None else (),
                            tool_call_id=r[8], images=tuple(images.get(r[0], ()))) for r in rows]
        return Conversation(id=row[0], title=row[1], kind=row[2], setup=json.loads(row[3]), created=row[4],
                            updated=row[5], deleted_at=row[6], messages=messages)

    def add_message(self, conversation_id: str, role: str, content: str, metrics: dict[str, Any] | None = None,
                    status: str = "complete", column: int | None = None, *,
                    tool_calls: list[dict[str, Any]] | None = None, tool_call_id: str | None = None,
                    images: list[dict[str, Any]] | None = None) -> int:
        """Append a message and return its id (ids increase: they are the order). Save each user
        message before sending it and each reply as soon as it ends (status "partial" if an
        error or Stop cut it short), so nothing is lost.

        role: system, user, assistant, or tool (which needs `tool_call_id`, the call it answers).
        tool_calls: on an assistant message, the OpenAI wire form
            [{"id", "type": "function", "function": {"name", "arguments": JSON text}}].
        images: [{"mime": image/png|jpeg|webp|gif, "data": bytes, "detail": "auto"|"low"|"high"|None,
            "name": str|None}], each at most the Store's `max_image_bytes`.
        column: None in a chat; the column index in a comparison. metrics: a JSON dict or None.
        Text is stored exactly (NUL, RTL marks, emoji, megabytes); an unpaired surrogate cannot
        be stored as UTF-8 and is refused with ValueError.
        The storage budget refuses what the owner adds (StorageFull), never a reply (role
        assistant): the model's work is kept, and the owner's next message is refused instead."""
        check_message(role, content, status, column, tool_calls, tool_call_id)
        metrics_json = None if metrics is None else dump_object(metrics, "metrics")
        stored_images = check_images(images, self._store.max_image_bytes)
        tool_calls_json = None if tool_calls is None else dump_json(tool_calls, "tool_calls")
        with self._db.write() as tx:
            title_auto = self._writable(tx, conversation_id)
            self._charge(tx, usage.message_size(content, metrics_json, tool_calls_json, stored_images),
                         refuse=role != "assistant")
            message_id = self._insert_message(tx, conversation_id, {
                "role": role, "content": content, "metrics": metrics_json, "status": status, "column": column,
                "created": now(), "tool_calls": tool_calls_json,
                "tool_call_id": tool_call_id, "images": stored_images})
            self._touch(tx, conversation_id, refresh_title=title_auto and role == "user")
            return message_id

    def edit_message(self, conversation_id: str, message_id: int, content: str, *,
                     drop_following: bool = False) -> None:
        """Replace a message's text (its images and tool fields stay). `drop_following=True`
        also deletes every later message in the same transaction: edit-and-resend."""
        if not isinstance(content, str):
            raise ValueError(f"content must be a string (got {type(content).__name__})")
        check_text(content, "content")
        db = self._db
        with db.write() as tx:
            title_auto = self._writable(tx, conversation_id)
            self._check_message_id(tx, conversation_id, message_id)
            freed = self._following_size(tx, conversation_id, message_id) if drop_following else 0
            (old,) = tx.one_row(f"SELECT {db.octets('content')} FROM messages WHERE id = ?", (message_id,))
            self._charge(tx, usage.size(content) - int(old) - freed)
            tx.run("UPDATE messages SET content = ?, content_fold = ? WHERE id = ?",
                   (db.text(content), db.text(content.casefold()), message_id))
            if drop_following:
                tx.run("DELETE FROM messages WHERE conversation_id = ? AND id > ?", (conversation_id, message_id))
            self._touch(tx, conversation_id, refresh_title=title_auto)

    def truncate_after(self, conversation_id: str, message_id: int) -> None:
        """Delete every message after `message_id` (which stays, images and all): regenerate a
        reply, or resend."""
        with self._db.write() as tx:
            title_auto = self._writable(tx, conversation_id)
            self._check_message_id(tx, conversation_id, message_id)
            self._charge(tx, -self._following_size(tx, conversation_id, message_id))
            tx.run("DELETE FROM messages WHERE conversation_id = ? AND id > ?", (conversation_id, message_id))
            self._touch(tx, conversation_id, refresh_title=title_auto)

    def update_setup(self, conversation_id: str, setup: dict[str, Any]) -> None:
        """Replace the setup. Cheap to call on every run: an unchanged setup writes nothing."""
        setup_json = dump_object(setup, "setup")
        with self._db.read() as tx:
            row = tx.one("SELECT setup FROM conversations WHERE id = ? AND owner = ?", (conversation_id, self.owner))
        if row is not None and row[0] == setup_json:
            return  # no write lock taken
        with self._db.write() as tx:
            self._writable(tx, conversation_id)
            (old,) = tx.one_row(f"SELECT {self._db.octets('setup')} FROM conversations WHERE id = ?",
                                (conversation_id,))
            self._charge(tx, usage.size(setup_json) - int(old))
            tx.run("UPDATE conversations SET setup = ? WHERE id = ?", (setup_json, conversation_id))

    def rename(self, conversation_id: str, title: str) -> None:
        """Set the title (made one line, control characters removed, cut to 200 characters). A
        blank title returns to the one derived from the first user message (about 60 characters,
        kept current through edits and truncation)."""
        title = clean_title(title or "")
        with self._db.write() as tx:
            self._title_auto(tx, conversation_id)
            tx.run("UPDATE conversations SET title = ?, title_fold = ?, title_auto = ? WHERE id = ?",
                   (title, self._db.text(title.casefold()), 0 if title else 1, conversation_id))
            if not title:
                self._refresh_title(tx, conversation_id)

    def list(self, search: str = "", limit: int = 200, include_deleted: bool = False) -> list[Summary]:
        """This owner's conversations, most recently active first (`updated` moves on message
        activity only, strictly increasing across the database, so the order is stable; rename,
        setup changes and delete/undelete do not reorder). `search` matches titles and message
        text, case-insensitively by Unicode case folding ("ÉTÉ" finds "été", "STRASSE" finds
        "straße") and literally (`%`, `_`, `\\` match themselves)."""
        db = self._db
        needle = casefold(search.strip()) if search else ""
        where, params = ["c.owner = ?"], [self.owner]
        if not include_deleted:
            where.append("c.deleted_at IS NULL")
        if needle:
            where.append(f"({db.contains('c.title_fold')} OR EXISTS (SELECT 1 FROM messages m "
                         f"WHERE m.conversation_id = c.id AND {db.contains('m.content_fold')}))")
            params += [db.text(needle), db.text(needle)]
        sql = ("SELECT c.id, c.title, c.kind, c.created, c.updated, c.deleted_at, "
               "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) FROM conversations c "
               "WHERE " + " AND ".join(where) + " ORDER BY c.updated DESC, c.id LIMIT ?")
        with db.read() as tx:
            rows = tx.all(sql, (*params, max(0, int(limit))))
        return [Summary(id=r[0], title=r[1], kind=r[2], created=r[3], updated=r[4], deleted_at=r[5],
                        message_count=r[6]) for r in rows]

    def delete(self, conversation_id: str) -> None:
        """Soft delete: hidden from `list()` until `undelete`; `Store.purge_expired` removes it
        for good DELETED_RETENTION_SECONDS (30 days) later."""
        with self._db.write() as tx:
            self._title_auto(tx, conversation_id)
            tx.run("UPDATE conversations SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                   (now(), conversation_id))

    def undelete(self, conversation_id: str) -> None:
        with self._db.write() as tx:
            self._title_auto(tx, conversation_id)
            tx.run("UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conversation_id,))

    # -- storage ----------------------------------------------------------------------------------

    def storage_used(self) -> int:
        """The bytes this owner's saved data takes, as the storage budget counts it (playground.store.usage)."""
        with self._db.read() as tx:
            return usage.used(tx, self.owner)

    def storage_left(self) -> int | None:
        """The bytes this owner may still add (0 when at or past the budget); None: no budget."""
        budget = self.storage_budget
        return None if budget is None else max(0, budget - self.storage_used())

    # -- presets ----------------------------------------------------------------------------------

    def save_preset(self, name: str, data: dict[str, Any]) -> None:
        """Create or overwrite this owner's preset (system prompt and parameters, as JSON). The
        name is made one line; at most 100 characters."""
        name = clean_preset_name(name)
        data_json = dump_object(data, "preset")
        with self._db.write() as tx:
            old = tx.one(f"SELECT {self._db.octets('data')} FROM presets WHERE owner = ? AND name = ?",
                         (self.owner, name))
            self._charge(tx, usage.size(data_json) - (int(old[0]) if old else -usage.ROW_BYTES))
            tx.run("INSERT INTO presets (owner, name, data, updated) VALUES (?, ?, ?, ?) ON CONFLICT (owner, name) "
                   "DO UPDATE SET data = excluded.data, updated = excluded.updated",
                   (self.owner, name, data_json, now()))

    def presets(self) -> dict[str, dict[str, Any]]:
        """This owner's presets by name, in name order (case-insensitive)."""
        with self._db.read() as tx:
            rows = tx.all("SELECT name, data FROM presets WHERE owner = ?", (self.owner,))
        return {name: json.loads(data) for name, data in sorted(rows, key=lambda r: (casefold(r[0]), r[0]))}

    def delete_preset(self, name: str) -> bool:
        """Returns whether this owner had a preset of that name."""
        try:
            name = clean_preset_name(name)
        except ValueError:
            return False
        with self._db.write() as tx:
            old = tx.one(f"SELECT {self._db.octets('data')} FROM presets WHERE owner = ? AND name = ?",
                         (self.owner, name))
            if old is None:
                return False
            self._charge(tx, -usage.ROW_BYTES - int(old[0]))
            return tx.run("DELETE FROM presets WHERE owner = ? AND name = ?", (self.owner, name)).rowcount > 0

    # -- export and import ------------------------------------------------------------------------

    def export_json(self, conversation_id: str) -> str:
        """The conversation as a versioned JSON document (see `documents.export_json`)."""
        return documents.export_json(self._require(conversation_id))

    def export_markdown(self, conversation_id: str) -> str:
        """The conversation as a readable Markdown document (see `documents.export_markdown`)."""
        return documents.export_markdown(self._require(conversation_id))

    def import_json(self, text: str | bytes) -> str:
        """Check the whole document first (raising InvalidImport, whose message says what to fix
        and where, e.g. "messages[3].role must be ..."; nothing is written then), then insert it
        as a new conversation of this owner in one transaction. Returns the new id.
        An imported setup is untrusted input: map its model label to an endpoint you configured,
        never take an endpoint URL or header from it."""
        doc = documents.parse_import(text, self._store.limits, self._store.max_image_bytes)
        moment = now()
        total = usage.ROW_BYTES + usage.size(doc["setup"]) + sum(
            usage.message_size(m["content"], m["metrics"], m["tool_calls"], m["images"]) for m in doc["messages"])
        with self._db.write() as tx:
            self._charge(tx, total)
            conversation_id = self._insert_conversation(tx, doc["title"], doc["kind"], doc["setup"], doc["created"])
            for message in doc["messages"]:
                self._insert_message(tx, conversation_id, dict(message, created=message["created"] or moment))
            if not doc["title"]:
                self._refresh_title(tx, conversation_id)
        return conversation_id

    # -- helpers ----------------------------------------------------------------------------------

    def _require(self, conversation_id: str) -> Conversation:
        conversation = self.get(conversation_id)
        if conversation is None:
            raise ConversationNotFound(conversation_id)
        return conversation

    def _insert_conversation(self, tx: Tx, title: str, kind: str, setup_json: str, created: float | None) -> str:
        """A new conversations row, created now unless `created` says when (an import); its id.
        An empty title is filled in from the first prompt."""
        conversation_id = secrets.token_urlsafe(16)
        moment = now()
        tx.run("INSERT INTO conversations (id, owner, title, title_fold, title_auto, kind, setup, created, updated) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (conversation_id, self.owner, title, self._db.text(title.casefold()), 0 if title else 1, kind,
                setup_json,
                created or moment, _next_updated(tx, moment)))
        return conversation_id

    def _insert_message(self, tx: Tx, conversation_id: str, m: dict[str, Any]) -> int:
        db = self._db
        (message_id,) = tx.one_row(
            "INSERT INTO messages (conversation_id, role, content, content_fold, metrics, status, column_index, "
            "created, tool_calls, tool_call_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (conversation_id, m["role"], db.text(m["content"]), db.text(m["content"].casefold()), m["metrics"],
             m["status"], m["column"], m["created"], m["tool_calls"], m["tool_call_id"]))
        for position, image in enumerate(m["images"]):
            tx.run("INSERT INTO attachments (message_id, position, mime, data, detail, name) VALUES (?, ?, ?, ?, ?, ?)",
                   (message_id, position, image["mime"], image["data"], image["detail"], image["name"]))
        return message_id

    def _charge(self, tx: Tx, delta: int, refuse: bool = True) -> None:
        usage.charge(tx, self.owner, delta, self.storage_budget if refuse else None)

    @staticmethod
    def _following_size(tx: Tx, conversation_id: str, message_id: int) -> int:
        return usage.messages_size(tx, "m.conversation_id = ? AND m.id > ?", (conversation_id, message_id))

    def _writable(self, tx: Tx, conversation_id: str) -> bool:
        """`_title_auto`, and ConversationDeleted for a deleted conversation: what a write would
        add to it would go unseen, then be purged with it."""
        row = tx.one("SELECT title_auto, deleted_at FROM conversations WHERE id = ? AND owner = ?",
                     (conversation_id, self.owner))
        if row is None:
            raise ConversationNotFound(conversation_id)
        if row[1] is not None:
            raise ConversationDeleted(conversation_id)
        return bool(row[0])

    def _title_auto(self, tx: Tx, conversation_id: str) -> bool:
        """Whether the title is derived; ConversationNotFound for an unknown id or one that is
        not this owner's (the same error: no one learns that someone else's id exists)."""
        row = tx.one("SELECT title_auto FROM conversations WHERE id = ? AND owner = ?", (conversation_id, self.owner))
        if row is None:
            raise ConversationNotFound(conversation_id)
        return bool(row[0])

    @staticmethod
    def _check_message_id(tx: Tx, conversation_id: str, message_id: int) -> None:
        if isinstance(message_id, bool) or not isinstance(message_id, int) or tx.one(
                "SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?", (message_id, conversation_id)
        ) is None:
            raise MessageNotFound(conversation_id, message_id)

    def _refresh_title(self, tx: Tx, conversation_id: str) -> None:
        row = tx.one("SELECT content FROM messages WHERE conversation_id = ? AND role = 'user' ORDER BY id LIMIT 1",
                     (conversation_id,))
        title = auto_title(self._db.untext(row[0])) if row else ""
        tx.run("UPDATE conversations SET title = ?, title_fold = ? WHERE id = ? AND title_auto = 1",
               (title, self._db.text(title.casefold()), conversation_id))

    def _touch(self, tx: Tx, conversation_id: str, refresh_title: bool) -> None:
        tx.run("UPDATE conversations SET updated = ? WHERE id = ?", (_next_updated(tx, now()), conversation_id))
        if refresh_title:
            self._refresh_title(tx, conversation_id)


def _next_updated(tx: Tx, moment: float) -> float:
    """`updated` strictly increases across the database, even if the clock steps back or two
    writes land in the same microsecond, so "newest first" is a total, stable order. (Writers
    are serialized on both backends, so reading the maximum here is race-free.)"""
    (latest,) = tx.one_row("SELECT COALESCE(MAX(updated), 0) FROM conversations")
    return max(moment, latest + 0.000001)


class Store(OwnerStore):
    """One database. Its conversation and preset methods act for LOCAL_OWNER (single-user
    mode); `scoped(owner)` gives another owner's view.

    `location`: a file path (SQLite) or a postgresql:// URL (psycopg 3 with a connection pool).
    `durable=True`: a committed message survives a power cut (SQLite synchronous=FULL,
    PostgreSQL synchronous_commit on); False survives a crash of the app only.
    `busy_timeout_ms`: how long a writer waits for another before failing.
    `limits`: what `import_json` accepts; `max_image_bytes`: the cap per image, on add and import.
    `pool_size`: PostgreSQL connections at most (SQLite: one per thread).
    `storage_budget`: the bytes each owner may keep (playground.store.usage); None: no budget."""

    def __init__(self, location: str | os.PathLike[str], *, durable: bool = True, busy_timeout_ms: int = 10_000,
                 limits: ImportLimits = DEFAULT_IMPORT_LIMITS, max_image_bytes: int = MAX_IMAGE_BYTES,
                 pool_size: int = 10, storage_budget: int | None = None):
        self.limits = limits
        self.max_image_bytes = int(max_image_bytes)
        self.storage_budget: int | None = None if storage_budget is None else int(storage_budget)
        self._db = open_backend(location, durable=durable, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size)
        self.backend = self._db.name
        self.location = self._db.location  # without a password
        self.path: Path | None = getattr(self._db, "path", None)  # the SQLite file, None on PostgreSQL
        migrate(self._db)
        super().__init__(self, LOCAL_OWNER)

    def __repr__(self) -> str:
        return f"Store({self.location!r})"

    @property
    def database(self) -> Backend:
        """The connection, for a use case with a table of its own here (evaluation runs)."""
        return self._db

    def scoped(self, owner: str, storage_budget: int | None = None) -> OwnerStore:
        """The store as `owner` (an OIDC `sub`, or LOCAL_OWNER) sees it: only their
        conversations and presets; imports become theirs. `storage_budget`: the bytes they may
        keep, if not the Store's `storage_budget`."""
        if owner == LOCAL_OWNER and storage_budget in (None, self.storage_budget):
            return self
        return OwnerStore(self, owner, storage_budget)

    def purge_deleted(self, older_than_seconds: float) -> int:
        """Remove for good every owner's conversations deleted at least `older_than_seconds` ago,
        with their messages and images; returns how many. (0 purges every deleted one.)"""
        cutoff = now() - max(0.0, float(older_than_seconds))
        where = "c.deleted_at IS NOT NULL AND c.deleted_at <= ?"
        with self._db.write() as tx:
            for owner, freed in usage.conversations_size(tx, where, (cutoff,)).items():
                usage.charge(tx, owner, -freed, None)
            return tx.run(f"DELETE FROM conversations AS c WHERE {where}", (cutoff,)).rowcount

    def purge_expired(self) -> int:
        """`purge_deleted(DELETED_RETENTION_SECONDS)`: call at startup and now and then (e.g.
        daily); until then a deleted conversation can be undeleted."""
        return self.purge_deleted(DELETED_RETENTION_SECONDS)

    def close(self) -> None:
        """SQLite: close the calling thread's connection; PostgreSQL: close the pool. The next
        call opens anew."""
        self._db.close()


DEFAULT_DB_PATH = Path.home() / ".local" / "share" / "model-playground" / "playground.db"
DB_PATH_VARIABLE = "PLAYGROUND_DB_PATH"
DATABASE_URL_VARIABLE = "PLAYGROUND_DATABASE_URL"


def open_store(url_or_path: str | os.PathLike[str] | None = None, **options: Any) -> Store:
    """A Store on a postgresql:// URL or an SQLite file path (`Store`'s options apply). None:
    $PLAYGROUND_DATABASE_URL if set, else $PLAYGROUND_DB_PATH, else DEFAULT_DB_PATH."""
    if url_or_path is None or str(url_or_path) == "":
        url_or_path = (os.environ.get(DATABASE_URL_VARIABLE) or os.environ.get(DB_PATH_VARIABLE)
                       or DEFAULT_DB_PATH)
    return Store(url_or_path, **options)

