"""Messages that hold more than text: tool calls, tool results and images; search by Unicode
case folding; retention of deleted conversations."""

from __future__ import annotations

import base64
import json
import os

import pytest

from playground.messages import Image
from playground.store import (
    DELETED_RETENTION_SECONDS,
    EXPORT_FORMAT,
    ConversationNotFound,
    InvalidImport,
    Store,
)

SETUP = {"model": "gpt-4o-mini"}
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(300)
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + os.urandom(50)
GIF = b"GIF89a" + os.urandom(20)
CALLS = [{"id": "call_1", "type": "function",
          "function": {"name": "get_weather", "arguments": "{\"city\": \"Zürich\"}"}}]


def image(data=PNG, mime="image/png", detail="auto", name="chart.png"):
    return {"mime": mime, "data": data, "detail": detail, "name": name}


def as_images(images: list[dict]) -> tuple[Image, ...]:
    """What the store gives back for the images it was given."""
    return tuple(Image(**i) for i in images)


def attachment_count(store: Store) -> int:
    with store._db.read() as tx:
        return tx.one("SELECT COUNT(*) FROM attachments")[0]


def test_images_round_trip_through_get_export_and_import(store):
    cid = store.create_conversation(SETUP)
    images = [image(), image(JPEG, "image/jpeg", "high", None), image(WEBP, "image/webp", None, "w.webp"),
              image(GIF, "image/gif", "low", "g.gif")]
    mid = store.add_message(cid, "user", "What is in these?", images=images)
    store.add_message(cid, "assistant", "A chart.")
    stored = store.get(cid).messages
    assert stored[0].id == mid and stored[0].images == as_images(images) and stored[1].images == ()

    document = json.loads(store.export_json(cid))
    assert document["messages"][0]["images"][0] == {
        "url": "data:image/png;base64," + base64.b64encode(PNG).decode(), "detail": "auto", "name": "chart.png"}
    copy = store.import_json(json.dumps(document))
    assert store.get(copy).messages[0].images == as_images(images)

    markdown = store.export_markdown(cid)
    assert "[image: chart.png, image/png, 2 KB]" in markdown
    assert "[image: unnamed, image/jpeg, 304 bytes]" in markdown


def test_purge_removes_images_with_their_messages(store):
    gone = store.create_conversation(SETUP)
    store.add_message(gone, "user", "look", images=[image(), image()])
    kept = store.create_conversation(SETUP)
    store.add_message(kept, "user", "mine", images=[image()])
    store.delete(gone)
    assert store.purge_deleted(0) == 1
    assert attachment_count(store) == 1 and store.get(kept).messages[0].images == as_images([image()])


def test_edit_and_truncate_keep_the_kept_messages_images(store):
    cid = store.create_conversation(SETUP)
    first = store.add_message(cid, "user", "describe", images=[image()])
    store.add_message(cid, "assistant", "a chart")
    store.add_message(cid, "user", "and this?", images=[image(GIF, "image/gif")])
    store.add_message(cid, "assistant", "a gif")
    store.truncate_after(cid, first + 1)
    assert [len(m.images) for m in store.get(cid).messages] == [1, 0]
    store.edit_message(cid, first, "describe, briefly", drop_following=True)
    (message,) = store.get(cid).messages
    assert (message.content, message.images) == ("describe, briefly", as_images([image()]))
    assert attachment_count(store) == 1


def test_images_are_checked_and_capped(new_store):
    store = new_store(max_image_bytes=1000)
    cid = store.create_conversation(SETUP)
    with pytest.raises(ValueError, match=r"images\[0\] is 2,008 bytes; the limit is 1,000 bytes per image"):
        store.add_message(cid, "user", "big", images=[image()])
    small = b"\x89PNG\r\n\x1a\n" + b"x" * 992
    assert store.add_message(cid, "user", "exactly at the cap", images=[image(small)])
    bad = [
        ({"mime": "image/svg+xml", "data": b"<svg/>"}, r"images\[0\]\.mime must be one of image/png"),
        (image(b"GIF89a..."), r"images\[0\]\.data is not a PNG image"),
        (image(b"RIFF\x00\x00\x00\x00AVI ", "image/webp"), "not a WEBP image"),
        (image("text"), r"\.data must be bytes"),
        (image(small, detail="ultra"), r"\.detail must be auto, low, high or None"),
        (image(small, name="a\x00b"), r"\.name must be None or a string"),
    ]
    for wrong, words in bad:
        with pytest.raises(ValueError, match=words):
            store.add_message(cid, "user", "x", images=[wrong])
    assert len(store.get(cid).messages) == 1 and attachment_count(store) == 1


def test_default_image_cap_is_5_mb(store):
    cid = store.create_conversation(SETUP)
    with pytest.raises(ValueError, match="the limit is 5 MB per image"):
        store.add_message(cid, "user", "huge", images=[image(b"\x89PNG\r\n\x1a\n" + bytes(5 * 1024 * 1024))])


def test_tool_calls_and_results_round_trip(store):
    cid = store.create_conversation(SETUP)
    store.add_message(cid, "user", "Weather in Zürich?")
    store.add_message(cid, "assistant", "", tool_calls=CALLS)
    store.add_message(cid, "tool", "{\"temp_c\": 21}", tool_call_id="call_1")
    store.add_message(cid, "assistant", "21 °C.")
    messages = store.get(cid).messages
    assert [(m.role, m.tool_calls, m.tool_call_id) for m in messages] == [
        ("user", (), None), ("assistant", tuple(CALLS), None), ("tool", (), "call_1"), ("assistant", (), None)]

    exported = store.export_json(cid)
    copy = store.get(store.import_json(exported))
    assert [(m.role, m.content, m.tool_calls, m.tool_call_id) for m in copy.messages] == [
        (m.role, m.content, m.tool_calls, m.tool_call_id) for m in messages]
    markdown = store.export_markdown(cid)
    assert "**Tool call** `get_weather` (id `call_1`)" in markdown
    assert '"city": "Zürich"' in markdown and "### Tool · result of call `call_1`" in markdown


