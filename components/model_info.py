"""The model card drawn from an endpoint's /info answer."""

import streamlit as st

from playground.client import ModelInfo


def render_model_info(info: ModelInfo) -> None:
    st.subheader(info.name)
    left, right = st.columns(2)
    left.metric("Type", info.model_type)
    right.metric("Provider", info.provider)
    st.caption("Source: the endpoint's /info route.")
