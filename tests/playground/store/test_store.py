"""The conversation store: round trips, listing and search, soft delete, presets, export and
import (with hostile files), and several threads and processes writing at once; on SQLite and on
PostgreSQL (the `store` and `location` fixtures are parametrized over both: see conftest.py)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from playground.messages import Message
from playground.store import (
    DEFAULT_DB_PATH,
    EXPORT_FORMAT,
    ConversationNotFound,
    ImportLimits,
    InvalidImport,
    MessageNotFound,
    Store,
)

ROOT = Path(__file__).resolve().parents[3]
SETUP = {"model": "gpt-4o-mini", "provider": "GitHub Models", "system_prompt": "Be brief.",
         "parameters": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 512}}
METRICS = {"prompt_tokens": 12, "completion_tokens": 40, "usage_reported": True, "finish_reason": "stop",
           "ttft_s": 0.31, "tokens_per_s": 25.0, "error": None}
HOSTILE = [
    "nul \x00 inside",
    "\u202eRTL override\u202c and עברית العربية",
    "emoji 🧪👩‍💻🏳️‍🌈 and combining é",
    "'); DROP TABLE messages; -- \" OR 1=1 %_\\",
    "x" * 1_000_000,
    "",
    "<script>alert(1)</script>",
]


def row_counts(store: Store) -> tuple[int, int]:
    with store._db.read() as tx:
        return (tx.one("SELECT COUNT(*) FROM conversations")[0], tx.one("SELECT COUNT(*) FROM messages")[0])


def chat(store: Store, *prompts: str, **kwargs) -> str:
    cid = store.create_conversation(SETUP, **kwargs)
    for prompt in prompts:
        store.add_message(cid, "user", prompt)
        store.add_message(cid, "assistant", f"reply to {prompt}", metrics=METRICS)
    return cid


def comparable(store: Store, cid: str) -> dict:
    c = store.get(cid)
    return {"title": c.title, "kind": c.kind, "setup": c.setup, "created": c.created,
            "messages": [(m.role, m.content, m.metrics, m.status, m.column, m.created)
                         for m in c.messages]}


# -- basics ---------------------------------------------------------------------------------------

def test_round_trip(store):
    cid = store.create_conversation(SETUP)
    assert len(cid) >= 20 and cid.replace("-", "").replace("_", "").isalnum()
    system_id = store.add_message(cid, "system", "Extra instructions")
    user_id = store.add_message(cid, "user", "Hello?")
    reply_id = store.add_message(cid, "assistant", "Hi!", metrics=METRICS)
    assert system_id < user_id < reply_id

    conversation = store.get(cid)
    assert (conversation.id, conversation.kind, conversation.setup) == (cid, "chat", SETUP)
    assert conversation.created <= conversation.updated and conversation.deleted_at is None
    assert [(m.id, m.role, m.content, m.metrics, m.status, m.column) for m in conversation.messages] == [
        (system_id, "system", "Extra instructions", None, "complete", None),
        (user_id, "user", "Hello?", None, "complete", None),
        (reply_id, "assistant", "Hi!", METRICS, "complete", None),
    ]
    assert conversation.messages[2] == Message("assistant", "Hi!", metrics=METRICS, id=reply_id,
                                               created=conversation.messages[2].created)
    assert store.get("no-such-id") is None


def test_hostile_text_round_trips_unchanged(store):
    cid = store.create_conversation({"system_prompt": HOSTILE[0] + HOSTILE[1], "odd": HOSTILE[3]})
    for text in HOSTILE:
        store.add_message(cid, "user", text)
        store.add_message(cid, "assistant", text, metrics={"note": text[:100]})
    contents = [m.content for m in store.get(cid).messages]
    assert contents == [text for text in HOSTILE for _ in range(2)]

    copy = store.import_json(store.export_json(cid))
    assert [m.content for m in store.get(copy).messages] == contents
    assert store.get(copy).setup == store.get(cid).setup
    assert all(text in store.export_markdown(cid) for text in HOSTILE)
    assert {s.id for s in store.list(search="\x00 inside")} == {cid, copy}  # text after a NUL is searched
    assert {s.id for s in store.list(search="drop table")} == {cid, copy}
    with pytest.raises(ValueError, match="unpaired surrogate"):
        store.add_message(cid, "user", "lone \ud800 surrogate")


def test_bad_arguments_are_refused(store):
    cid = store.create_conversation(SETUP)
    with pytest.raises(ValueError, match="role"):
        store.add_message(cid, "tool", "x")
    with pytest.raises(ValueError, match="status"):
        store.add_message(cid, "assistant", "x", status="done")
    with pytest.raises(ValueError, match="column"):
        store.add_message(cid, "assistant", "x", column=True)
    with pytest.raises(ValueError, match="setup must be plain JSON"):
        store.create_conversation({"key": object()})
    with pytest.raises(ValueError, match="kind"):
        store.create_conversation(SETUP, kind="duel")
    with pytest.raises(ConversationNotFound):
        store.add_message("missing", "user", "x")
    assert row_counts(store) == (1, 0)


def test_title_comes_from_the_first_prompt(store):
    cid = store.create_conversation(SETUP)
    assert store.get(cid).title == ""
    store.add_message(cid, "system", "not this")
    store.add_message(cid, "user", "  Explain\nthe difference between   threads and processes in Python, "
                                   "with examples please")
    store.add_message(cid, "user", "second prompt")
    title = store.get(cid).title
    assert title.startswith("Explain the difference between threads and processes")
    assert "\n" not in title and len(title) <= 61 and title.endswith("…")

    short = store.create_conversation(SETUP)
    store.add_message(short, "user", "Hi\x00 there\tyou")
    assert store.get(short).title == "Hi there you"

    named = store.create_conversation(SETUP, title="My title")
    store.add_message(named, "user", "Something else")
    assert store.get(named).title == "My title"


def test_rename(store):
    cid = chat(store, "What is WAL mode?")
    store.rename(cid, "  SQLite\nnotes  ")
    assert store.get(cid).title == "SQLite notes"
    store.rename(cid, "<b>bold</b> " + "x" * 500)
    assert store.get(cid).title.startswith("<b>bold</b> x") and len(store.get(cid).title) == 200
    store.rename(cid, "")
    assert store.get(cid).title == "What is WAL mode?"
    with pytest.raises(ConversationNotFound):
        store.rename("missing", "x")


def test_newest_first_listing(store):
    first = chat(store, "one")
    second = chat(store, "two")
    third = chat(store, "three")
    assert [s.id for s in store.list()] == [third, second, first]
    store.add_message(first, "user", "again")
    listed = store.list()
    assert [s.id for s in listed] == [first, third, second]
    assert (listed[0].title, listed[0].kind, listed[0].message_count) == ("one", "chat", 3)
    assert [s.id for s in store.list(limit=2)] == [first, third]


def test_search_matches_title_and_message_text_literally(store):
    percent = chat(store, "discount of 50% today")
    underscore = chat(store, "rename my_variable")
    titled = chat(store, "nothing special")
    store.rename(titled, "Notes on Ünicode")
    in_reply = store.create_conversation(SETUP)
    store.add_message(in_reply, "user", "tell me")
    store.add_message(in_reply, "assistant", "The PostgreSQL answer")

    def found(text):
        return {s.id for s in store.list(search=text)}

    assert found("50%") == {percent}
    assert found("%") == {percent}
    assert found("_") == {underscore}
    assert found("my_var") == {underscore}
    assert found("y_v") == {underscore} and found("yxv") == set()
    assert found("ünicode") == {titled}
    assert found("postgresql") == {in_reply}
    assert found("REPLY TO") == {percent, underscore, titled}
    assert found("   ") == found("") == {percent, underscore, titled, in_reply}
    assert found("absent") == set()


def test_delete_hides_undelete_restores_purge_removes(store):
    keep = chat(store, "keep")
    gone = chat(store, "gone")
    store.delete(gone)
    assert [s.id for s in store.list()] == [keep]
    assert [s.id for s in store.list(search="gone")] == []
    assert {s.id for s in store.list(include_deleted=True)} == {keep, gone}
    assert store.get(gone).deleted_at is not None

    store.undelete(gone)
    assert [s.id for s in store.list()] == [gone, keep]
    assert store.get(gone).deleted_at is None

    store.delete(gone)
    assert store.purge_deleted(older_than_seconds=3600) == 0  # deleted just now: kept for undo
    assert store.get(gone) is not None
    assert store.purge_deleted(older_than_seconds=0) == 1
    assert store.get(gone) is None
    assert row_counts(store) == (1, 2)  # the purged conversation's messages went with it
    with pytest.raises(ConversationNotFound):
        store.undelete(gone)


def test_partial_reply_keeps_status_and_metrics(store):
    cid = store.create_conversation(SETUP)
    store.add_message(cid, "user", "Write a long story")
    metrics = dict(METRICS, finish_reason="error", error="The connection broke off mid-reply.")
    store.add_message(cid, "assistant", "Once upon a", metrics=metrics, status="partial")
    reply = store.get(cid).messages[-1]
    assert (reply.content, reply.status, reply.metrics) == ("Once upon a", "partial", metrics)


def test_compare_replies_keep_their_column(store):
    setup = {"columns": [dict(SETUP, model="gpt-4o"), dict(SETUP, model="phi-4")]}
    cid = store.create_conversation(setup, kind="compare")
    store.add_message(cid, "user", "Which is faster?")
    store.add_message(cid, "assistant", "A says", column=0, metrics=METRICS)
    store.add_message(cid, "assistant", "B says", column=1, metrics=METRICS)
    assert [(m.content, m.column) for m in store.get(cid).messages] == [
        ("Which is faster?", None), ("A says", 0), ("B says", 1)]
    markdown = store.export_markdown(cid)
    assert "column 2 (phi-4)" in markdown and "## Column 1" in markdown
    assert store.get(store.import_json(store.export_json(cid))).messages[2].column == 1


def test_edit_and_resend_and_regenerate(store):
    cid = store.create_conversation(SETUP)
    first = store.add_message(cid, "user", "first question")
    store.add_message(cid, "assistant", "first answer")
    second = store.add_message(cid, "user", "second question")
    store.add_message(cid, "assistant", "second answer")

    store.truncate_after(cid, second)  # regenerate the last reply
    assert [m.content for m in store.get(cid).messages] == ["first question", "first answer", "second question"]
    store.add_message(cid, "assistant", "second answer, again")

    store.edit_message(cid, first, "better first question")
    assert [m.content for m in store.get(cid).messages][0] == "better first question"
    assert store.get(cid).title == "better first question"  # the derived title follows the edit
    assert len(store.get(cid).messages) == 4

    store.edit_message(cid, first, "best first question", drop_following=True)  # edit-and-resend
    assert [(m.id, m.content) for m in store.get(cid).messages] == [(first, "best first question")]
    newer = store.add_message(cid, "assistant", "new answer")
    assert newer > second  # ids are never reused, so they stay in order

    other = chat(store, "elsewhere")
    with pytest.raises(MessageNotFound):
        store.truncate_after(other, first)  # a message of another conversation
    with pytest.raises(MessageNotFound):
        store.edit_message(cid, 10_000, "x")
    assert [m.content for m in store.get(cid).messages] == ["best first question", "new answer"]


def test_update_setup_does_not_reorder(store):
    older = chat(store, "older")
    newer = chat(store, "newer")
    store.update_setup(older, dict(SETUP, model="phi-4"))
    store.update_setup(older, dict(SETUP, model="phi-4"))
    assert store.get(older).setup["model"] == "phi-4"
    assert [s.id for s in store.list()] == [newer, older]
    with pytest.raises(ConversationNotFound):
        store.update_setup("missing", SETUP)


def test_presets(store):
    assert store.presets() == {}
    store.save_preset("Precise", {"system_prompt": "Be exact.", "temperature": 0.0})
    store.save_preset("creative", {"system_prompt": "Be bold.", "temperature": 1.2})
    assert store.presets() == {"creative": {"system_prompt": "Be bold.", "temperature": 1.2},
                               "Precise": {"system_prompt": "Be exact.", "temperature": 0.0}}
    assert list(store.presets()) == ["creative", "Precise"]
    store.save_preset("Precise", {"system_prompt": "Be very exact.", "temperature": 0.1})
    assert store.presets()["Precise"] == {"system_prompt": "Be very exact.", "temperature": 0.1}
    assert store.delete_preset("creative") is True
    assert store.delete_preset("creative") is False
    store.save_preset("  two\n words ", {})
    assert "two words" in store.presets() and store.delete_preset(" two  words") is True
    assert list(store.presets()) == ["Precise"]
    with pytest.raises(ValueError, match="empty"):
        store.save_preset("  ", {})


def test_survives_reopening(new_store):
    first = new_store()
    cid = chat(first, "remember me")
    first.save_preset("p", {"temperature": 0.2})
    first.delete(chat(first, "deleted"))
    first.close()

    again = new_store()
    assert [s.id for s in again.list()] == [cid]
    assert [m.content for m in again.get(cid).messages] == ["remember me", "reply to remember me"]
    assert again.presets() == {"p": {"temperature": 0.2}}
    assert len(again.list(include_deleted=True)) == 2


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path):
    path = tmp_path / "nested" / "dirs" / "playground.db"
    chat(Store(path), "remember me")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (path.stat().st_mode & 0o777) == 0o600
    assert (path.parent.stat().st_mode & 0o777) == 0o700


def test_a_postgres_password_is_never_shown(postgres_server):
    url = postgres_server.create_database()
    store = Store(url.replace("postgres@", "postgres:hunter2@"))
    try:
        assert "hunter2" not in repr(store) + store.location and "***" in store.location
    finally:
        store.close()
        postgres_server.drop_database(url)


def test_default_path_is_in_the_users_data_directory():
    assert DEFAULT_DB_PATH == Path.home() / ".local/share/model-playground/playground.db"


# -- export and import ----------------------------------------------------------------------------

def test_export_json_then_import_gives_an_equal_conversation(store):
    cid = chat(store, "first", "second")
    store.add_message(cid, "user", "third")
    store.add_message(cid, "assistant", "cut", metrics=dict(METRICS, finish_reason="stopped"), status="partial")
    exported = store.export_json(cid)
    document = json.loads(exported)
    assert (document["format"], document["version"]) == (EXPORT_FORMAT, 2)
    assert set(document) >= {"title", "kind", "setup", "messages"}

    copy = store.import_json(exported)
    assert copy != cid
    assert comparable(store, copy) == comparable(store, cid)
    from_bytes = store.import_json(exported.encode("utf-8"))
    assert from_bytes not in (cid, copy) and comparable(store, from_bytes) == comparable(store, cid)
    assert [s.id for s in store.list()] == [from_bytes, copy, cid]  # an import is the newest activity


def test_import_fills_in_optional_fields(store):
    document = {"format": EXPORT_FORMAT, "version": 1, "title": "", "kind": "chat", "setup": {},
                "messages": [{"role": "user", "content": "hand written\nfile"},
                             {"role": "assistant", "content": "ok"}]}
    cid = store.import_json(json.dumps(document))
    conversation = store.get(cid)
    assert conversation.title == "hand written file"
    assert [(m.status, m.metrics, m.column) for m in conversation.messages] == [("complete", None, None)] * 2
    assert [s.id for s in store.list()] == [cid]


def test_export_markdown_is_readable_and_marks_partial_replies(store):
    cid = store.create_conversation(SETUP)
    store.add_message(cid, "user", "How do I **bold** text?")
    store.add_message(cid, "assistant", "Use two asterisks.", metrics=METRICS)
    store.add_message(cid, "user", "And tables?")
    store.add_message(cid, "assistant", "Tables use pi", status="partial",
                      metrics=dict(METRICS, finish_reason="error", error="The connection broke off."))
    markdown = store.export_markdown(cid)
    assert markdown.startswith("# How do I **bold** text?\n")
    for text in ("gpt-4o-mini (GitHub Models)", "temperature 0.7", "> Be brief.", "### User", "### Assistant",
                 "How do I **bold** text?", "Use two asterisks.", "12 prompt + 40 completion tokens",
                 "finish: stop", "25.0 tokens/s"):
        assert text in markdown, text
    assert markdown.count("Partial reply") == 1
    partial = markdown.index("Partial reply")
    assert markdown.index("Tables use pi") < partial < markdown.index("The connection broke off.")
    with pytest.raises(ConversationNotFound):
        store.export_markdown("missing")


def valid_document() -> dict:
    return {"format": EXPORT_FORMAT, "version": 1, "title": "Fine", "kind": "chat", "setup": dict(SETUP),
            "messages": [{"role": "user", "content": "hi"},
                         {"role": "assistant", "content": "hello", "metrics": METRICS, "status": "complete"}]}


def edited(change) -> str:
    document = valid_document()
    change(document)
    return json.dumps(document)


def set_message(index, key, value):
    return lambda d: d["messages"][index].__setitem__(key, value)


REJECTED = [
    ("not json", "{not json", "not JSON"),
    ("empty", "", "not JSON"),
    ("nan", edited(lambda d: d["setup"].__setitem__("x", float("nan"))), "NaN"),
    ("not an object", "[1, 2]", "holds a list"),
    ("wrong format", edited(lambda d: d.__setitem__("format", "chatgpt-export")), "unknown format"),
    ("no format", edited(lambda d: d.pop("format")), "unknown format"),
    ("future version", edited(lambda d: d.__setitem__("version", 3)), "unknown version 3"),
    ("boolean version", edited(lambda d: d.__setitem__("version", True)), "unknown version"),
    ("messages missing", edited(lambda d: d.pop("messages")), "messages is missing"),
    ("messages not a list", edited(lambda d: d.__setitem__("messages", {"role": "user"})),
     "messages must be a list, got an object"),
    ("message not an object", edited(lambda d: d["messages"].append("hi")), "messages[2] must be an object"),
    ("role 5", edited(set_message(1, "role", 5)),
     "messages[1].role must be user, assistant, system or tool (got 5)"),
    ("role tool", edited(set_message(0, "role", "tool")), "messages[0].tool_call_id is missing"),
    ("content list", edited(set_message(1, "content", ["a"])), "messages[1].content must be a string, got a list"),
    ("content missing", edited(lambda d: d["messages"][0].pop("content")), "messages[0].content is missing"),
    ("metrics string", edited(set_message(1, "metrics", "fast")),
     "messages[1].metrics must be an object or null, got a string"),
    ("status", edited(set_message(1, "status", "done")), "messages[1].status must be complete or partial"),
    ("column", edited(set_message(1, "column", "1")), "messages[1].column must be null or a whole number"),
    ("created", edited(set_message(0, "created", "yesterday")), "messages[0].created must be an ISO 8601"),
    ("kind", edited(lambda d: d.__setitem__("kind", "duel")), "kind must be chat or compare"),
    ("setup list", edited(lambda d: d.__setitem__("setup", [])), "setup must be an object, got a list"),
    ("setup too big", edited(lambda d: d["setup"].__setitem__("system_prompt", "s" * 70_000)),
     "setup is larger than 64 KB"),
    ("title number", edited(lambda d: d.__setitem__("title", 7)), "title must be a string, got a number"),
    ("huge title", edited(lambda d: d.__setitem__("title", "t" * 201)), "title is 201 characters long"),
    ("nul in title", edited(lambda d: d.__setitem__("title", "evil\x00title")), "title contains a NUL"),
    ("too many messages", edited(lambda d: d.__setitem__("messages", [{"role": "user", "content": ""}] * 10_001)),
     "messages has 10,001 items; at most 10,000"),
    ("huge content", edited(set_message(0, "content", "c" * 1_000_001)),
     "messages[0].content is 1,000,001 characters"),
    ("surrogate", edited(set_message(0, "content", "\ud800")), "messages[0].content contains an unpaired surrogate"),
    ("too deep", '{"format": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ("not utf-8", b'{"title": "\xff"}', "not UTF-8"),
]


@pytest.mark.parametrize("text, words", [pytest.param(t, w, id=name) for name, t, w in REJECTED])
def test_import_rejects_bad_files_and_writes_nothing(store, text, words):
    chat(store, "existing")
    before = row_counts(store)
    with pytest.raises(InvalidImport) as caught:
        store.import_json(text)
    assert words in str(caught.value)
    assert row_counts(store) == before
    assert len(store.list(include_deleted=True)) == 1


def test_import_rejects_a_file_over_the_size_limit_before_parsing(store, new_store):
    big = edited(set_message(0, "content", "b" * (5 * 1024 * 1024)))
    with pytest.raises(InvalidImport, match=r"file is larger than 5 MB"):
        store.import_json(big)
    with pytest.raises(InvalidImport, match=r"file is larger than 5 MB"):
        store.import_json(big.encode())
    small = new_store(limits=ImportLimits(max_bytes=100))
    with pytest.raises(InvalidImport, match=r"larger than"):
        small.import_json(edited(lambda d: None))
    assert row_counts(store) == (0, 0)


def test_imported_title_is_one_line_and_markup_stays_text(store):
    cid = store.import_json(edited(lambda d: d.__setitem__("title", "<script>x</script>\n\tnext\x1b[31m")))
    assert store.get(cid).title == "<script>x</script> next[31m"


# -- concurrency ----------------------------------------------------------------------------------

MESSAGES_PER_WRITER = 50


def check_writers(store: Store, own: dict[str, str], shared: str) -> None:
    """Every writer's own conversation holds exactly its messages in order; the shared one holds
    all of them, each writer's in its order."""
    for name, cid in own.items():
        assert [m.content for m in store.get(cid).messages] == [
            f"{name}-{i}" for i in range(MESSAGES_PER_WRITER)]
    contents = [m.content for m in store.get(shared).messages]
    assert len(contents) == len(own) * MESSAGES_PER_WRITER
    for name in own:
        assert [c for c in contents if c.startswith(name + "-")] == [
            f"{name}-{i}" for i in range(MESSAGES_PER_WRITER)]


