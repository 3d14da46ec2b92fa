"""Model info: what the selected endpoint says about its model (`/info`, or its model list)."""

import streamlit as st

import resources
from components.model_info import render_model_info
from components.model_picker import render_model_picker
from playground.client import PlaygroundError
from playground.providers import GITHUB

config = resources.settings()
choice = render_model_picker(resources.providers(config), resources.catalog_loader(config))

st.title("Model info")
st.caption(f"{choice.endpoint.label} — {choice.endpoint.url}")
catalog_source = "the built-in model list (the catalog was unreachable)" if choice.card and choice.card.offline \
    else "GitHub Models' catalog"

if choice.provider.kind == GITHUB:
    # GitHub Models has no /info route (it answers 404); its catalog describes the models.
    render_model_info(None, choice.card, catalog_source)
else:
    try:
        info = resources.client_for(choice.endpoint, config).model_info()
    except PlaygroundError as error:
        st.warning(error.message, icon=":material/info:")
        if choice.card:
            render_model_info(None, choice.card, catalog_source)
    else:
        render_model_info(info, choice.card, f"the endpoint's /info route ({choice.endpoint.url}/info)")
