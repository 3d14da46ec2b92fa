"""Chat: pick a model, set parameters, talk; the reply streams in and everything is saved."""

import streamlit as st

import resources
from components.attachments import render_image_settings, render_prompt_input, render_refusal
from components.code_view import render_code_view
from components.conversation import render_conversation, render_message
from components.evaluate import render_save_as_prompt_file
from components.history import render_export_import, render_history, render_new_chat_button, render_presets
from components.model_picker import render_custom_endpoint_form, render_model_picker, render_session_token_input
from components.plain_text import plain
from components.rate_limits import render_rate_limits
from components.sidebar import render_parameter_controls, render_parameter_problems, render_system_prompt
from components.streaming import render_stop_button, render_streamed_reply
from playground import state as keys
from playground.chat import images_problem
from playground.client import PlaygroundError
from playground.params import Problem, validate

config = resources.settings()
chat = resources.chat(config)
chat.settle()  # Stop (or any sidebar widget) interrupts a streaming reply: wait until it is saved
resources.open_from_url(chat)

render_new_chat_button(chat)
choice = render_model_picker(resources.providers(config), resources.catalog_loader(config))
rate_meter = st.sidebar.container()  # drawn last, so it shows what this run's reply reported
params, problems = render_parameter_controls(choice)
check = validate(params, model_id=choice.model or choice.label, streaming=True)
problems += check.errors + ([Problem("model", choice.model_problem)] if choice.model_problem else [])
render_parameter_problems(problems, check.warnings)
detail = render_image_settings(choice, config.max_image_mb)
render_system_prompt()
history = st.sidebar.container()  # drawn last, so it lists this run's conversation
render_presets(chat)
render_export_import(chat)
render_save_as_prompt_file(chat, choice, params)
if config.github_models_url:  # GitHub Models was retired: its token only matters with an explicit URL
    render_session_token_input()
render_custom_endpoint_form(resources.endpoint_policy(config))

st.title("Chat")
st.caption(plain(f"{choice.label} — {choice.endpoint.url}"))  # a model id or endpoint name may be anyone's
render_code_view(*resources.code_spec(chat, choice, params, check.stream))
with st.container():  # one block, so that what follows keeps its place as the conversation grows
    pending = {str(call.get("id")) for call in chat.pending_tool_calls()}
    render_conversation(chat.messages, chat.shown, on_show_earlier=chat.show_earlier, on_edit=chat.edit_and_resend,
                        on_regenerate=chat.regenerate, tools=params.tools, pending=pending,
                        on_tool_result=lambda call_id, text: chat.add_tool_result(choice, call_id, text))
render_stop_button()


# A prompt reruns only this fragment, not the sidebar nor the conversation so far: the reply's
# first token reaches the browser without the rest of the page queued ahead of it. Messages the
# last full run did not draw (this prompt, or one an error left unanswered) are drawn here. A
# finished reply reruns the whole page, which draws them in the conversation above first and
# then empties this fragment's one slot: never a moment without the prompt on the page.
def take_prompt(text: str, files: list[tuple[str, bytes]]) -> str | None:
    refused = chat.submit_prompt(choice, text, files, max_image_mb=config.max_image_mb, detail=detail)
    if refused is None and chat.conversation_id:
        st.query_params["c"] = chat.conversation_id  # a reload or a bookmark brings it back
    return refused


@st.fragment
def composer(drawn: int) -> None:
    refused = render_prompt_input("Message the model", keys.PROMPT, keys.ATTACH_ERROR, config.max_image_mb,
                                  take_prompt, submit_mode="disable")
    # The one slot is written once per run, as nothing or as one block: an empty placeholder put
    # first and filled after could reach the browser on its own and take the prompt off the page.
    if not (chat.messages[drawn:] or chat.sending or chat.error or refused or chat.deleted):
        st.empty()
        return
    with st.container():
        for message in chat.messages[drawn:]:
            render_message(message)
        if chat.take_send() and chat.awaiting_reply:
            send()
        if chat.error:
            st.error(plain(chat.error), icon=":material/error:")  # it quotes the server
            if chat.awaiting_reply:
                st.button("Retry", icon=":material/refresh:", on_click=chat.request_retry)
        render_refusal(refused)
        if chat.deleted:  # in another tab: what it refused to save is still here
            st.button("Restore the conversation", icon=":material/restore_from_trash:", on_click=chat.restore)


def send() -> None:
    blocked = [problem.message for problem in problems]
    if unseen := images_problem(choice, st.session_state[keys.VISION], chat.messages):
        blocked.append(unseen)
    if blocked:
        chat.fail("Not sent. " + " ".join(blocked))
        return
    client = resources.client_for(choice.endpoint, config)
    on_headers = resources.rate_limit_hook(choice.endpoint, choice.model)
    try:
        recorder = chat.begin_reply(choice, expect_json=params.response_format is not None)
        if check.stream:
            stream = client.stream_chat(chat.request(), params, choice.model, on_headers=on_headers)
            render_streamed_reply(stream, chat.generation(), on_done=recorder.finish)
        else:
            with st.spinner("Waiting for the whole reply (it cannot stream)…"):
                reply = client.complete_chat(chat.request(), params, choice.model, on_headers=on_headers)
            recorder.finish(reply, reply.finish_reason)
    except PlaygroundError as error:
        chat.fail(error.message)
    else:
        st.rerun()  # the whole page: the reply with its actions, the history, the rate limits, View code


composer(len(chat.messages))

with rate_meter:
    render_rate_limits(resources.rate_limit_reading(choice.endpoint, choice.model), choice.endpoint.label)
with history:
    render_history(chat)
