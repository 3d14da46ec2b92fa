"""Compare: one prompt, the same history, 2 or 3 model/parameter setups streaming side by side."""

import streamlit as st

import resources
from components.attachments import render_columns_image_settings, render_prompt_input, render_refusal
from components.compare import (
    render_column_model,
    render_column_parameters,
    render_compare_options,
    render_compare_system_prompt,
    render_live_replies,
    render_new_comparison_button,
    render_shared_parameters,
    render_turns,
)
from components.model_picker import PREFERRED_GITHUB_MODEL
from playground import compare
from playground import state as keys
from playground.compare import ColumnRequest, ColumnSetup

ss = st.session_state
config = resources.settings()
store = resources.store(config)
compare.init(ss)
options = compare.model_options(resources.providers(config), resources.catalog_loader(config))
if wanted := st.query_params.get("c"):
    kind = compare.open_comparison(ss, store, wanted, options)
    if kind == "chat":
        st.switch_page("pages/chat.py", query_params={"c": wanted})
    elif kind is None:
        st.query_params.pop("c", None)
        st.toast("That conversation does not exist any more.", icon=":material/info:")

count, same = render_compare_options()
st.title("Compare")
st.caption("One prompt, the same conversation, several models or parameter sets, side by side.")
default = compare.default_option(options, PREFERRED_GITHUB_MODEL)
header = st.columns(count)
choices = []
for index, column in enumerate(header):
    with column:
        choices.append(render_column_model(index, options, default))
if same:
    params = render_shared_parameters(choices)
else:
    params = []
    for index, column in enumerate(header):
        with column:
            params.append(render_column_parameters(index, choices[index]))
setups = [ColumnSetup(choice, p) for choice, p in zip(choices, params, strict=True)]
system_prompt = render_compare_system_prompt()
detail = render_columns_image_settings(choices, config.max_image_mb)
render_new_comparison_button()


def column_requests(history: list) -> list[ColumnRequest]:
    requests = []
    for index, setup in enumerate(setups):
        choice = setup.choice
        requests.append(ColumnRequest(
            resources.client_for(choice.endpoint, config), compare.request_messages(history, system_prompt, index),
            setup.params, choice.model, setup.label, resources.rate_limit_hook(choice.endpoint, choice.model)))
    return requests


history = ss[keys.COMPARE_HISTORY]  # this run's list: New comparison replaces it, never empties it
run = ss.get(keys.COMPARE_RUN)  # workers outlive a rerun (Stop, any widget): this run draws them again
refused = render_prompt_input("Message every column", keys.COMPARE_PROMPT, keys.COMPARE_ATTACH_ERROR,
                              config.max_image_mb,
                              lambda text, files: compare.take_prompt(ss, setups, ss[keys.COMPARE_HISTORY], text, files,
                                                                      max_image_mb=config.max_image_mb, detail=detail),
                              where=st)
render_refusal(refused)
prompt, images = ss.pop(keys.COMPARE_ACCEPTED, (None, ()))
if prompt is not None and run is not None:  # a new prompt ends the comparison still streaming
    run.cancel()
    run.wait(timeout=5)
if run is not None and (run.done or prompt is not None):
    compare.fold(ss, run, history)
    run = None
if prompt is not None:
    conversation_id = compare.save_prompt(store, ss, history, prompt, setups, system_prompt, images)
    st.query_params["c"] = conversation_id
    run = ss[keys.COMPARE_RUN] = compare.start_run(
        column_requests(history), on_reply=compare.reply_saver(store, conversation_id))

if not history:
    st.info("Type a prompt below: every column answers it, with its own model and parameters.",
            icon=":material/compare_arrows:")
render_turns(history, count, live=run is not None)
if run is not None:
    render_live_replies(run, [worker.request.label for worker in run.workers])
    compare.fold(ss, run, history)
