"""Function calling in the UI: the sidebar's Tools panel, and a reply's tool calls with a box
for each call's result (typed, pasted, or a canned one)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import streamlit as st

from components.lazy import lazy_expander
from components.plain_text import plain
from playground import state as keys
from playground import tools

CHOICE_INPUT, PARALLEL_INPUT = keys.TOOL_CHOICE_INPUT, keys.PARALLEL_INPUT
TYPED = "(type it below)"
FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the rule services hold function names to


def _label_name(name: str) -> str:
    """A function's name in a widget label. The browser also reads a label, unrendered, as the
    field's accessible name: a name within the rule (no markdown in it) goes as it is, any other
    is escaped (components.plain_text)."""
    return name if FUNCTION_NAME.fullmatch(name) else plain(name)


def _add_function() -> None:
    ss = st.session_state
    tools.add_draft(ss, "get_weather" if not ss[keys.TOOLS] else "")


INPUTS = ((keys.TOOL_NAME, "name"), (keys.TOOL_DESCRIPTION, "description"), (keys.TOOL_PARAMETERS, "parameters"))


def _sync_drafts(drafts: Sequence[dict[str, Any]]) -> None:
    """The draft holds the truth: an input just edited updates it (so its problems are current when
    drawn), and inputs dropped while the panel was closed start from it again."""
    ss = st.session_state
    for draft in drafts:
        for prefix, name in INPUTS:
            key = prefix + str(draft["id"])
            if key in ss:
                draft[name] = ss[key]
            else:
                ss[key] = draft[name]


def _draw_draft(index: int, draft: dict[str, Any], problems: Sequence[Any]) -> None:
    ss = st.session_state
    number = str(draft["id"])
    with st.container(border=True):
        draft["name"] = st.text_input(f"Function {index + 1} name", key=keys.TOOL_NAME + number,
                                      placeholder="get_weather", help="Letters, digits, '_' and '-', up to 64.")
        draft["description"] = st.text_input("Description", key=keys.TOOL_DESCRIPTION + number,
                                             placeholder="What the function does, for the model")
        draft["parameters"] = st.text_area("Parameters (a JSON schema of an object)", height=150,
                                           key=keys.TOOL_PARAMETERS + number)
        for problem in problems:  # they quote the name as typed, or as a preset or an import had it
            st.error(plain(problem.message), icon=":material/error:")
        st.button("Remove", key=keys.TOOL_REMOVE + number, icon=":material/delete:",
                  on_click=tools.remove_draft, args=(ss, draft["id"]))


def render_tools_panel() -> tools.ToolsRequest:
    """The Tools expander: functions, tool_choice, parallel calls. What the request gets comes from
    the drafts whether or not the panel is open (it is drawn only while open)."""
    ss = st.session_state
    drafts = ss[keys.TOOLS]
    expander = lazy_expander("Tools", keys.TOOLS_OPEN, icon=":material/build:", where=st.sidebar)
    with expander:
        if expander.open:
            st.caption("Functions the model may call. Its calls appear under the reply; you give each result.")
            _sync_drafts(drafts)
            preview = tools.request_of(drafts, ss[keys.TOOL_CHOICE], ss[keys.PARALLEL_TOOLS])
            for index, draft in enumerate(drafts):
                _draw_draft(index, draft, preview.draft_problems.get(draft["id"], ()))
            st.button("Add a function", icon=":material/add:", key=keys.ADD_TOOL, on_click=_add_function,
                      disabled=len(drafts) >= tools.MAX_FUNCTIONS)
            if drafts:
                options = tools.choice_options(drafts, ss[keys.TOOL_CHOICE])
                ss.setdefault(CHOICE_INPUT, ss[keys.TOOL_CHOICE])
                if ss[CHOICE_INPUT] not in options:
                    ss[CHOICE_INPUT] = ss[keys.TOOL_CHOICE] if ss[keys.TOOL_CHOICE] in options else "auto"
                ss[keys.TOOL_CHOICE] = st.selectbox(
                    "Tool choice", options, key=CHOICE_INPUT, format_func=tools.choice_label,
                    help="auto: the model decides; none: no calls; required: at least one call; "
                         "call <function>: that function, always.")
                ss.setdefault(PARALLEL_INPUT, ss[keys.PARALLEL_TOOLS])
                ss[keys.PARALLEL_TOOLS] = st.toggle(
                    "Parallel tool calls", key=PARALLEL_INPUT,
                    help="Off sends parallel_tool_calls: false (OpenAI's parameter; Model Inference "
                         "endpoints may ignore it).")
        else:
            # Closed: its inputs are not drawn, so they start again from the drafts when it opens.
            for draft in drafts:
                for prefix in (keys.TOOL_NAME, keys.TOOL_DESCRIPTION, keys.TOOL_PARAMETERS):
                    ss.pop(prefix + str(draft["id"]), None)
            ss.pop(CHOICE_INPUT, None)
            ss.pop(PARALLEL_INPUT, None)
    return tools.request_of(drafts, ss[keys.TOOL_CHOICE], ss[keys.PARALLEL_TOOLS])


def _arguments(call: Mapping[str, Any]) -> str:
    text = (call.get("function") or {}).get("arguments") or ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _use_canned(call_id: str) -> None:
    ss = st.session_state
    picked = ss.get(keys.RESULT_CANNED + call_id)
    if picked and picked != TYPED:
        ss[keys.RESULT_TEXT + call_id] = picked


def _result_box(call: Mapping[str, Any], on_result: Callable[[str, str], None]) -> None:
    ss = st.session_state
    call_id, name = str(call.get("id") or ""), tools.function_name(call)
    canned = tools.canned_for(ss, name)
    if canned:
        st.selectbox("Canned result", [TYPED, *canned], key=keys.RESULT_CANNED + call_id,
                     on_change=_use_canned, args=(call_id,))
    st.text_area(f"Result of {_label_name(name)}", key=keys.RESULT_TEXT + call_id, height=80,
                 placeholder='What the function returned, e.g. {"temperature": 21}')
    with st.container(horizontal=True, gap="small"):
        st.button("Send result", icon=":material/send:", key=keys.SEND_RESULT + call_id, type="primary",
                  on_click=lambda: on_result(call_id, ss.get(keys.RESULT_TEXT + call_id) or ""))
        st.button("Save as canned result", icon=":material/bookmark_add:", key=keys.SAVE_CANNED + call_id,
                  on_click=lambda: tools.save_canned(ss, name, ss.get(keys.RESULT_TEXT + call_id) or ""),
                  help=f"Offer this result again for {_label_name(name)}'s calls "
                       "(kept in this session and in presets).")


def render_tool_calls(calls: Sequence[Mapping[str, Any]], defined: Sequence[Mapping[str, Any]] = (),
                      pending: Collection[str] = (), on_result: Callable[[str, str], None] | None = None) -> None:
    """Each call: the function, its arguments pretty-printed and checked against the function's
    schema; under a call still waiting (`pending` ids), the box for its result."""
    for call in calls:
        name = tools.function_name(call) or "?"
        st.markdown(f"Calls **{plain(name)}** · {plain(str(call.get('id') or ''))}")
        st.code(_arguments(call), language="json")
        if defined:
            ok, verdict = tools.check_arguments(call, defined)
            text = plain(verdict[0].upper() + verdict[1:] + ".")
            if ok:
                st.caption(":material/check: " + text)
            else:
                st.warning(text, icon=":material/rule:")
        if on_result and str(call.get("id") or "") in pending:
            _result_box(call, on_result)
