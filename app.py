"""Model Playground: the frame. Pages are listed here; each draws itself.

With an [auth] section in secrets.toml every page needs sign-in: until then (or for an account
PLAYGROUND_ALLOWED_USERS leaves out) the navigation lists only the sign-in or "not allowed"
screen, so no page runs whatever URL is opened. Without [auth]: local single-user mode."""

from pathlib import Path

import streamlit as st

import resources
from components.account import render_account, render_not_allowed, render_sign_in

# A local file: a :material/...: page icon makes the browser fetch it from fonts.gstatic.com on every load.
st.set_page_config(page_title="Model Playground", page_icon=str(Path(__file__).parent / "static" / "icon.png"),
                   layout="wide")

PAGES = [
    st.Page("pages/chat.py", title="Chat", icon=":material/chat:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/model_info.py", title="Model info", icon=":material/info:"),
]


def frame() -> list:
    options = resources.sign_in()
    if options is None:
        return PAGES
    user = resources.current_user()
    if user is None:
        return [st.Page(lambda: render_sign_in(options), title="Sign in", url_path="sign-in", default=True)]
    if not resources.allowed(user, resources.settings()):
        return [st.Page(lambda: render_not_allowed(user), title="Not allowed", url_path="not-allowed",
                        default=True)]
    render_account(user)
    return PAGES


st.navigation(frame()).run()  # one page (sign-in, not allowed): Streamlit shows no navigation
