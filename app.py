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
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/science:"),
    st.Page("pages/model_info.py", title="Model info", icon=":material/info:"),
]


def only(screen, title: str) -> list:
    """`screen` in place of every page: a link to /compare shows it too, not "page not found"."""
    return [st.Page(screen, title=title, url_path=page.url_path or "home", default=page is PAGES[0])
            for page in PAGES]


def frame() -> tuple[list, str]:
    options = resources.sign_in()
    if options is None:
        return PAGES, "sidebar"
    user = resources.current_user()
    if user is None:
        return only(lambda: render_sign_in(options), "Sign in"), "hidden"
    if not resources.allowed(user, resources.settings()):
        return only(lambda: render_not_allowed(user), "Not allowed"), "hidden"
    render_account(user)
    return PAGES, "sidebar"


pages, position = frame()
st.navigation(pages, position=position).run()
