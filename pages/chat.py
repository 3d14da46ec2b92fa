"""Chat: pick a model, set parameters, talk; the reply streams in."""

import streamlit as st

import services
from components.conversation import render_conversation, render_message
from components.model_picker import (
    render_custom_endpoint_form,
    render_model_picker,
    render_request_budget,
    render_session_token_input,
)
from components.sidebar import render_new_chat_button, render_parameter_controls, render_system_prompt
from components.streaming import render_streamed_reply
from playground import state
from playground.client import PlaygroundError
from playground.providers import GITHUB

ss = st.session_state
state.init(ss)
state.settle_interrupted_reply(ss)  # a Stop click or a new prompt interrupts a streaming reply

choice = render_model_picker(services.providers(), services.github_catalog)
budget = services.request_budget(choice.endpoint, choice.model or "") if choice.provider.kind == GITHUB else None
budget_meter = st.sidebar.container()  # drawn last, so it counts this run's request
params = render_parameter_controls(choice)
render_system_prompt()
render_new_chat_button()
render_session_token_input()
render_custom_endpoint_form()

st.title("Chat")
st.caption(f"{choice.label} — {choice.endpoint.url}")
render_conversation(state.messages(ss))

prompt = st.chat_input("Message the model")
if prompt:
    state.add_message(ss, "user", prompt)  # kept before sending: an error must not lose it
    render_message(state.messages(ss)[-1])

if prompt or ss.pop(state.RETRY, False):
    ss[state.ERROR] = None
    if budget:
        budget.record()
    try:
        stream = services.client_for(choice.endpoint).stream_chat(
            state.request_messages(ss), params, choice.model, on_headers=budget.observe_headers if budget else None)
    except PlaygroundError as error:
        ss[state.ERROR] = error.message
    else:
        # Bound to the list itself: an interrupted run may not touch st.session_state any more.
        render_streamed_reply(stream, save=state.messages(ss).append)

if ss[state.ERROR]:
    st.error(ss[state.ERROR], icon=":material/error:")
    if state.messages(ss) and state.messages(ss)[-1]["role"] == "user":
        st.button("Retry", icon=":material/refresh:", on_click=state.request_retry, args=(ss,))

if budget:
    with budget_meter:
        render_request_budget(budget.reading(), choice.card.tier_limits if choice.card else None)
