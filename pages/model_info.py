"""Model info: what the selected endpoint says about its model (`/info`, or its model list)."""

import streamlit as st

import resources
from components.model_info import render_listed_model, render_model_info
from components.model_picker import render_model_picker
from components.plain_text import plain
from playground.client import PlaygroundError
from playground.providers import GITHUB

config = resources.settings()
load_listing = resources.catalog_loader(config)
choice = render_model_picker(resources.providers(config), load_listing)

st.title("Model info")
st.caption(plain(f"{choice.endpoint.label} — {choice.endpoint.url}"))

if choice.provider.kind == GITHUB:
    # GitHub Models has no /info route (it answered 404); its catalog described the models.
    listing = load_listing(choice.provider)
    render_model_info(None, choice.card, f"the built-in model list (the catalog could not be read: "
                      f"{listing.offline_reason})" if listing.offline_reason else "GitHub Models' catalog")
elif choice.provider.lists_models:
    # OpenAI v1 has no /info: the endpoint's model list is what it says about its models.
    listing = load_listing(choice.provider)
    if listing.offline_reason:
        st.warning(f"The model list could not be read: {plain(listing.offline_reason)}", icon=":material/cloud_off:")
    elif choice.model and choice.entry is None:
        st.info(f"The endpoint's model list does not name '{plain(choice.model)}'; requests send it as typed.",
                icon=":material/info:")
    render_listed_model(choice.entry, choice.model, choice.card, listing.source)
else:
    try:
        info = resources.client_for(choice.endpoint, config).model_info()
    except PlaygroundError as error:
        st.warning(plain(error.message), icon=":material/info:")  # it quotes the server
    else:
        render_model_info(info, choice.card, f"the endpoint's /info route ({choice.endpoint.url}/info)")
