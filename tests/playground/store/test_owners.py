"""Owners: each sees and changes only their own conversations and presets; someone else's
conversation is indistinguishable from a missing one."""

from __future__ import annotations

import json

import pytest

from playground.store import LOCAL_OWNER, ConversationNotFound, OwnerStore, Store

SETUP = {"model": "gpt-4o-mini", "system_prompt": "Be brief."}


def test_one_owner_cannot_see_or_change_anothers(store):
    alice, bob = store.scoped("alice"), store.scoped("bob")
    bobs = bob.create_conversation(SETUP)
    first = bob.add_message(bobs, "user", "Bob's secret plan")
    bob.add_message(bobs, "assistant", "noted")
    mine = alice.create_conversation(SETUP)
    alice.add_message(mine, "user", "Alice's question")

    assert alice.get(bobs) is None  # as for a missing id: no title, no existence
    assert [s.id for s in alice.list(include_deleted=True)] == [mine]
    assert alice.list(search="secret") == []
    assert [s.id for s in bob.list(search="secret")] == [bobs]

    writes = [
        lambda cid: alice.add_message(cid, "user", "mine now"),
        lambda cid: alice.edit_message(cid, first, "changed"),
        lambda cid: alice.edit_message(cid, first, "changed", drop_following=True),
        lambda cid: alice.truncate_after(cid, first),
        lambda cid: alice.update_setup(cid, {"model": "other"}),
        lambda cid: alice.rename(cid, "stolen"),
        lambda cid: alice.delete(cid),
        lambda cid: alice.undelete(cid),
        lambda cid: alice.export_json(cid),
        lambda cid: alice.export_markdown(cid),
    ]
    for write in writes:
        with pytest.raises(ConversationNotFound) as others:
            write(bobs)
        with pytest.raises(ConversationNotFound) as missing:
            write("no-such-id")
        assert str(others.value) == str(missing.value).replace("no-such-id", bobs)

    kept = bob.get(bobs)
    assert (kept.title, kept.setup, kept.deleted_at) == ("Bob's secret plan", SETUP, None)
    assert [m.content for m in kept.messages] == ["Bob's secret plan", "noted"]
    assert store.get(bobs) is None and store.list() == []  # the local owner is an owner like any other


def test_an_import_belongs_to_the_importer(store):
    bob = store.scoped("bob")
    original = bob.create_conversation(SETUP)
    bob.add_message(original, "user", "hello")
    copy = store.scoped("alice").import_json(bob.export_json(original))
    assert [s.id for s in store.scoped("alice").list()] == [copy]
    assert [s.id for s in bob.list()] == [original]
    assert bob.get(copy) is None
    assert "owner" not in json.loads(bob.export_json(original))  # an export does not say whose it was


def test_presets_are_per_owner(store):
    alice, bob = store.scoped("alice"), store.scoped("bob")
    alice.save_preset("fast", {"temperature": 0.2})
    bob.save_preset("fast", {"temperature": 1.0})
    store.save_preset("fast", {"temperature": 0.5})
    assert alice.presets() == {"fast": {"temperature": 0.2}}
    assert bob.presets() == {"fast": {"temperature": 1.0}}
    assert store.presets() == {"fast": {"temperature": 0.5}}
    assert alice.delete_preset("fast") is True
    assert alice.presets() == {} and bob.presets() == {"fast": {"temperature": 1.0}}
    assert alice.delete_preset("fast") is False


def test_the_store_itself_is_the_local_owners(store):
    assert store.owner == LOCAL_OWNER and store.scoped(LOCAL_OWNER) is store
    cid = store.create_conversation(SETUP)
    assert store.scoped(LOCAL_OWNER).get(cid) is not None and store.scoped("alice").get(cid) is None
    assert isinstance(store.scoped("alice"), OwnerStore) and not isinstance(store.scoped("alice"), Store)
    with pytest.raises(ValueError, match="owner"):
        store.scoped("")
    with pytest.raises(ValueError, match="NUL"):
        store.scoped("evil\x00")


def test_purge_covers_every_owner(store):
    alice, bob = store.scoped("alice"), store.scoped("bob")
    for owner in (alice, bob):
        gone = owner.create_conversation(SETUP)
        owner.delete(gone)
        owner.create_conversation(SETUP)
    assert store.purge_deleted(0) == 2
    assert len(alice.list(include_deleted=True)) == len(bob.list(include_deleted=True)) == 1
