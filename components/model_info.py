"""The model card: what /info or the endpoint's model list says, and what a catalog or the built-in
list knows, with the source named."""

from __future__ import annotations

import streamlit as st

from components.plain_text import plain
from playground.catalog import CatalogModel
from playground.types import ModelEntry, ModelInfo


def _tokens(value: int | None) -> str:
    return f"{value:,}" if value else "not published"


def render_facts(facts: list[tuple[str, str]]) -> None:
    """Label and value pairs as a table, each value shown whole and wrapped: st.metric cuts long
    values short with an ellipsis, and the values are what this page exists to show."""
    head = "| " + " | ".join(plain(label) for label, _ in facts) + " |"
    rule = "|" + " --- |" * len(facts)
    row = "| " + " | ".join(f"**{plain(value)}**" for _, value in facts) + " |"
    st.markdown("\n".join((head, rule, row)))


def render_model_info(info: ModelInfo | None, card: CatalogModel | None, source: str) -> None:
    # Every name and value below is what an endpoint or a catalog said: shown literally.
    st.subheader(plain(info.name if info else card.name if card else "Unknown model"))
    facts = [("Type", info.model_type if info else "chat-completions"),
             ("Provider", info.provider if info else card.publisher if card else "unknown")]
    if card:
        facts += [("Publisher", card.publisher), ("Max input tokens", _tokens(card.max_input_tokens)),
                  ("Max output tokens", _tokens(card.max_output_tokens))]
    render_facts(facts)
    if card:
        st.markdown(plain(card.summary))

        def listed(values: list[str]) -> str:
            return plain(", ".join(values))

        st.markdown(
            f"**Model id:** {plain(card.id)}  \n"
            f"**Input:** {listed(card.input_modalities)} · **Output:** {listed(card.output_modalities)}  \n"
            + (f"**Capabilities:** {listed(card.capabilities)}  \n" if card.capabilities else "")
            + (f"**Version:** {plain(card.version)}  \n" if card.version else "")
        )
        if card.html_url:
            st.link_button("Model card", card.html_url, icon=":material/open_in_new:")
    st.caption(f"Source: {plain(source)}.")


def render_listed_model(entry: ModelEntry | None, model: str | None, card: CatalogModel | None, source: str) -> None:
    """An OpenAI v1 endpoint's model: what its list says (id, owned_by); built-in limits, when the
    built-in list knows the model, under their own source."""
    st.subheader(plain(entry.id if entry else model or "No model picked"))
    if entry:
        render_facts([("Model id", entry.id), ("Owned by", entry.owned_by or "not listed")])
        st.caption(f"Source: {plain(source)}.")
    if card:
        render_facts([("Publisher", card.publisher), ("Max input tokens", _tokens(card.max_input_tokens)),
                      ("Max output tokens", _tokens(card.max_output_tokens))])
        if card.summary:
            st.markdown(plain(card.summary))
        st.caption("Source: the playground's built-in list of Microsoft Foundry's Phi and Meta Llama models.")