def test_threads_write_at_once_without_losing_or_mixing(new_store):
    # durable=False only skips the fsync per commit (5 ms here); locking is the same.
    store = new_store(durable=False)
    shared = store.create_conversation(SETUP)
    own: dict[str, str] = {}
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            cid = store.create_conversation({"writer": name})
            own[name] = cid
            start.wait()
            for i in range(MESSAGES_PER_WRITER):
                store.add_message(cid, "user", f"{name}-{i}")
                store.add_message(shared, "assistant", f"{name}-{i}", metrics={"i": i})
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"t{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    check_writers(store, own, shared)
    check_writers(new_store(), own, shared)  # and on disk, seen from a fresh Store


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files through /proc")
def test_connections_of_finished_threads_are_closed(tmp_path):
    """Streamlit runs each script run on a new thread: connections must not pile up."""
    store = Store(tmp_path / "playground.db")
    cid = store.create_conversation(SETUP)

    def open_files() -> int:
        return sum(1 for fd in Path("/proc/self/fd").iterdir()
                   if str(store.path) in str(Path("/proc/self/fd", fd.name).resolve()))

    for i in range(100):
        run = threading.Thread(target=store.add_message, args=(cid, "user", f"run {i}"))
        run.start()
        run.join()
    assert len(store.get(cid).messages) == 100
    assert open_files() <= 2 * 3  # this thread's and the last run's: the database, -wal and -shm


