"""Expanders and popovers filled only while open.

Streamlit sends, and the browser draws, everything inside a closed expander or popover on every
run. Filled only while open, they cost nothing until used: the page's size is what delays a
reply's first token in the browser (docs/performance.md). Opening one reruns the page (or the
fragment it is in) to fill it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st


def lazy_expander(label: str, key: str, icon: str | None = None, where: Any = st) -> Any:
    """`where.expander(...)`; draw into it only when its `.open` is true."""
    return where.expander(label, icon=icon, key=key, on_change="rerun")


def lazy_popover(icon: str, help: str, key: str) -> Any:
    """An icon-only `st.popover`; draw into it only when its `.open` is true."""
    return st.popover("", icon=icon, help=help, key=key, on_change="rerun")
