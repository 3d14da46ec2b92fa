"""The per-user storage budget: what a user adds is refused past it with a message saying how
much is used and what to do, a reply never is, the count is kept inside each write so replicas
count together, and it always equals a count from scratch. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import threading

import pytest

from playground.client import Reply
from playground.evaluate import RunStore
from playground.evaluate.engine import ModelTarget, run_evaluation
from playground.promptfile import loads
from playground.store import SCHEMA_VERSION, StorageFull, Store, usage

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
SETUP = {"model": "gpt-4o-mini", "system_prompt": "Be brief."}


def counted(store: Store) -> dict[str, int]:
    with store.database.read() as tx:
        return {owner: int(total) for owner, total in tx.all("SELECT owner, bytes FROM storage_used") if total}


def recounted(store: Store) -> dict[str, int]:
    with store.database.read() as tx:
        return usage.recount(tx)


def message_count(store: Store) -> int:
    with store.database.read() as tx:
        return tx.one_row("SELECT COUNT(*) FROM messages")[0]


def test_what_the_user_adds_past_the_budget_is_refused_and_nothing_of_it_saved(new_store):
    store = new_store(storage_budget=2000)
    alice = store.scoped("alice")
    cid = alice.create_conversation(SETUP)
    alice.add_message(cid, "user", "x" * 1000)
    before = (alice.storage_used(), message_count(store), alice.get(cid).updated)

    with pytest.raises(StorageFull) as refused:
        alice.add_message(cid, "user", "y" * 1000)
    assert str(refused.value).startswith("Your saved conversations take 1.2 KB of the 2 KB each user may keep on "
                                         "this deployment, and this needs 1.1 KB more.")
    assert "Delete conversations you no longer need" in str(refused.value)
    assert (alice.storage_used(), message_count(store), alice.get(cid).updated) == before
    with pytest.raises(StorageFull):
        alice.create_conversation({"system_prompt": "z" * 2000})
    with pytest.raises(StorageFull):
        alice.save_preset("long", {"system_prompt": "z" * 2000})
    with pytest.raises(StorageFull):
        alice.import_json(json.dumps({"format": "model-playground.conversation", "version": 2, "title": "",
                                      "kind": "chat", "setup": {}, "messages": [{"role": "user",
                                                                                   "content": "w" * 1500}]}))
    assert len(alice.list()) == 1 and alice.presets() == {}

    # A reply is never refused: the model's work is kept, and the next prompt is refused instead.
    alice.add_message(cid, "assistant", "r" * 3000)
    assert alice.storage_used() > 2000 and alice.storage_left() == 0
    with pytest.raises(StorageFull):
        alice.add_message(cid, "user", "?")
    bob = store.scoped("bob")  # a budget per user: another user is not affected
    bob.add_message(bob.create_conversation(SETUP), "user", "hello")

    # Freeing: regenerating drops the reply, a purge removes deleted conversations.
    first = alice.get(cid).messages[0].id
    alice.truncate_after(cid, first)
    alice.add_message(cid, "user", "fits again")
    alice.delete(cid)
    empty = alice.create_conversation(SETUP)
    with pytest.raises(StorageFull):  # a deleted conversation is still stored, so it still counts
        alice.add_message(empty, "user", "y" * 1000)
    store.purge_deleted(0)
    assert alice.storage_used() == usage.ROW_BYTES + len(json.dumps(SETUP, separators=(",", ":")))
    alice.add_message(empty, "user", "y" * 1000)


def test_no_budget_counts_all_the_same(new_store):
    store = new_store()
    cid = store.create_conversation(SETUP)
    store.add_message(cid, "user", "x" * 100_000)
    assert store.storage_left() is None and store.storage_used() > 100_000
    assert counted(store) == recounted(store)


def test_the_count_stays_equal_to_a_count_from_scratch_through_every_kind_of_write(new_store):
    store = new_store()
    alice, bob = store.scoped("alice"), store.scoped("bob")
    cid = alice.create_conversation(SETUP)
    first = alice.add_message(cid, "user", "Look: é, 🧪, nul \x00", images=[
        {"mime": "image/png", "data": PNG, "detail": "auto", "name": "a.png"}])
    alice.add_message(cid, "assistant", "", metrics={"completion_tokens": 3, "note": "ü"}, tool_calls=[
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}])
    alice.add_message(cid, "tool", "42", tool_call_id="c1")
    alice.add_message(cid, "assistant", "The answer is 42.")
    alice.update_setup(cid, dict(SETUP, system_prompt="Much longer than before, with ß"))
    alice.edit_message(cid, first, "Shorter ✓")
    assert counted(store) == recounted(store)
    alice.edit_message(cid, first, "Look again", drop_following=True)
    alice.add_message(cid, "assistant", "x" * 5000)
    alice.truncate_after(cid, first)
    alice.save_preset("p", {"system_prompt": "one"})
    alice.save_preset("p", {"system_prompt": "a longer one"})
    alice.save_preset("q", {})
    alice.delete_preset("q")
    copy = bob.import_json(alice.export_json(cid))
    bob.delete(copy)
    gone = bob.create_conversation(SETUP)
    bob.add_message(gone, "user", "soon purged", images=[{"mime": "image/png", "data": PNG}])
    runs = RunStore(store)
    run = run_evaluation(loads(PROMPT_FILE), [ModelTarget("a", Echo(), "m-a")], prompt_text=PROMPT_FILE)
    kept, dropped = runs.save(run, "alice"), runs.save(run, "bob")
    assert counted(store) == recounted(store) and set(counted(store)) == {"alice", "bob"}
    bob.delete(gone)
    store.purge_deleted(0)
    assert runs.delete(dropped, "bob") and kept
    assert counted(store) == recounted(store) and "bob" not in counted(store)
    assert alice.storage_used() > len(PNG)  # the image counts by its bytes


PROMPT_FILE = """name: Numbers
model: m
messages:
  - role: user
    content: 'Say {{n}} ü'