def test_tool_fields_are_checked(store):
    cid = store.create_conversation(SETUP)
    with pytest.raises(ValueError, match="role tool needs tool_call_id"):
        store.add_message(cid, "tool", "42")
    with pytest.raises(ValueError, match="only a message of role tool has a tool_call_id"):
        store.add_message(cid, "user", "x", tool_call_id="call_1")
    with pytest.raises(ValueError, match="only an assistant message has tool_calls"):
        store.add_message(cid, "user", "x", tool_calls=CALLS)
    with pytest.raises(ValueError, match=r"tool_calls\[0\]\.function\.arguments must be a string"):
        store.add_message(cid, "assistant", "", tool_calls=[{"id": "c", "type": "function",
                                                             "function": {"name": "f", "arguments": {}}}])
    with pytest.raises(ValueError, match=r"tool_calls\[0\]\.type must be \"function\""):
        store.add_message(cid, "assistant", "", tool_calls=[{"id": "c", "function": {"name": "f", "arguments": ""}}])
    assert store.get(cid).messages == []


def document(*messages) -> str:
    return json.dumps({"format": EXPORT_FORMAT, "version": 2, "title": "t", "kind": "chat", "setup": {},
                       "messages": list(messages)})


def png_url(data=PNG, mime="image/png"):
    return f"data:{mime};base64," + base64.b64encode(data).decode()


@pytest.mark.parametrize("message, words", [
    ({"role": "user", "content": "", "images": [{"url": "https://example.com/cat.png"}]},
     "messages[0].images[0].url is not a data: URL of a PNG, JPEG, WEBP or GIF image"),
    ({"role": "user", "content": "", "images": [{"url": "data:image/svg+xml;base64,PHN2Zy8+"}]},
     "messages[0].images[0].url is not a data: URL of a PNG, JPEG, WEBP or GIF image"),
    ({"role": "user", "content": "", "images": [{"url": "data:image/png;base64,***"}]},
     "messages[0].images[0].url is not valid base64"),
    ({"role": "user", "content": "", "images": [{"url": png_url(GIF)}]},
     "messages[0].images[0].data is not a PNG image"),
    ({"role": "user", "content": "", "images": [{"url": png_url(), "detail": "max"}]},
     "messages[0].images[0].detail must be auto, low, high or None"),
    ({"role": "user", "content": "", "images": "cat.png"}, "messages[0].images must be a list, got a string"),
    ({"role": "user", "content": "", "images": ["cat.png"]}, "messages[0].images[0] must be an object"),
    ({"role": "tool", "content": "42", "tool_call_id": 7}, "messages[0].tool_call_id must be a non-empty string"),
    ({"role": "user", "content": "", "tool_call_id": "c"}, "messages[0].tool_call_id is only allowed on a tool"),
    ({"role": "user", "content": "", "tool_calls": []}, "messages[0].tool_calls is only allowed on an assistant"),
    ({"role": "assistant", "content": "", "tool_calls": [{"id": "c"}]},
     "messages[0].tool_calls[0].type must be \"function\""),
])
def test_import_checks_tool_fields_and_images(store, message, words):
    with pytest.raises(InvalidImport) as caught:
        store.import_json(document(message))
    assert words in str(caught.value)
    assert store.list(include_deleted=True) == []


def test_import_caps_images_before_decoding_them(new_store):
    store = new_store(max_image_bytes=1000)
    with pytest.raises(InvalidImport, match=r"messages\[1\]\.images\[0\] is larger than"):
        store.import_json(document({"role": "user", "content": ""},
                                   {"role": "user", "content": "", "images": [{"url": png_url()}]}))
    assert store.list() == []


def test_search_folds_case_as_python_does(store):
    strasse = store.create_conversation(SETUP)
    store.add_message(strasse, "user", "Die Straße ist lang")
    ligature = store.create_conversation(SETUP)
    store.add_message(ligature, "user", "ok")
    store.add_message(ligature, "assistant", "the ﬁle is ready")
    greek = store.create_conversation(SETUP, title="ΣΊΣΥΦΟΣ")

    def found(text):
        return {s.id for s in store.list(search=text)}

    assert found("STRASSE") == found("straße") == {strasse}
    assert found("FILE") == found("ﬁle") == {ligature}
    assert found("σίσυφοσ") == found("ΣΊΣΥΦΟΣ") == {greek}
    assert found("ss") == {strasse}


def test_deleted_conversations_can_be_undone_until_they_expire(store):
    assert DELETED_RETENTION_SECONDS == 30 * 24 * 3600
    old, recent = store.create_conversation(SETUP), store.create_conversation(SETUP)
    store.delete(old)
    store.delete(recent)
    with store._db.write() as tx:  # deleted 30 days and a minute ago
        tx.run("UPDATE conversations SET deleted_at = deleted_at - ? WHERE id = ?",
               (DELETED_RETENTION_SECONDS + 60, old))
    assert store.purge_expired() == 1
    assert store.get(old) is None
    store.undelete(recent)
    assert [s.id for s in store.list()] == [recent]
    with pytest.raises(ConversationNotFound):
        store.undelete(old)
