"""The conversation: past messages, the metrics line under each reply, and per-message actions."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import streamlit as st

from components.lazy import lazy_popover
from components.plain_text import plain
from components.tools import render_tool_calls
from playground import state as keys
from playground.messages import Message, metrics_line


def without_images(text: str) -> str:
    """Message text as markdown that fetches nothing by itself. An image (`![alt](url)`, or any
    reference form) makes the browser request its URL at once, so a prompt-injected reply could
    leak the conversation to any host. A zero-width space after every `!` before `[` means no
    image syntax survives, in any form, while the text looks the same (copy uses the original)."""
    return text.replace("![", "!\u200b[")


def render_reply_metrics(metrics: dict[str, Any]) -> None:
    # The finish reason and errors are the server's words (and may come from an imported file).
    st.caption(plain(metrics_line(metrics)))
    if metrics.get("error"):
        st.warning(plain(metrics["error"]), icon=":material/warning:")
    if metrics.get("json_error"):
        st.caption(f"JSON problem: {plain(metrics['json_error'])}")
    if isinstance(metrics.get("logprobs"), list):
        render_token_probabilities(metrics["logprobs"])
    if isinstance(metrics.get("other_choices"), list):
        with st.expander(f"{len(metrics['other_choices'])} more choices (n)", icon=":material/stacks:"):
            for number, text in enumerate(metrics["other_choices"], start=2):
                st.markdown(f"**Choice {number}**")
                st.markdown(without_images(str(text)))


def render_message(message: Message, actions: Callable[[], None] | None = None,
                   tools: Sequence[Mapping[str, Any]] = (), pending: Collection[str] = (),
                   on_tool_result: Callable[[str, str], None] | None = None) -> None:
    """One message. A reply's tool calls are checked against `tools` (the functions defined now);
    a call whose id is in `pending` gets a box for its result, sent with `on_tool_result`."""
    with st.chat_message("assistant" if message.role == "tool" else message.role,
                         avatar=":material/build:" if message.role == "tool" else None):
        if message.role == "tool":
            st.caption(f"Tool result for call {plain(message.tool_call_id)}")  # the id is the model's
            st.code(message.content, language=None, wrap_lines=True)
        elif message.content:
            st.markdown(without_images(message.content))
        render_message_extras(message, actions, tools, pending, on_tool_result)


def render_message_extras(message: Message, actions: Callable[[], None] | None = None,
                          tools: Sequence[Mapping[str, Any]] = (), pending: Collection[str] = (),
                          on_tool_result: Callable[[str, str], None] | None = None) -> None:
    """A message's bubble below its text: images, tool calls, metrics, actions."""
    if message.images:
        # Bytes go to the browser as media files, never into markdown.
        # Captions are markdown: a name (an imported file's, say) must not fetch or link anything.
        st.image([image.data for image in message.images], width=160,
                 caption=[plain(image.name or image.mime) for image in message.images])
    if message.tool_calls:
        render_tool_calls(message.tool_calls, tools, pending, on_tool_result)
    if message.metrics:
        render_reply_metrics(message.metrics)
    if message.status == "partial":
        st.caption(":material/content_cut: Incomplete reply (saved as it was cut).")
    if actions:
        actions()


def render_conversation(
    messages: list[Message],
    shown: int,
    on_show_earlier: Callable[[], None],
    on_edit: Callable[[int, str], None] | None = None,
    on_regenerate: Callable[[], None] | None = None,
    tools: Sequence[Mapping[str, Any]] = (),
    pending: Collection[str] = (),
    on_tool_result: Callable[[str, str], None] | None = None,
) -> None:
    """The latest `shown` messages, with a button for earlier ones; users' messages can be edited
    and resent, the last reply regenerated, any copied; the tool calls waiting for a result
    (`pending` ids) take it."""
    last = len(messages) - 1
    first = max(0, len(messages) - shown)
    if first:
        st.button(f"Show earlier messages ({first} hidden)", icon=":material/expand_less:", key=keys.SHOW_EARLIER,
                  on_click=on_show_earlier)
    for index, message in enumerate(messages[first:], start=first):
        def actions(index: int = index, message: Message = message) -> None:
            # Filled only when opened: otherwise each message's text would go out twice per rerun.
            with st.container(horizontal=True, gap="small"):
                copy = lazy_popover(":material/content_copy:", "Copy", keys.COPY + str(index))
                if copy.open:
                    copy.code(message.content, language=None, wrap_lines=True)  # its button copies
                if message.role == "user" and on_edit:
                    edit = lazy_popover(":material/edit:", "Edit and resend", keys.EDIT_OPEN + str(index))
                    if edit.open:
                        edit.text_area("Message", value=message.content, key=keys.EDIT_TEXT + str(index))
                        if message.images:
                            edit.caption(f"Its {len(message.images)} image(s) are sent again with the new text.")
                        edit.button("Resend", key=keys.RESEND + str(index),
                                    on_click=lambda i=index: on_edit(i, st.session_state[keys.EDIT_TEXT + str(i)]))
                if message.role == "assistant" and index == last and on_regenerate:
                    st.button("", icon=":material/refresh:", key=keys.REGENERATE, help="Regenerate",
                              on_click=on_regenerate)
        render_message(message, actions if message.role in ("user", "assistant") else None,
                       tools, pending, on_tool_result)  # only the last reply's calls can be pending


def _probability(entry: Any) -> float:
    logprob = entry.get("logprob") if isinstance(entry, dict) else None
    return math.exp(min(logprob, 0.0)) if isinstance(logprob, (int, float)) else 0.0


def _shade(token: dict[str, Any]) -> str:
    # Metrics may come from an imported file: take nothing on trust, and escape every token.
    probability = _probability(token)
    alternatives = "\n".join(f"{str(alt.get('token', ''))!r}: {_probability(alt):.1%}"
                             for alt in token.get("top_logprobs") or [] if isinstance(alt, dict))
    title = f"{probability:.1%}" + (f"\n{alternatives}" if alternatives else "")
    return (f'<span title="{html.escape(title, quote=True)}" style="background: rgba(255, 140, 0, '
            f'{1 - probability:.2f}); white-space: pre-wrap">{html.escape(str(token.get("token", "")))}</span>')


def render_token_probabilities(logprobs: list[dict[str, Any]]) -> None:
    """Each token shaded by how unlikely it was (darker: less likely); hover for the alternatives."""
    with st.expander("Token probabilities", icon=":material/bar_chart:"):
        tokens = [t for t in logprobs if isinstance(t, dict)]
        st.html("<div style='line-height: 1.9'>" + "".join(_shade(t) for t in tokens) + "</div>")
