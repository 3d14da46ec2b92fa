"""A reply drawn while it streams, and the Stop button that ends it."""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import streamlit as st

from components.conversation import render_reply_metrics, without_images
from playground import state
from playground.client import ChatStream, PlaygroundError, Reply

# Redraw at most this often: re-rendering markdown per token makes long replies
# quadratic (reference section 5); 40 ms keeps the text visibly live.
REDRAW_INTERVAL = 0.04
STOP_KEY = "stop_generation"
STREAMING_KEY = "streaming_reply"  # the container a reply streams into, only while it streams


def render_stop_button() -> None:
    """Stop, above the chat input, shown only while a reply streams.

    It belongs to the full page run, not to the chat fragment that streams: Streamlit lets a click
    inside a running fragment wait until the fragment ends, while a click outside it interrupts
    the run at once. So it is always drawn, and CSS hides it while no reply is streaming."""
    st.html(f"<style>body:not(:has(.st-key-{STREAMING_KEY})) .st-key-{STOP_KEY} {{display: none}}</style>")
    st.bottom.button("Stop", icon=":material/stop_circle:", key=STOP_KEY)


def json_check(text: str) -> dict[str, Any]:
    """Whether a reply asked for as JSON parses, and if not, where it breaks."""
    try:
        json.loads(text)
    except ValueError as exc:
        return {"json_valid": False, "json_error": str(exc)}
    return {"json_valid": True}


def reply_metrics(stream: ChatStream, finish_reason: str | None, error: str | None) -> dict[str, Any]:
    return {
        "prompt_tokens": stream.prompt_tokens,
        "completion_tokens": stream.completion_tokens if stream.completion_tokens is not None else stream.chunks,
        "usage_reported": stream.completion_tokens is not None,
        "finish_reason": finish_reason,
        "ttft_s": stream.time_to_first_token,
        "tokens_per_s": stream.tokens_per_second,
        "error": error,
        "logprobs": stream.logprobs or None,
    }


def render_streamed_reply(stream: ChatStream, save: Callable[[dict[str, Any]], None], expect_json: bool = False) -> None:
    """Draw `stream` into an assistant bubble and hand the finished message to `save`.

    `save` runs even when the run is cut short: a click on Stop (or any other widget) makes
    Streamlit raise inside this loop to rerun the script, and the partial reply must survive.
    """
    current = state.generation(st.session_state)
    with current.lock, st.container(key=STREAMING_KEY), st.chat_message("assistant"):
        current.stream = stream
        body = st.empty()
        finish_reason, error = "stopped", None
        try:
            last_drawn = 0.0
            for _ in stream:
                now = time.monotonic()
                if now - last_drawn >= REDRAW_INTERVAL:
                    body.markdown(without_images(stream.text) + " ▌")
                    last_drawn = now
            finish_reason = "stopped" if stream.cancelled else stream.finish_reason
            if finish_reason == "content_filter":
                error = "The service's content filter cut this reply short."
        except PlaygroundError as exc:
            finish_reason, error = "error", exc.message
        finally:
            stream.close()
            current.stream = None
            metrics = reply_metrics(stream, finish_reason, error)
            if expect_json:
                metrics.update(json_check(stream.text))
            message = {"role": "assistant", "content": stream.text, "metrics": metrics}
            save(message)
        body.markdown(without_images(stream.text))
        render_reply_metrics(message["metrics"])


def whole_reply_message(reply: Reply, expect_json: bool = False) -> dict[str, Any]:
    """A non-streamed reply (best_of, n > 1) as a message: the first choice, the rest alongside."""
    metrics: dict[str, Any] = {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "usage_reported": reply.completion_tokens is not None,
        "finish_reason": reply.finish_reason,
        "ttft_s": reply.elapsed,  # nothing arrives before the whole reply
        "tokens_per_s": None,
        "error": None,
        "logprobs": reply.logprobs[0] if reply.logprobs else None,
        "other_choices": list(reply.texts[1:]) or None,
    }
    if expect_json:
        metrics.update(json_check(reply.text))
    return {"role": "assistant", "content": reply.text, "metrics": metrics}
