"""The sidebar's conversation history, presets, and export/import of conversations."""

from __future__ import annotations

import re

import streamlit as st

from components.lazy import lazy_expander
from playground import state
from playground.store import InvalidImport, Store

UNDO = "history_undo"  # the id of the conversation just deleted
IMPORT_ROUND = "history_import_round"  # bumped to give the uploader a fresh, empty widget


def plain(text: str) -> str:
    """Show user text literally in places Streamlit renders as markdown (button labels)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", text)


def _open(conversation_id: str) -> None:
    st.query_params["c"] = conversation_id


def _new_chat() -> None:
    state.new_chat(st.session_state)
    st.query_params.pop("c", None)


def _delete(store: Store, conversation_id: str) -> None:
    store.delete(conversation_id)
    st.session_state[UNDO] = conversation_id
    if st.session_state.get(state.CONVERSATION_ID) == conversation_id:
        _new_chat()


def _undo(store: Store) -> None:
    conversation_id = st.session_state.pop(UNDO, None)
    if conversation_id:
        store.undelete(conversation_id)
        _open(conversation_id)


def _rename(store: Store, conversation_id: str) -> None:
    store.rename(conversation_id, st.session_state.get(f"rename_{conversation_id}", ""))


def render_new_chat_button() -> None:
    st.sidebar.button("New chat", icon=":material/add_comment:", on_click=_new_chat, width="stretch")


def render_history(store: Store) -> None:
    """Draws where it is called (the page puts it in the sidebar, after this run's saves)."""
    ss = st.session_state
    current = ss.get(state.CONVERSATION_ID)
    with st.expander("History", icon=":material/history:", expanded=True):
        search = st.text_input("Search conversations", key="history_search", placeholder="Search conversations",
                               label_visibility="collapsed")
        if ss.get(UNDO):
            st.button("Undo delete", icon=":material/undo:", on_click=_undo, args=(store,))
        summaries = store.list(search, limit=30)
        if not summaries:
            st.caption("No saved conversations yet." if not search else "Nothing matches.")
        for summary in summaries:
            title = summary.title or "Untitled"
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.button(plain(title), key=f"open_{summary.id}", on_click=_open, args=(summary.id,),
                        type="primary" if summary.id == current else "tertiary", width="stretch",
                        help=f"{summary.message_count} messages")
            with right.popover("", icon=":material/more_vert:"):
                st.text_input("Title", value=title, key=f"rename_{summary.id}")
                st.button("Rename", key=f"do_rename_{summary.id}", on_click=_rename, args=(store, summary.id))
                st.button("Delete", key=f"delete_{summary.id}", icon=":material/delete:",
                          on_click=_delete, args=(store, summary.id))


def _save_preset(store: Store) -> None:
    ss = st.session_state
    name = (ss.get("preset_name") or "").strip()
    if name:
        store.save_preset(name, {"system_prompt": ss.get(state.SYSTEM_PROMPT, ""),
                                 "parameters": {key: ss[key] for key in state.PARAMETER_DEFAULTS}})
        ss["preset_name"] = ""


def _load_preset(store: Store) -> None:
    ss = st.session_state
    preset = store.presets().get(ss.get("preset_choice") or "")
    if preset:
        if isinstance(preset.get("system_prompt"), str):
            ss[state.SYSTEM_PROMPT] = preset["system_prompt"]
        state.apply_parameters(ss, preset.get("parameters") or {})


def render_presets(store: Store) -> None:
    expander = lazy_expander("Presets", "presets_open", icon=":material/tune:", where=st.sidebar)
    with expander:
        if not expander.open:
            return
        names = list(store.presets())
        if names:
            st.selectbox("Preset", names, key="preset_choice")
            st.button("Load preset", on_click=_load_preset, args=(store,))
        st.text_input("Save the system prompt and parameters as", key="preset_name", placeholder="preset name")
        st.button("Save preset", on_click=_save_preset, args=(store,))


def render_export_import(store: Store) -> None:
    ss = st.session_state
    current = ss.get(state.CONVERSATION_ID)
    expander = lazy_expander("Export / import", "export_open", icon=":material/import_export:", where=st.sidebar)
    with expander:
        if not expander.open:
            return
        if current and store.get(current):
            st.download_button("Export JSON", store.export_json(current), file_name="conversation.json",
                               mime="application/json", icon=":material/download:")
            st.download_button("Export Markdown", store.export_markdown(current), file_name="conversation.md",
                               mime="text/markdown", icon=":material/download:")
        upload = st.file_uploader("Import a conversation (JSON)", type=["json"],
                                  key=f"import_{ss.get(IMPORT_ROUND, 0)}")
        if upload is not None:
            try:
                imported = store.import_json(upload.getvalue())
            except InvalidImport as error:
                st.error(f"Not imported: {error}")
            else:
                ss[IMPORT_ROUND] = ss.get(IMPORT_ROUND, 0) + 1
                _open(imported)
                st.rerun()
