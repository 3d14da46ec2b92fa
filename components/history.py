"""The sidebar's conversation history, presets, and export/import of conversations."""

from __future__ import annotations

import streamlit as st

from components.lazy import lazy_expander
from components.plain_text import plain
from playground import state as keys
from playground import tools
from playground.chat import Chat
from playground.params import PARAMETERS
from playground.store import InvalidImport


def _open(conversation_id: str) -> None:
    st.query_params["c"] = conversation_id


def _new_chat(chat: Chat) -> None:
    chat.new()
    st.query_params.pop("c", None)


def _delete(chat: Chat, conversation_id: str) -> None:
    chat.store.delete(conversation_id)
    st.session_state[keys.UNDO] = conversation_id
    if chat.conversation_id == conversation_id:
        _new_chat(chat)


def _undo(chat: Chat) -> None:
    conversation_id = st.session_state.pop(keys.UNDO, None)
    if conversation_id:
        chat.store.undelete(conversation_id)
        _open(conversation_id)


def _rename(chat: Chat, conversation_id: str) -> None:
    chat.store.rename(conversation_id, st.session_state.get(keys.RENAME + conversation_id, ""))


def render_new_chat_button(chat: Chat) -> None:
    st.sidebar.button("New chat", icon=":material/add_comment:", on_click=_new_chat, args=(chat,), width="stretch")


def render_history(chat: Chat) -> None:
    """Chats and comparisons, newest first (a comparison opens in the Compare page). Draws where
    it is called (the page puts it in the sidebar, after this run's saves)."""
    ss = st.session_state
    with st.expander("History", icon=":material/history:", expanded=True):
        search = st.text_input("Search conversations", key=keys.HISTORY_SEARCH, placeholder="Search conversations",
                               label_visibility="collapsed")
        if ss.get(keys.UNDO):
            st.button("Undo delete", icon=":material/undo:", on_click=_undo, args=(chat,))
        summaries = chat.store.list(search, limit=30)
        if not summaries:
            st.caption("No saved conversations yet." if not search else "Nothing matches.")
        for summary in summaries:
            title = summary.title or "Untitled"
            left, right = st.columns([5, 1], vertical_alignment="center")
            comparison = summary.kind == "compare"
            left.button(plain(title), key=keys.OPEN + summary.id, on_click=_open, args=(summary.id,),
                        icon=":material/compare_arrows:" if comparison else None,
                        type="primary" if summary.id == chat.conversation_id else "tertiary", width="stretch",
                        help=f"{'Comparison' if comparison else 'Chat'} · {summary.message_count} messages")
            with right.popover("", icon=":material/more_vert:"):
                st.text_input("Title", value=title, key=keys.RENAME + summary.id)
                st.button("Rename", key=keys.DO_RENAME + summary.id, on_click=_rename, args=(chat, summary.id))
                st.button("Delete", key=keys.DELETE + summary.id, icon=":material/delete:",
                          on_click=_delete, args=(chat, summary.id))
        st.caption("Deleted conversations can be restored with Undo for 30 days, then they are purged.")


def _save_preset(chat: Chat) -> None:
    ss = st.session_state
    name = (ss.get(keys.PRESET_NAME) or "").strip()
    if name:
        chat.store.save_preset(name, {"system_prompt": ss[keys.SYSTEM_PROMPT],
                                      "parameters": {p.name: ss[keys.CHAT + p.name] for p in PARAMETERS},
                                      **tools.setup_of(ss)})  # tools, tool_choice, parallel calls, canned results
        ss[keys.PRESET_NAME] = ""


def _load_preset(chat: Chat) -> None:
    preset = chat.store.presets().get(st.session_state.get(keys.PRESET_CHOICE) or "")
    if preset:
        chat.apply_setup(preset)


def _delete_preset(chat: Chat) -> None:
    ss = st.session_state
    name = ss.get(keys.PRESET_CHOICE) or ""
    preset = chat.store.presets().get(name)
    if preset is not None and chat.store.delete_preset(name):
        ss[keys.PRESET_DELETED] = (name, preset)
        ss.pop(keys.PRESET_CHOICE, None)


def _undo_preset(chat: Chat) -> None:
    deleted = st.session_state.pop(keys.PRESET_DELETED, None)
    if deleted:
        chat.store.save_preset(*deleted)


def render_presets(chat: Chat) -> None:
    expander = lazy_expander("Presets", keys.PRESETS_OPEN, icon=":material/tune:", where=st.sidebar)
    with expander:
        if not expander.open:
            return
        names = list(chat.store.presets())
        if names:
            st.selectbox("Preset", names, key=keys.PRESET_CHOICE)
            with st.container(horizontal=True, gap="small"):
                st.button("Load preset", on_click=_load_preset, args=(chat,))
                st.button("Delete preset", icon=":material/delete:", on_click=_delete_preset, args=(chat,))
        if st.session_state.get(keys.PRESET_DELETED):
            st.button(f"Undo: restore “{plain(st.session_state[keys.PRESET_DELETED][0])}”", icon=":material/undo:",
                      on_click=_undo_preset, args=(chat,))
        st.text_input("Save the system prompt, parameters and tools as", key=keys.PRESET_NAME,
                      placeholder="preset name")
        st.button("Save preset", on_click=_save_preset, args=(chat,))


def render_export_import(chat: Chat) -> None:
    ss = st.session_state
    store, current = chat.store, chat.conversation_id
    expander = lazy_expander("Export / import", keys.EXPORT_OPEN, icon=":material/import_export:", where=st.sidebar)
    with expander:
        if not expander.open:
            return
        if current and store.get(current):
            st.download_button("Export JSON", store.export_json(current), file_name="conversation.json",
                               mime="application/json", icon=":material/download:")
            st.download_button("Export Markdown", store.export_markdown(current), file_name="conversation.md",
                               mime="text/markdown", icon=":material/download:")
        upload = st.file_uploader("Import a conversation (JSON)", type=["json"],
                                  key=keys.IMPORT + str(ss.get(keys.IMPORT_ROUND, 0)))
        if upload is not None:
            try:
                imported = store.import_json(upload.getvalue())
            except InvalidImport as error:
                st.error(f"Not imported: {plain(error)}")  # it may quote the file
            else:
                ss[keys.IMPORT_ROUND] = ss.get(keys.IMPORT_ROUND, 0) + 1
                _open(imported)
                st.rerun()


