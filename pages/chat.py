"""Chat: pick a model, set parameters, talk; the reply streams in and everything is saved."""

import streamlit as st

import services
from components.code_view import render_code_view
from components.conversation import render_conversation, render_message
from components.history import render_export_import, render_history, render_new_chat_button, render_presets
from components.model_picker import (
    render_custom_endpoint_form,
    render_model_picker,
    render_request_budget,
    render_session_token_input,
)
from components.sidebar import render_parameter_controls, render_parameter_problems, render_system_prompt
from components.streaming import render_stop_button, render_streamed_reply, whole_reply_message
from playground import state
from playground.client import PlaygroundError
from playground.params import validate
from playground.providers import GITHUB

ss = st.session_state
state.init(ss)
state.settle_interrupted_reply(ss)  # Stop (or any sidebar widget) interrupts a streaming reply
services.open_conversation_from_url()
store = services.store()

render_new_chat_button()
choice = render_model_picker(services.providers(), services.github_catalog)
budget = services.request_budget(choice.endpoint, choice.model or "") if choice.provider.kind == GITHUB else None
budget_meter = st.sidebar.container()  # drawn last, so it counts this run's request
params, problems = render_parameter_controls(choice)
check = validate(params, model_id=choice.model or choice.label, streaming=True)
problems += check.errors
render_parameter_problems(problems, check.warnings)
render_system_prompt()
history = st.sidebar.container()  # drawn last, so it lists this run's conversation
render_presets(store)
render_export_import(store)
render_session_token_input()
render_custom_endpoint_form()

st.title("Chat")
st.caption(f"{choice.label} — {choice.endpoint.url}")
render_code_view(*services.code_spec(choice, params, check.stream))
render_conversation(state.messages(ss), ss[state.SHOWN], on_show_earlier=lambda: state.show_earlier(ss),
                    on_edit=services.edit_and_resend, on_regenerate=services.regenerate)
render_stop_button()


# A prompt reruns only this fragment, not the sidebar nor the conversation so far: the reply's
# first token reaches the browser without the rest of the page queued ahead of it.
# The finished reply reruns the whole page.
@st.fragment
def composer(choice, params, check, problems, budget) -> None:
    prompt = st.bottom.chat_input("Message the model", submit_mode="disable")
    if prompt:
        conversation_id = services.conversation_for(choice)
        # Saved before it is sent: an error, a reload or a crash must not lose it.
        state.add_message(ss, "user", prompt, id=store.add_message(conversation_id, "user", prompt))
        render_message(state.messages(ss)[-1])

    send = prompt or ss.pop(state.RETRY, False)
    if send and problems:
        ss[state.ERROR] = "Not sent. " + " ".join(problem.message for problem in problems)
    elif send:
        ss[state.ERROR] = None
        conversation_id = services.conversation_for(choice)
        save = services.reply_saver(conversation_id, state.messages(ss))
        client = services.client_for(choice.endpoint)
        expect_json = params.response_format is not None
        on_headers = budget.observe_headers if budget else None
        if budget:
            budget.record()
        try:
            if check.stream:
                stream = client.stream_chat(state.request_messages(ss), params, choice.model, on_headers=on_headers)
                render_streamed_reply(stream, save=save, expect_json=expect_json)
            else:
                with st.spinner("Waiting for the whole reply (it cannot stream)…"):
                    save(whole_reply_message(client.complete_chat(state.request_messages(ss), params, choice.model,
                                                                  on_headers=on_headers), expect_json))
        except PlaygroundError as error:
            ss[state.ERROR] = error.message
        st.rerun()  # the whole page: the reply with its actions, the history, the budget, View code

    if ss[state.ERROR]:
        st.error(ss[state.ERROR], icon=":material/error:")
        if state.messages(ss) and state.messages(ss)[-1]["role"] == "user":
            st.button("Retry", icon=":material/refresh:", on_click=state.request_retry, args=(ss,))


composer(choice, params, check, problems, budget)

if budget:
    with budget_meter:
        render_request_budget(budget.reading(), choice.card.tier_limits if choice.card else None)
with history:
    render_history(store)
