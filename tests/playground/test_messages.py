"""playground.messages: the one rule for a reply's status, the one metrics builder, the wire form
of text, images and tool messages, and image type detection."""

from __future__ import annotations

import base64
import struct
import time
import zlib

import pytest

from playground.messages import (
    FILTERED,
    MB,
    Image,
    ImageRejected,
    Message,
    image_type,
    load_image,
    reply_message,
    reply_status,
    wire,
)
from playground.transports.base import ChatStream, Delta
from playground.types import Reply


def stream_of(*deltas: Delta) -> ChatStream:
    stream = ChatStream(iter(deltas), started=time.monotonic())
    list(stream)
    return stream


@pytest.mark.parametrize(("finish_reason", "error", "status"), [
    ("stop", None, "complete"), ("length", None, "complete"), ("tool_calls", None, "complete"),
    ("content_filter", None, "partial"), ("stopped", None, "partial"), ("error", "It broke.", "partial"),
    ("stop", "Saved, but the store said no.", "partial"),
])
def test_one_status_rule_for_every_reply(finish_reason, error, status):
    assert reply_status(finish_reason, error) == status


def test_a_filtered_stream_is_partial_and_says_why_in_chat_and_compare_alike():
    stream = stream_of(Delta(content="Once upon"), Delta(finish_reason="content_filter", prompt_tokens=3,
                                                          completion_tokens=2))
    for column in (None, 1):  # Chat replies have no column; Compare's have one
        message = reply_message(stream, stream.finish_reason, column=column)
        assert (message.content, message.status, message.column) == ("Once upon", "partial", column)
        assert message.metrics["error"] == FILTERED and message.metrics["finish_reason"] == "content_filter"
        assert (message.metrics["prompt_tokens"], message.metrics["completion_tokens"]) == (3, 2)


def test_metrics_of_a_whole_reply_keep_the_other_choices_and_check_json():
    reply = Reply(texts=('{"a": 1}', "not json"), finish_reasons=("stop", "stop"), logprobs=(None, None),
                  prompt_tokens=5, completion_tokens=9, elapsed=0.5)
    message = reply_message(reply, reply.finish_reason, expect_json=True, label="Model A")
    assert message.status == "complete" and message.content == '{"a": 1}'
    assert message.metrics["other_choices"] == ["not json"] and message.metrics["json_valid"] is True
    assert message.metrics["ttft_s"] == 0.5 and message.metrics["model"] == "Model A"


def test_an_error_before_the_first_byte_is_an_empty_partial_reply_that_is_not_sent_back():
    message = reply_message(None, "error", "Cannot reach it.")
    assert (message.content, message.status, message.metrics["error"]) == ("", "partial", "Cannot reach it.")
    assert not message.sendable


def test_the_wire_form_holds_text_image_parts_tool_calls_and_tool_results():
    png = Image("image/png", b"\x89PNG\r\n\x1a\nfake", detail="low")
    assert Message("user", "What is this?", images=(png,)).wire() == {"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgpmYWtl", "detail": "low"}}]}
    call = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}
    assert Message("assistant", tool_calls=(call,)).wire() == {"role": "assistant", "content": None,
                                                               "tool_calls": [call]}
    assert Message("tool", "12 C", tool_call_id="call_1").wire() == {"role": "tool", "content": "12 C",
                                                                      "tool_call_id": "call_1"}



def png(width: int = 2, height: int = 2) -> bytes:
    """A real, decodable PNG (what a browser or PIL writes)."""
    def block(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + block(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + block(b"IDAT", zlib.compress(raw)) + block(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L" + b"\x00" * 14


@pytest.mark.parametrize("data, mime", [(png(), "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"),
                                        (WEBP, "image/webp"), (b"GIF87a...", "image/gif")])
def test_the_type_comes_from_the_bytes(data, mime):
    assert image_type(data) == mime


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7", b"RIFF\x00\x00\x00\x00WAVEfmt ", b"<svg></svg>"])
def test_anything_else_is_not_an_image(data):
    assert image_type(data) is None


def test_a_file_named_png_holding_text_is_refused_by_name_with_the_reason():
    with pytest.raises(ImageRejected, match=r"notes\.png is not a PNG, JPEG, WebP or GIF image"):
        load_image("notes.png", b"just text", max_bytes=MB)


def test_the_real_type_wins_over_the_name():
    image = load_image("photo.gif", png(), max_bytes=MB, detail="low")
    assert (image.mime, image.name, image.detail) == ("image/png", "photo.gif", "low")


def test_a_file_over_the_cap_is_refused_with_both_sizes():
    with pytest.raises(ImageRejected, match=r"big\.png is 5\.0 MB: images may be at most 4\.0 MB each"):
        load_image("big.png", png() + b"\x00" * (5 * MB - len(png())), max_bytes=4 * MB)


def test_a_prompt_with_images_is_sent_as_text_and_image_url_parts():
    data = png()
    message = Message("user", "What is this?", images=(Image("image/png", data, "high", "a.png"),
                                                        Image("image/jpeg", JPEG, None, "b.jpg")))
    assert message.wire() == {"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(data).decode(),
                                            "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()}},
    ]}


def test_an_image_without_text_is_only_its_part():
    assert Message("user", "", images=(Image("image/gif", GIF, "auto"),)).wire()["content"] == [
        {"type": "image_url", "image_url": {"url": "data:image/gif;base64," + base64.b64encode(GIF).decode(),
                                            "detail": "auto"}}]


def test_images_are_stored_with_their_bytes_type_detail_and_name():
    stored = Message("user", "hi", images=(Image("image/png", b"\x89PNG", "low", "x.png"),)).stored()
    assert stored["images"] == [{"mime": "image/png", "data": b"\x89PNG", "detail": "low", "name": "x.png"}]


CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}


def test_a_tool_call_reply_and_its_result_are_sent_as_the_api_expects():
    reply = Message("assistant", "", tool_calls=(CALL,))
    result = Message("tool", '{"temp": 3}', tool_call_id="call_1")
    assert wire([Message("user", "Weather?"), reply, result]) == [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "content": '{"temp": 3}', "tool_call_id": "call_1"},
    ]
    assert reply.stored()["tool_calls"] == [CALL] and result.stored()["tool_call_id"] == "call_1"


def test_a_streamed_tool_call_is_reassembled_and_the_reply_is_complete():
    stream = ChatStream(iter([
        Delta(tool_calls=({"index": 0, "id": "call_1", "name": "get_weather", "arguments": ""},)),
        Delta(tool_calls=({"index": 0, "arguments": '{"city": '},)),
        Delta(tool_calls=({"index": 0, "arguments": '"Oslo"}'},), finish_reason="tool_calls"),
    ]), started=0.0)
    for _ in stream:
        pass
    message = reply_message(stream, stream.finish_reason)
    assert message.tool_calls == (CALL,)
    assert message.status == "complete" and message.metrics["finish_reason"] == "tool_calls"
    assert message.wire() == {"role": "assistant", "content": None, "tool_calls": [CALL]}
