"""A reply drawn while it streams, with a Stop button."""

from __future__ import annotations

import time
from typing import Any, Callable

import streamlit as st

from components.conversation import render_reply_metrics
from playground import state
from playground.client import ChatStream, PlaygroundError

# Redraw at most this often: re-rendering markdown per token makes long replies
# quadratic (reference section 5); 40 ms keeps the text visibly live.
REDRAW_INTERVAL = 0.04


def reply_metrics(stream: ChatStream, finish_reason: str | None, error: str | None) -> dict[str, Any]:
    return {
        "prompt_tokens": stream.prompt_tokens,
        "completion_tokens": stream.completion_tokens if stream.completion_tokens is not None else stream.chunks,
        "usage_reported": stream.completion_tokens is not None,
        "finish_reason": finish_reason,
        "ttft_s": stream.time_to_first_token,
        "tokens_per_s": stream.tokens_per_second,
        "error": error,
    }


def render_streamed_reply(stream: ChatStream, save: Callable[[dict[str, Any]], None]) -> None:
    """Draw `stream` into an assistant bubble and hand the finished message to `save`.

    `save` runs even when the run is cut short: a click on Stop (or any other widget) makes
    Streamlit raise inside this loop to rerun the script, and the partial reply must survive.
    """
    current = state.generation(st.session_state)
    with current.lock, st.chat_message("assistant"):
        current.stream = stream
        stop_slot = st.empty()
        stop_slot.button("Stop", icon=":material/stop_circle:", key="stop_generation")
        body = st.empty()
        finish_reason, error = "stopped", None
        try:
            last_drawn = 0.0
            for _ in stream:
                now = time.monotonic()
                if now - last_drawn >= REDRAW_INTERVAL:
                    body.markdown(stream.text + " ▌")
                    last_drawn = now
            finish_reason = "stopped" if stream.cancelled else stream.finish_reason
            if finish_reason == "content_filter":
                error = "The service's content filter cut this reply short."
        except PlaygroundError as exc:
            finish_reason, error = "error", exc.message
        finally:
            stream.close()
            current.stream = None
            message = {"role": "assistant", "content": stream.text,
                       "metrics": reply_metrics(stream, finish_reason, error)}
            save(message)
        body.markdown(stream.text)
        stop_slot.empty()
        render_reply_metrics(message["metrics"])