def test_postgres_connections_stay_within_the_pool(postgres_server):
    url = postgres_server.create_database()
    store = Store(url, pool_size=3)
    try:
        cid = store.create_conversation(SETUP)
        for i in range(30):
            run = threading.Thread(target=store.add_message, args=(cid, "user", f"run {i}"))
            run.start()
            run.join()
        assert len(store.get(cid).messages) == 30
        with store._db.read() as tx:
            count = tx.one("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()")[0]
        assert count <= 3
    finally:
        store.close()
        postgres_server.drop_database(url)


WRITER = """
import os, sys, time
from playground.store import Store
location, shared, go, name, count = sys.argv[1:]
store = Store(location)
own = store.create_conversation({"writer": name})
print(own, flush=True)
deadline = time.monotonic() + 60
while not os.path.exists(go) and time.monotonic() < deadline:  # all start writing at once
    time.sleep(0.002)
for i in range(int(count)):
    store.add_message(own, "user", f"{name}-{i}")
    store.add_message(shared, "user", f"{name}-{i}")
store.close()
"""


def test_processes_write_at_once_without_losing_or_mixing(tmp_path, location, store):
    shared = store.create_conversation(SETUP)
    go = tmp_path / "go"
    names = ["p0", "p1", "p2"]
    processes = [subprocess.Popen([sys.executable, "-c", WRITER, str(location), shared, str(go), name,
                                   str(MESSAGES_PER_WRITER)], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for name in names]
    try:
        own = {name: process.stdout.readline().strip() for name, process in zip(names, processes, strict=True)}
        go.touch()
        for process in processes:
            _, stderr = process.communicate(timeout=60)
            assert process.returncode == 0, stderr
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    check_writers(store, own, shared)
    assert len(store.list()) == 4
