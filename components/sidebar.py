"""The sidebar's parameter controls and system prompt."""

from __future__ import annotations

import streamlit as st

from playground import state
from playground.client import ChatParams
from playground.providers import ModelChoice


def render_parameter_controls(choice: ModelChoice) -> ChatParams:
    ss = st.session_state
    # Clamp before drawing: a value kept from a model with a larger limit would be refused.
    ss[state.MAX_TOKENS] = min(ss[state.MAX_TOKENS], choice.max_output_tokens)
    with st.sidebar.expander("Parameters", expanded=True):
        if choice.is_reasoning:
            st.caption("Reasoning models reject temperature, top_p and max_tokens; they are not sent.")
        else:
            temperature = st.slider("Temperature", 0.0, 2.0, step=0.05, key=state.TEMPERATURE,
                                    help="Higher is more random; 0 picks the likeliest token every time.")
            top_p = st.slider("Top P", 0.0, 1.0, step=0.01, key=state.TOP_P,
                              help="Sample only from the most likely tokens whose probabilities add up to this.")
            max_tokens = st.slider("Max tokens", 1, choice.max_output_tokens, step=1, key=state.MAX_TOKENS,
                                   help=f"The longest reply the model may write (this model: up to {choice.max_output_tokens}).")
        presence = st.slider("Presence penalty", -2.0, 2.0, step=0.1, key=state.PRESENCE_PENALTY,
                             help="Positive values push the model toward new topics.")
        frequency = st.slider("Frequency penalty", -2.0, 2.0, step=0.1, key=state.FREQUENCY_PENALTY,
                              help="Positive values make the model repeat itself less.")
    if choice.is_reasoning:
        return ChatParams(presence_penalty=presence, frequency_penalty=frequency)
    return ChatParams(temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                      presence_penalty=presence, frequency_penalty=frequency)


def render_system_prompt() -> None:
    st.sidebar.text_area("System prompt", key=state.SYSTEM_PROMPT, height=100,
                         help="Sent first in every request; leave empty to send none.")
