"""Signing in and out: the sign-in screen, who is signed in (sidebar), the "not allowed" page."""

from __future__ import annotations

import streamlit as st

from components.plain_text import plain
from playground.auth import SignInOption, User


def render_sign_in(options: list[SignInOption]) -> None:
    """Streamlit's OIDC sign-in (st.login), one button per configured provider."""
    st.title("Model Playground")
    st.write("Sign in to use the playground. Your conversations, comparisons and presets are yours alone.")
    for option in options:
        if st.button(option.label, type="primary", icon=":material/login:"):  # labels differ: no key needed
            st.login(option.provider)


def _sign_out_button(where) -> None:
    if where.button("Sign out", icon=":material/logout:"):
        st.logout()


def render_account(user: User) -> None:
    """Who is signed in, and Sign out (in the sidebar, above the page's own controls)."""
    box = st.sidebar.container(horizontal=True, vertical_alignment="center")
    box.caption(f"Signed in as {plain(user.display_name)}")
    _sign_out_button(box)


def render_not_allowed(user: User) -> None:
    st.title("Not allowed")
    st.write(f"You are signed in as {plain(user.display_name)}, but this playground is not open to that account. "
             "Ask its administrator to add you, or sign out and use another account.")
    _sign_out_button(st)
