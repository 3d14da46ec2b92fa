"""Model Playground: the frame. Pages are listed here; each draws itself."""

import streamlit as st

from playground import state

st.set_page_config(page_title="Model Playground", page_icon=":material/forum:", layout="wide")
state.init(st.session_state)

page = st.navigation([
    st.Page("pages/chat.py", title="Chat", icon=":material/chat:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/model_info.py", title="Model info", icon=":material/info:"),
])
page.run()
