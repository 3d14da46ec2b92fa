"""The model card: what /info says and what the catalog knows, with the source named."""

from __future__ import annotations

import streamlit as st

from playground.catalog import CatalogModel
from playground.client import ModelInfo


def _tokens(value: int | None) -> str:
    return f"{value:,}" if value else "not published"


def render_model_info(info: ModelInfo | None, card: CatalogModel | None, source: str) -> None:
    st.subheader(info.name if info else card.name if card else "Unknown model")
    columns = st.columns(3)
    columns[0].metric("Type", info.model_type if info else "chat-completions")
    columns[1].metric("Provider", info.provider if info else card.publisher if card else "unknown")
    if card:
        columns[2].metric("Publisher", card.publisher)
        st.write(card.summary)
        limits = st.columns(2)
        limits[0].metric("Max input tokens", _tokens(card.max_input_tokens))
        limits[1].metric("Max output tokens", _tokens(card.max_output_tokens))
        st.markdown(
            f"**Model id:** `{card.id}`  \n"
            f"**Input:** {', '.join(card.input_modalities)} · **Output:** {', '.join(card.output_modalities)}  \n"
            + (f"**Capabilities:** {', '.join(card.capabilities)}  \n" if card.capabilities else "")
            + (f"**Version:** {card.version}  \n" if card.version else "")
        )
        tier = card.tier_limits
        if card.rate_limit_tier:
            st.markdown(f"**Rate-limit tier:** {card.rate_limit_tier}")
        if tier:
            st.caption(
                f"Published free-tier limits for {card.rate_limit_tier}: {tier.requests_per_minute} requests/minute, "
                f"{tier.requests_per_day} requests/day, {tier.input_tokens:,} input and {tier.output_tokens:,} output "
                f"tokens per request, {tier.concurrent} concurrent requests."
            )
        if card.html_url:
            st.link_button("Model card", card.html_url, icon=":material/open_in_new:")
    st.caption(f"Source: {source}.")
