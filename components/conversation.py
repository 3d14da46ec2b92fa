"""The conversation: past messages, the metrics line under each reply, and per-message actions."""

from __future__ import annotations

import html
import math
from typing import Any, Callable

import streamlit as st

from playground.store import metrics_line


def without_images(text: str) -> str:
    """Message text as markdown that fetches nothing by itself. An image (`![alt](url)`, or any
    reference form) makes the browser request its URL at once, so a prompt-injected reply could
    leak the conversation to any host. A zero-width space after every `!` before `[` means no
    image syntax survives, in any form, while the text looks the same (copy uses the original)."""
    return text.replace("![", "!\u200b[")


def render_reply_metrics(metrics: dict[str, Any]) -> None:
    st.caption(metrics_line(metrics))
    if metrics.get("error"):
        st.warning(str(metrics["error"]), icon=":material/warning:")
    if metrics.get("json_error"):
        st.caption(f"JSON problem: {metrics['json_error']}")
    if isinstance(metrics.get("logprobs"), list):
        render_token_probabilities(metrics["logprobs"])
    if isinstance(metrics.get("other_choices"), list):
        with st.expander(f"{len(metrics['other_choices'])} more choices (n)", icon=":material/stacks:"):
            for number, text in enumerate(metrics["other_choices"], start=2):
                st.markdown(f"**Choice {number}**")
                st.markdown(without_images(str(text)))


def render_message(message: dict[str, Any], actions: Callable[[], None] | None = None) -> None:
    with st.chat_message(message["role"]):
        st.markdown(without_images(message["content"]))
        if message.get("metrics"):
            render_reply_metrics(message["metrics"])
        if message.get("status") == "partial":
            st.caption(":material/content_cut: Incomplete reply (saved as it was cut).")
        if actions:
            actions()


def _copy_popover(index: int, content: str) -> None:
    with st.popover("", icon=":material/content_copy:", help="Copy"):
        st.code(content, language=None, wrap_lines=True)  # its button copies to the clipboard


def render_conversation(
    messages: list[dict[str, Any]],
    on_edit: Callable[[int, str], None] | None = None,
    on_regenerate: Callable[[], None] | None = None,
) -> None:
    """Every message; users' can be edited and resent, the last reply regenerated, any copied."""
    last = len(messages) - 1
    for index, message in enumerate(messages):
        def actions(index: int = index, message: dict[str, Any] = message) -> None:
            columns = st.columns([1, 1, 12])
            with columns[0]:
                _copy_popover(index, message["content"])
            if message["role"] == "user" and on_edit:
                with columns[1].popover("", icon=":material/edit:", help="Edit and resend"):
                    st.text_area("Message", value=message["content"], key=f"edit_{index}")
                    st.button("Resend", key=f"resend_{index}",
                              on_click=lambda i=index: on_edit(i, st.session_state[f"edit_{i}"]))
            if message["role"] == "assistant" and index == last and on_regenerate:
                columns[1].button("", icon=":material/refresh:", key="regenerate", help="Regenerate",
                                  on_click=on_regenerate)
        render_message(message, actions)


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
