"""The conversation: past messages, the metrics line under each reply, and per-message actions."""

from __future__ import annotations

import html
import math
from typing import Any, Callable

import streamlit as st


def metrics_line(metrics: dict[str, Any]) -> str:
    """One line a person can scan: tokens, finish reason, first-token time, speed."""
    parts = []
    prompt, completion = metrics.get("prompt_tokens"), metrics.get("completion_tokens")
    if completion is not None:
        approx = "" if metrics.get("usage_reported") else "~"
        head = f"{prompt} prompt + " if prompt is not None else ""
        parts.append(f"{head}{approx}{completion} completion tokens")
    parts.append(f"finish: {metrics.get('finish_reason') or 'unknown'}")
    if metrics.get("ttft_s") is not None:
        parts.append(f"first token {metrics['ttft_s']:.2f} s")
    if metrics.get("tokens_per_s") is not None:
        parts.append(f"{metrics['tokens_per_s']:.1f} tokens/s")
    if metrics.get("json_valid") is not None:
        parts.append("valid JSON" if metrics["json_valid"] else "NOT valid JSON")
    return " · ".join(parts)


def render_reply_metrics(metrics: dict[str, Any]) -> None:
    st.caption(metrics_line(metrics))
    if metrics.get("error"):
        st.warning(metrics["error"], icon=":material/warning:")
    if metrics.get("json_error"):
        st.caption(f"JSON problem: {metrics['json_error']}")
    if metrics.get("logprobs"):
        render_token_probabilities(metrics["logprobs"])
    if metrics.get("other_choices"):
        with st.expander(f"{len(metrics['other_choices'])} more choices (n)", icon=":material/stacks:"):
            for number, text in enumerate(metrics["other_choices"], start=2):
                st.markdown(f"**Choice {number}**")
                st.markdown(text)


def render_message(message: dict[str, Any], actions: Callable[[], None] | None = None) -> None:
    with st.chat_message(message["role"]):
        st.markdown(message["content"])
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


def _shade(token: dict[str, Any]) -> str:
    probability = math.exp(token.get("logprob", 0.0))
    alternatives = "\n".join(
        f"{alt.get('token', '')!r}: {math.exp(alt.get('logprob', 0.0)):.1%}" for alt in token.get("top_logprobs") or [])
    title = f"{probability:.1%}" + (f"\n{alternatives}" if alternatives else "")
    # Everything from the model is escaped: a token is text, never markup.
    return (f'<span title="{html.escape(title, quote=True)}" style="background: rgba(255, 140, 0, '
            f'{1 - probability:.2f}); white-space: pre-wrap">{html.escape(token.get("token", ""))}</span>')


def render_token_probabilities(logprobs: list[dict[str, Any]]) -> None:
    """Each token shaded by how unlikely it was (darker: less likely); hover for the alternatives."""
    with st.expander("Token probabilities", icon=":material/bar_chart:"):
        st.html("<div style='line-height: 1.9'>" + "".join(_shade(t) for t in logprobs) + "</div>")
