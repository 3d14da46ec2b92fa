"""Model info: what the selected endpoint says about its model (its /info route)."""

import streamlit as st

import services
from components.model_info import render_model_info
from components.sidebar import render_model_picker
from playground import state
from playground.client import PlaygroundError

state.init(st.session_state)
choice = render_model_picker(services.model_choices())

st.title("Model info")
st.caption(f"{choice.endpoint.label} — {choice.endpoint.url}/info")
try:
    info = services.client_for(choice).model_info()
except PlaygroundError as error:
    st.warning(error.message, icon=":material/info:")
else:
    render_model_info(info)
