"""Model Playground: the frame. Pages are listed here; each draws itself."""

from pathlib import Path

import streamlit as st

# A local file: a :material/...: page icon makes the browser fetch it from fonts.gstatic.com on every load.
st.set_page_config(page_title="Model Playground", page_icon=str(Path(__file__).parent / "static" / "icon.png"),
                   layout="wide")

page = st.navigation([
    st.Page("pages/chat.py", title="Chat", icon=":material/chat:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/science:"),
    st.Page("pages/model_info.py", title="Model info", icon=":material/info:"),
])
page.run()
