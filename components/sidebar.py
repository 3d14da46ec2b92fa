"""The sidebar's parameter controls and system prompt."""

from __future__ import annotations

from typing import Any

import streamlit as st

from playground import state
from playground.client import ChatParams
from playground.params import Problem, parse_json_field
from playground.providers import ModelChoice


def render_parameter_controls(choice: ModelChoice) -> tuple[ChatParams, list[Problem]]:
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
    more, problems = _render_more_parameters()
    if choice.is_reasoning:
        return ChatParams(presence_penalty=presence, frequency_penalty=frequency, **more), problems
    return ChatParams(temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                      presence_penalty=presence, frequency_penalty=frequency, **more), problems


def _render_more_parameters() -> tuple[dict[str, Any], list[Problem]]:
    """Stop, seed, response format and the model's extras; blank or default inputs are not sent."""
    ss = st.session_state
    problems: list[Problem] = []
    more: dict[str, Any] = {}
    with st.sidebar.expander("More parameters"):
        st.text_area("Stop sequences (one per line, up to 4)", key=state.STOP_SEQUENCES, height=68)
        stop = tuple(line for line in ss[state.STOP_SEQUENCES].split("\n") if line)
        if stop:
            more["stop"] = stop
        st.text_input("Seed", key=state.SEED, placeholder="blank: random", help="The same seed repeats a reply.")
        seed_text = ss[state.SEED].strip()
        if seed_text:
            try:
                more["seed"] = int(seed_text)
            except ValueError:
                problems.append(Problem("seed", f"Seed must be a whole number, got {seed_text!r}."))
        kind = st.selectbox("Response format", state.ADVANCED_CHOICES[state.RESPONSE_FORMAT], key=state.RESPONSE_FORMAT)
        if kind == "json_object":
            more["response_format"] = "json_object"
        elif kind == "json_schema":
            st.text_input("Schema name", key=state.SCHEMA_NAME)
            st.text_area("JSON schema", key=state.SCHEMA_TEXT, height=150)
            schema, problem = parse_json_field(ss[state.SCHEMA_TEXT], "JSON schema")
            problems += [problem] if problem else []
            if isinstance(schema, dict):
                more["response_format"] = {"name": ss[state.SCHEMA_NAME].strip(), "schema": schema}
        st.caption("Model extras, sent as pass-through (Meta Llama endpoints document these):")
        extras: dict[str, Any] = {}
        n = st.number_input("n (replies)", 1, 8, key=state.EXTRA_N)
        best_of = st.number_input("best_of (0: off)", 0, 16, key=state.EXTRA_BEST_OF)
        logprobs = st.number_input("logprobs: top alternatives (-1: off)", -1, 20, key=state.EXTRA_LOGPROBS)
        for name, value, default in (("n", n, 1), ("best_of", best_of, 0), ("logprobs", logprobs, -1)):
            if value != default:
                extras[name] = int(value)
        if st.checkbox("ignore_eos", key=state.EXTRA_IGNORE_EOS):
            extras["ignore_eos"] = True
        if st.checkbox("use_beam_search", key=state.EXTRA_BEAM_SEARCH):
            extras["use_beam_search"] = True
        st.text_input("stop_token_ids", key=state.EXTRA_STOP_TOKEN_IDS, placeholder="e.g. 128001, 128009")
        ids_text = ss[state.EXTRA_STOP_TOKEN_IDS].strip()
        if ids_text:
            try:
                extras["stop_token_ids"] = [int(part) for part in ids_text.replace(",", " ").split()]
            except ValueError:
                problems.append(Problem("stop_token_ids", "stop_token_ids must be whole numbers separated by commas."))
        skip = st.selectbox("skip_special_tokens", state.ADVANCED_CHOICES[state.EXTRA_SKIP_SPECIAL],
                            key=state.EXTRA_SKIP_SPECIAL)
        if skip != "default":
            extras["skip_special_tokens"] = skip == "true"
        st.text_area("Other extras (a JSON object)", key=state.RAW_EXTRAS, height=68, placeholder='{"top_k": 20}')
        raw, problem = parse_json_field(ss[state.RAW_EXTRAS], "Other extras") if ss[state.RAW_EXTRAS].strip() else (None, None)
        problems += [problem] if problem else []
        if isinstance(raw, dict):
            extras.update(raw)
        elif raw is not None:
            problems.append(Problem("extras", "Other extras must be a JSON object, like {\"top_k\": 20}."))
        if extras:
            more["extras"] = extras
    return more, problems


def render_system_prompt() -> None:
    st.sidebar.text_area("System prompt", key=state.SYSTEM_PROMPT, height=100,
                         help="Sent first in every request; leave empty to send none.")


def render_parameter_problems(errors: list[Problem], warnings: list[Problem]) -> None:
    """What blocks sending, and what the request will do differently, next to the controls."""
    for problem in errors:
        st.sidebar.error(problem.message, icon=":material/error:")
    for problem in warnings:
        st.sidebar.warning(problem.message, icon=":material/info:")
