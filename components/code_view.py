""""View code": the current conversation, model and parameters as runnable code in the languages its endpoint speaks."""

from __future__ import annotations

import streamlit as st

from components.lazy import lazy_expander
from components.plain_text import plain
from playground import codegen
from playground import state as keys


def render_code_view(spec: codegen.RequestSpec | None, note: str | None = None) -> None:
    # Four highlighted listings of the whole conversation were the page's heaviest part.
    expander = lazy_expander("View code", keys.VIEW_CODE, icon=":material/code:")
    with expander:
        if not expander.open:
            return
        if spec is None:
            st.info(plain(note or "Nothing to show yet."))  # it may quote a model id
            return
        if note:
            st.caption(plain(note))
        offered = codegen.languages(spec)
        files = [name for name, _ in codegen.attachments(spec)]
        if files:
            st.caption(f"The code reads the conversation's images from files next to it ({plain(', '.join(files))}); "
                       "Download gives a zip with them.")
        tabs = st.tabs([codegen.label(language) for language in offered])
        for tab, language in zip(tabs, offered, strict=True):
            code = codegen.generate(language, spec)
            name, data, mime = codegen.download(language, spec)
            with tab:
                st.code(code, language=codegen.highlight(language), line_numbers=True)  # has a copy button
                st.download_button("Download", data, file_name=name, mime=mime,
                                   icon=":material/download:", key=f"download_{language}")
