""""View code": the current conversation, model and parameters as runnable code in four languages."""

from __future__ import annotations

import streamlit as st

from components.lazy import lazy_expander
from playground import codegen
from playground import state as keys





def render_code_view(spec: codegen.RequestSpec | None, note: str | None = None) -> None:
    # Four highlighted listings of the whole conversation were the page's heaviest part.
    expander = lazy_expander("View code", keys.VIEW_CODE, icon=":material/code:")
    with expander:
        if not expander.open:
            return
        if spec is None:
            st.info(note or "Nothing to show yet.")
            return
        if note:
            st.caption(note)
        tabs = st.tabs([codegen.label(language) for language in codegen.LANGUAGES])
        for tab, language in zip(tabs, codegen.LANGUAGES):
            code = codegen.generate(language, spec)
            with tab:
                st.code(code, language=codegen.highlight(language), line_numbers=True)  # has a copy button
                st.download_button("Download", code.encode("utf-8"), file_name=codegen.file_name(language),
                                   mime="text/plain", icon=":material/download:", key=f"download_{language}")
