"""Chat: pick a model, set parameters, talk; the reply streams in."""

import streamlit as st

import services
from components.conversation import render_conversation, render_message
from components.sidebar import (
    render_model_picker,
    render_new_chat_button,
    render_parameter_controls,
    render_system_prompt,
)
from components.streaming import render_streamed_reply
from playground import state
from playground.client import PlaygroundError

ss = st.session_state
state.init(ss)
state.settle_interrupted_reply(ss)  # a Stop click or a new prompt interrupts a streaming reply

choice = render_model_picker(services.model_choices())
params = render_parameter_controls(choice)
render_system_prompt()
render_new_chat_button()

st.title("Chat")
st.caption(f"{choice.label} — {choice.endpoint.url}")
render_conversation(state.messages(ss))

prompt = st.chat_input("Message the model")
if prompt:
    state.add_message(ss, "user", prompt)  # kept before sending: an error must not lose it
    render_message(state.messages(ss)[-1])

if prompt or ss.pop(state.RETRY, False):
    ss[state.ERROR] = None
    try:
        stream = services.client_for(choice).stream_chat(state.request_messages(ss), params, choice.model)
    except PlaygroundError as error:
        ss[state.ERROR] = error.message
    else:
        # Bound to the list itself: an interrupted run may not touch st.session_state any more.
        render_streamed_reply(stream, save=state.messages(ss).append)

if ss[state.ERROR]:
    st.error(ss[state.ERROR], icon=":material/error:")
    if state.messages(ss) and state.messages(ss)[-1]["role"] == "user":
        st.button("Retry", icon=":material/refresh:", on_click=state.request_retry, args=(ss,))
