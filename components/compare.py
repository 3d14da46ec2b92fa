"""The Compare page's pieces: the column controls, the rows of past replies, and a live run
drawn column by column while its workers stream."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from components.conversation import render_message, render_reply_metrics, without_images
from components.plain_text import plain
from components.sidebar import render_slider
from playground import compare
from playground import state as keys
from playground.messages import Message
from playground.params import PARAMETERS, SAMPLING_ONLY
from playground.providers import ModelChoice
from playground.types import ChatParams

# Redraw a column at most this often: re-rendering markdown per token makes long replies
# quadratic (reference section 5); 45 ms keeps the text visibly live.
REDRAW_INTERVAL = 0.045


def render_compare_options() -> tuple[int, bool]:
    """Sidebar: how many columns, and whether they share parameters."""
    count = st.sidebar.radio("Columns", list(range(compare.MIN_COLUMNS, compare.MAX_COLUMNS + 1)), horizontal=True,
                             key=keys.COMPARE_COLUMNS, persist_state=keys.KEEP)
    same = st.sidebar.toggle("Same parameters for all columns", key=keys.COMPARE_SAME, persist_state=keys.KEEP,
                             on_change=compare.split_parameters, args=(st.session_state,),
                             help="Turn off to give each column its own parameters "
                                  "(a temperature sweep is a comparison too).")
    return count, same


def render_column_model(index: int, options: Mapping[str, ModelChoice], default: str) -> ModelChoice:
    """The column's model picker (draws where it is called)."""
    key = keys.COMPARE_MODEL + str(index)
    if st.session_state.get(key) not in options:
        st.session_state[key] = default
    selected = st.selectbox(f"Column {index + 1}", list(options), key=key, persist_state=keys.KEEP,
                            format_func=lambda k: compare.option_label(options[k]))
    return options[selected]


def _sliders(choices: Sequence[ModelChoice], column: int | None) -> dict[str, float]:
    """The parameter table's sliders (shared, or column `column`'s own), without what every
    chosen model rejects."""
    reasoning = all(c.is_reasoning for c in choices)
    if reasoning:
        st.caption("Reasoning models reject temperature, top_p and max_tokens; they are not sent.")
    limit = min((c.max_output_tokens for c in choices if not c.is_reasoning), default=1)
    return {p.name: render_slider(p, compare.parameter_key(p.name, column), limit)
            for p in PARAMETERS if not (reasoning and p.name in SAMPLING_ONLY)}


def render_shared_parameters(choices: Sequence[ModelChoice]) -> list[ChatParams]:
    with st.sidebar.expander("Parameters (all columns)", expanded=True):
        values = _sliders(choices, None)
    return [compare.chat_params(choice, values) for choice in choices]


def render_column_parameters(index: int, choice: ModelChoice) -> ChatParams:
    """One column's own parameters (draws where it is called)."""
    with st.expander("Parameters", expanded=True):
        return compare.chat_params(choice, _sliders([choice], index))


def render_compare_system_prompt() -> str:
    return st.sidebar.text_area("System prompt", key=keys.COMPARE_SYSTEM_PROMPT, height=100, persist_state=keys.KEEP,
                                help="Sent first to every column; leave empty to send none.")


def _new_comparison() -> None:
    compare.new_comparison(st.session_state)
    st.query_params.pop("c", None)


def render_new_comparison_button() -> None:
    st.sidebar.button("New comparison", icon=":material/add_comment:", on_click=_new_comparison, width="stretch")


def render_reply(reply: Message | None) -> None:
    if reply is None:
        st.caption("No reply from this column for this prompt.")
        return
    label = (reply.metrics or {}).get("model")
    if label:
        st.caption(plain(label))  # a model name from an endpoint's list, or an imported file
    render_message(reply)


def render_turns(history: Sequence[Message], columns: int, live: bool) -> None:
    """Each prompt across the page, then its replies side by side. With `live`, the last
    prompt's replies are being streamed: only the prompt is drawn here."""
    rows = compare.turns(history)
    for number, turn in enumerate(rows):
        render_message(turn.prompt)
        if live and number == len(rows) - 1:
            break
        for index, column in enumerate(st.columns(columns)):
            with column:
                render_reply(turn.replies.get(index))


def _status(state: compare.ColumnState) -> str:
    if state.phase == "waiting":
        return f"Waiting for the model · {state.elapsed:.1f} s"
    return f"Streaming · {state.chunks} chunks · {state.elapsed:.1f} s"


def render_live_replies(run: compare.CompareRun, labels: Sequence[str]) -> None:
    """Draw every column of `run` as it streams, until all have finished (or Stop is pressed).

    Each column redraws at most every REDRAW_INTERVAL and only when it changed; a finished
    column gets its metrics at once, whatever the others are doing. A rerun (Stop, any widget)
    interrupts this loop but not the workers: the next run draws the same run again.
    """
    stop_slot = st.empty()
    if not run.done:
        stop_slot.button("Stop", icon=":material/stop_circle:", key=keys.COMPARE_STOP, on_click=run.cancel)
    bodies, footers = [], []
    for index, column in enumerate(st.columns(len(run.workers))):
        with column:
            if index < len(labels) and labels[index]:
                st.caption(plain(labels[index]))
            with st.chat_message("assistant"):
                bodies.append(st.empty())
                footers.append(st.empty())
    drawn: list[tuple[Any, ...] | None] = [None] * len(run.workers)
    while True:
        finished = run.wait(REDRAW_INTERVAL)
        for index, state in enumerate(run.states()):
            if state.phase == "done":
                if drawn[index] != ("done",):
                    _draw_finished(run.workers[index], state, bodies[index], footers[index])
                    drawn[index] = ("done",)
                continue
            status = _status(state)
            if drawn[index] is None or drawn[index][0] != state.text:
                bodies[index].markdown(without_images(state.text) + " ▌" if state.text else "")
            if drawn[index] is None or drawn[index][1] != status:
                footers[index].caption(status)
            drawn[index] = (state.text, status)
        if finished:
            break
    stop_slot.empty()


def _draw_finished(worker: compare.ColumnWorker, state: compare.ColumnState, body: Any, footer: Any) -> None:
    body.markdown(without_images(state.text))
    with footer.container():
        render_reply_metrics(state.reply.metrics or {})
        if worker.save_error:
            st.warning(plain(worker.save_error), icon=":material/warning:")