testData:
  - n: 1
  - n: 2
"""


class Echo:
    def complete_chat(self, messages, params, model=None):
        return Reply(texts=(messages[-1]["content"],), finish_reasons=("stop",), logprobs=(None,), prompt_tokens=3,
                     completion_tokens=2, elapsed=0.02)


def test_replicas_writing_at_once_cannot_pass_the_budget_together(new_store):
    """Four replicas (their own Store, their own connections) race for the last bytes of one user."""
    budget = 20_000
    replicas = [new_store(storage_budget=budget, durable=False) for _ in range(4)]
    cid = replicas[0].scoped("alice").create_conversation(SETUP)
    start = threading.Barrier(len(replicas))
    saved, refused, errors = [], [], []

    def write(store: Store) -> None:
        try:
            start.wait()
            for _ in range(15):
                try:
                    saved.append(store.scoped("alice").add_message(cid, "user", "x" * 500))
                except StorageFull:
                    refused.append(1)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(store,)) for store in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    store = replicas[0]
    assert not errors and refused
    assert store.scoped("alice").storage_used() <= budget
    assert len(store.scoped("alice").get(cid).messages) == len(saved) == (budget - 100 - len(json.dumps(SETUP))) // 600
    assert counted(store) == recounted(store)


def test_an_older_database_is_counted_when_it_migrates(new_store):
    store = new_store()
    alice = store.scoped("alice")
    cid = alice.create_conversation(SETUP)
    alice.add_message(cid, "user", "saved before the budget existed", images=[{"mime": "image/png", "data": PNG}])
    alice.save_preset("p", {"temperature": 0.2})
    expected = counted(store)
    with store.database.write() as tx:  # back to schema 6: no count yet
        tx.run("DROP TABLE storage_used")
        store.database.set_schema_version(tx, 6)
    assert SCHEMA_VERSION >= 7
    again = new_store()
    assert counted(again) == expected == recounted(again) and expected["alice"] > len(PNG)
