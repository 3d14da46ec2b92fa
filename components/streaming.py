"""A reply drawn while it streams, and the Stop button that ends it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from components.conversation import render_message_extras, without_images
from components.plain_text import plain
from playground import state as keys
from playground.errors import PlaygroundError
from playground.messages import Message
from playground.transports.base import ChatStream

# Redraw at most this often: re-rendering markdown per token makes long replies
# quadratic (reference section 5); 40 ms keeps the text visibly live.
REDRAW_INTERVAL = 0.04


def render_stop_button() -> None:
    """Stop, above the chat input, shown only while a reply streams.

    It belongs to the full page run, not to the chat fragment that streams: Streamlit lets a click
    inside a running fragment wait until the fragment ends, while a click outside it interrupts
    the run at once. So it is always drawn, and CSS hides it while no reply is streaming."""
    st.html(f"<style>body:not(:has(.st-key-{keys.STREAMING})) .st-key-{keys.STOP} {{display: none}}</style>")
    st.bottom.button("Stop", icon=":material/stop_circle:", key=keys.STOP)


def live_markdown(stream: ChatStream) -> str:
    """The reply so far with a cursor; a tool call (which has no text) shows as it grows."""
    parts = [without_images(stream.text)] if stream.text else []
    parts += [f":material/build: Calling **{plain(call['function']['name'])}** "
              f"({len(call['function']['arguments'])} characters of arguments so far)"
              for call in stream.tool_calls]
    return "\n\n".join(parts) + " ▌"


def render_streamed_reply(stream: ChatStream, generation: Any,
                          on_done: Callable[[ChatStream, str | None, str | None], Message]) -> None:
    """Draw `stream` into an assistant bubble, then hand it to `on_done` with how it ended
    (finish reason, error) and draw the finished message it returns.

    `on_done` runs even when the run is cut short: a click on Stop (or any other widget) makes
    Streamlit raise inside this loop to rerun the script, and the partial reply must survive.
    `generation` (playground.chat) lets the next run wait until it has."""
    with generation.lock:
        generation.stream = stream
        finish_reason, error = "stopped", None
        # The bubble is a chat message where the finished reply will be, and the finished text
        # replaces the streamed one in place. A block put where text was arrives empty, so the
        # browser would draw the page without that text for a moment; and a block that replaces a
        # block of another type in the same send makes it fail with "Cannot set a node at a delta
        # path" (Streamlit's send queue folds a later delta into an earlier one's place).
        with st.chat_message("assistant"):
            body, extras = st.empty(), st.empty()
        streaming = st.empty()
        with streaming.container(key=keys.STREAMING):  # while it is on the page, Stop shows
            st.html("<span></span>")  # an empty container is not drawn at all
        try:
            last_drawn = 0.0
            for _ in stream:
                now = time.monotonic()
                if now - last_drawn >= REDRAW_INTERVAL:
                    body.markdown(live_markdown(stream))
                    last_drawn = now
            finish_reason = "stopped" if stream.cancelled else stream.finish_reason
        except PlaygroundError as exc:
            finish_reason, error = "error", exc.message
        finally:
            stream.close()
            generation.stream = None
            message = on_done(stream, finish_reason, error)
        streaming.empty()
        if message.content:
            body.markdown(without_images(message.content))
        else:
            body.empty()
        with extras.container():
            render_message_extras(message)
