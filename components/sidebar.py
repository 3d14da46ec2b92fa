"""The sidebar's parameter controls and system prompt."""

from __future__ import annotations

import streamlit as st

from components.plain_text import plain
from components.tools import render_tools_panel
from playground import state as keys
from playground.params import MORE_CHOICES, MORE_DEFAULTS, PARAMETERS, SAMPLING_ONLY, Parameter, Problem, parse_more
from playground.providers import ModelChoice
from playground.types import ChatParams


def render_slider(parameter: Parameter, key: str, max_tokens_limit: int) -> float:
    """One parameter's slider from the parameter table (max tokens capped at the model's limit)."""
    high = max_tokens_limit if parameter.name == "max_tokens" else parameter.high
    if parameter.name == "max_tokens":
        # Clamp before drawing: a value kept from a model with a larger limit would be refused.
        st.session_state[key] = min(st.session_state[key], high)
        help_text = f"{parameter.help} (This model: up to {high}.)"
    else:
        help_text = parameter.help
    kind = type(parameter.default)
    return st.slider(parameter.label, kind(parameter.low), kind(high), step=kind(parameter.step), key=key,
                     persist_state=keys.KEEP, help=help_text)


def render_parameter_controls(choice: ModelChoice) -> tuple[ChatParams, list[Problem]]:
    values = {}
    with st.sidebar.expander("Parameters", expanded=True):
        if choice.is_reasoning:
            st.caption("Reasoning models reject temperature, top_p and max_tokens; they are not sent.")
        for parameter in PARAMETERS:
            if choice.is_reasoning and parameter.name in SAMPLING_ONLY:
                continue
            values[parameter.name] = render_slider(parameter, keys.CHAT + parameter.name, choice.max_output_tokens)
    more, problems = _render_more_parameters()
    tools = render_tools_panel()
    extras = {**more.pop("extras", {}), **tools.extras}
    if extras:
        more["extras"] = extras
    return ChatParams(**values, **more, tools=tools.tools, tool_choice=tools.tool_choice), problems + tools.problems


def _render_more_parameters() -> tuple[dict, list[Problem]]:
    """Stop, seed, response format and the model's extras; blank or default inputs are not sent."""
    ss = st.session_state

    def key(name: str) -> dict:
        return {"key": keys.CHAT + name, "persist_state": keys.KEEP}

    with st.sidebar.expander("More parameters"):
        st.text_area("Stop sequences (one per line, up to 4)", height=68, **key("stop_sequences"))
        st.text_input("Seed", placeholder="blank: random", help="The same seed repeats a reply.", **key("seed"))
        kind = st.selectbox("Response format", MORE_CHOICES["response_format"], **key("response_format"))
        if kind == "json_schema":
            st.text_input("Schema name", **key("schema_name"))
            st.text_area("JSON schema", height=150, **key("schema_text"))
        st.caption("Model extras, sent as pass-through (Meta Llama endpoints document these):")
        st.number_input("n (replies)", 1, 8, **key("extra_n"))
        st.number_input("best_of (0: off)", 0, 16, **key("extra_best_of"))
        st.number_input("logprobs: top alternatives (-1: off)", -1, 20, **key("extra_logprobs"))
        st.checkbox("ignore_eos", **key("extra_ignore_eos"))
        st.checkbox("use_beam_search", **key("extra_use_beam_search"))
        st.text_input("stop_token_ids", placeholder="e.g. 128001, 128009", **key("extra_stop_token_ids"))
        st.selectbox("skip_special_tokens", MORE_CHOICES["extra_skip_special_tokens"],
                     **key("extra_skip_special_tokens"))
        st.text_area("Other extras (a JSON object)", height=68, placeholder='{"top_k": 20}', **key("raw_extras"))
    return parse_more({name: ss[keys.CHAT + name] for name in MORE_DEFAULTS})


def render_system_prompt() -> None:
    st.sidebar.text_area("System prompt", key=keys.SYSTEM_PROMPT, height=100, persist_state=keys.KEEP,
                         help="Sent first in every request; leave empty to send none.")


def render_parameter_problems(errors: list[Problem], warnings: list[Problem]) -> None:
    """What blocks sending, and what the request will do differently, next to the controls."""
    # Messages quote what was typed or came with a preset (a function's name, a stop sequence...).
    for problem in errors:
        st.sidebar.error(plain(problem.message), icon=":material/error:")
    for problem in warnings:
        st.sidebar.warning(plain(problem.message), icon=":material/info:")
