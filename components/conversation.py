"""The conversation: past messages with the metrics line under each reply."""

from __future__ import annotations

from typing import Any

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
    return " · ".join(parts)


def render_reply_metrics(metrics: dict[str, Any]) -> None:
    st.caption(metrics_line(metrics))
    if metrics.get("error"):
        st.warning(metrics["error"], icon=":material/warning:")


def render_message(message: dict[str, Any]) -> None:
    with st.chat_message(message["role"]):
        st.markdown(message["content"])
        if message.get("metrics"):
            render_reply_metrics(message["metrics"])


def render_conversation(messages: list[dict[str, Any]]) -> None:
    for message in messages:
        render_message(message)
