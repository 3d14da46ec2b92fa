"""The Compare page's pieces: the column controls, the rows of past replies, and a live run
drawn column by column while its workers stream."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import streamlit as st

from components.conversation import render_message, render_reply_metrics, without_images
from playground import compare
from playground.client import ChatParams
from playground.providers import ModelChoice

# Redraw a column at most this often: re-rendering markdown per token makes long replies
# quadratic (reference section 5); 45 ms keeps the text visibly live.
REDRAW_INTERVAL = 0.045
KEEP = "session"  # widget values survive a visit to another page


def render_compare_options() -> tuple[int, bool]:
    """Sidebar: how many columns, and whether they share parameters."""
    count = st.sidebar.radio("Columns", list(range(compare.MIN_COLUMNS, compare.MAX_COLUMNS + 1)), horizontal=True,
                             key=compare.COLUMN_COUNT, persist_state=KEEP)
    same = st.sidebar.toggle("Same parameters for all columns", key=compare.SAME_PARAMETERS, persist_state=KEEP,
                             on_change=compare.split_parameters, args=(st.session_state,),
                             help="Turn off to give each column its own temperature, top_p and max tokens "
                                  "(a temperature sweep is a comparison too).")
    return count, same


def render_column_model(index: int, options: Mapping[str, ModelChoice], default: str) -> ModelChoice:
    """The column's model picker (draws where it is called)."""
    key = compare.column_key(compare.MODEL, index)
    if st.session_state.get(key) not in options:
        st.session_state[key] = default
    selected = st.selectbox(f"Column {index + 1}", list(options), key=key, persist_state=KEEP,
                            format_func=lambda k: compare.option_label(options[k]))
    return options[selected]


def _parameter_sliders(choices: Sequence[ModelChoice], suffix: int | None) -> tuple[float, float, int]:
    """Temperature, top_p and max tokens; keys get `_<suffix>` for one column's own."""
    ss = st.session_state

    def key(name: str) -> str:
        return name if suffix is None else compare.column_key(name, suffix)

    limit = min(c.max_output_tokens for c in choices)
    ss[key(compare.MAX_TOKENS)] = min(ss[key(compare.MAX_TOKENS)], limit)  # clamp before drawing
    temperature = st.slider("Temperature", 0.0, 2.0, step=0.05, key=key(compare.TEMPERATURE), persist_state=KEEP)
    top_p = st.slider("Top P", 0.0, 1.0, step=0.01, key=key(compare.TOP_P), persist_state=KEEP)
    max_tokens = st.slider("Max tokens", 1, limit, step=1, key=key(compare.MAX_TOKENS), persist_state=KEEP)
    return temperature, top_p, max_tokens


def render_shared_parameters(choices: Sequence[ModelChoice]) -> list[ChatParams]:
    with st.sidebar.expander("Parameters (all columns)", expanded=True):
        if all(c.is_reasoning for c in choices):
            st.caption("Reasoning models reject temperature, top_p and max_tokens; they are not sent.")
            return [ChatParams() for _ in choices]
        values = _parameter_sliders([c for c in choices if not c.is_reasoning], None)
    return [compare.chat_params(choice, *values) for choice in choices]


def render_column_parameters(index: int, choice: ModelChoice) -> ChatParams:
    """One column's own parameters (draws where it is called)."""
    with st.expander("Parameters", expanded=True):
        if choice.is_reasoning:
            st.caption("Reasoning models reject temperature, top_p and max_tokens; they are not sent.")
            return ChatParams()
        return compare.chat_params(choice, *_parameter_sliders([choice], index))


def render_compare_system_prompt() -> str:
    return st.sidebar.text_area("System prompt", key=compare.SYSTEM_PROMPT, height=100, persist_state=KEEP,
                                help="Sent first to every column; leave empty to send none.")


def render_new_comparison_button() -> None:
    st.sidebar.button("New comparison", icon=":material/add_comment:", on_click=compare.new_comparison,
                      args=(st.session_state,), width="stretch")


def render_reply(reply: Mapping[str, Any] | None) -> None:
    if reply is None:
        st.caption("No reply from this column for this prompt.")
        return
    label = (reply.get("metrics") or {}).get("model")
    if label:
        st.caption(label)
    render_message(dict(reply))


def render_turns(history: Sequence[Mapping[str, Any]], columns: int, live: bool) -> None:
    """Each prompt across the page, then its replies side by side. With `live`, the last
    prompt's replies are being streamed: only the prompt is drawn here."""
    rows = compare.turns(history)
    for number, turn in enumerate(rows):
        render_message(dict(turn.prompt))
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
        stop_slot.button("Stop", icon=":material/stop_circle:", key=compare.STOP, on_click=run.cancel)
    bodies, footers = [], []
    for index, column in enumerate(st.columns(len(run.workers))):
        with column:
            if index < len(labels) and labels[index]:
                st.caption(labels[index])
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
        render_reply_metrics(state.reply["metrics"])
        if worker.save_error:
            st.warning(worker.save_error, icon=":material/warning:")
