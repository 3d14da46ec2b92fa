"""playground.messages: the one rule for a reply's status, the one metrics builder, the wire form."""

from __future__ import annotations

import time

import pytest

from playground.messages import FILTERED, Image, Message, reply_message, reply_status
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
