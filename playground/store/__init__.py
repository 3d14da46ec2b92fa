"""Conversations that are never lost: every conversation, message, image and preset, per owner,
in SQLite (a file, the default) or PostgreSQL (PLAYGROUND_DATABASE_URL=postgresql://...). Saved
evaluation runs (playground.evaluate.runs) and the request limit's counts (playground.ratelimit)
keep their tables here too, through `Store.database`.

Pure Python, no Streamlit. Invariants the API relies on (each method documents itself):

- Threads: create ONE Store per process (e.g. under `st.cache_resource`) and call it from any
  thread, no lock needed. SQLite: each thread lazily opens its own connection and only ever uses
  that one; connections of ended threads are closed when a new one opens (Streamlit runs each
  script run on a new thread); a forked child opens its own. PostgreSQL: a connection pool.
- Writes are transactions that happen completely or not at all, one writer at a time (SQLite
  WAL journal with BEGIN IMMEDIATE and busy_timeout; PostgreSQL an advisory lock), so writers in
  other threads or processes queue instead of failing, and lose nothing.
- The SQLite file is created mode 600, in a directory created mode 700.
- Owners: every conversation and preset belongs to one owner; `Store` itself is LOCAL_OWNER's,
  `store.scoped(owner)` another's, and no owner can see or change another's.
- Setup never holds secrets: it is exported verbatim, so API keys, tokens and endpoint
  credentials stay out of it (`playground.settings.Secret` is not JSON: passing one fails).

    store = open_store()    # $PLAYGROUND_DATABASE_URL, else $PLAYGROUND_DB_PATH, else DEFAULT_DB_PATH
    mine = store.scoped(user_sub)
    cid = mine.create_conversation({"model": "gpt-4o", "system_prompt": "Be brief."})
    mine.add_message(cid, "user", "Hello")    # BEFORE the request is sent
"""

from . import usage
from .conversations import (
    DATABASE_URL_VARIABLE,
    DB_PATH_VARIABLE,
    DEFAULT_DB_PATH,
    DELETED_RETENTION_SECONDS,
    OwnerStore,
    Store,
    open_store,
)
from .documents import EXPORT_FORMAT, EXPORT_VERSION, export_json, export_markdown, parse_import
from .records import (
    IMAGE_MIMES,
    KINDS,
    LOCAL_OWNER,
    MAX_IMAGE_BYTES,
    ROLES,
    STATUSES,
    Conversation,
    ConversationDeleted,
    ConversationNotFound,
    ImportLimits,
    InvalidImport,
    Message,
    MessageNotFound,
    StoreError,
    Summary,
    auto_title,
)
from .schema import MIGRATIONS, SCHEMA_VERSION
from .usage import StorageFull

__all__ = [
    "DATABASE_URL_VARIABLE", "DB_PATH_VARIABLE", "DEFAULT_DB_PATH", "DELETED_RETENTION_SECONDS", "EXPORT_FORMAT",
    "EXPORT_VERSION", "IMAGE_MIMES", "KINDS", "LOCAL_OWNER", "MAX_IMAGE_BYTES", "MIGRATIONS", "ROLES",
    "SCHEMA_VERSION", "STATUSES", "Conversation", "ConversationDeleted", "ConversationNotFound", "ImportLimits",
    "InvalidImport", "Message", "MessageNotFound", "OwnerStore", "Store", "StorageFull", "StoreError", "Summary",
    "auto_title", "export_json", "export_markdown", "open_store", "parse_import", "usage",
]
