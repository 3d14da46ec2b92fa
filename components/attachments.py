"""Images in a prompt: the prompt box that takes them (pick, paste or drop), and the sidebar's
image settings (detail, and whether the endpoint's model reads images)."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

import streamlit as st

from playground import state as keys
from playground.messages import DETAILS, IMAGE_EXTENSIONS
from playground.providers import ModelChoice

NOT_SENT = "not sent"
# A prompt box's handler: (text, [(file name, bytes)]) -> why nothing was added, or None.
OnPrompt = Callable[[str, list[tuple[str, bytes]]], "str | None"]


def image_placeholder(placeholder: str, max_mb: int) -> str:
    return f"{placeholder} · images up to {max_mb} MB each (PNG, JPEG, WebP, GIF)"


def render_prompt_input(placeholder: str, key: str, error_key: str, max_mb: int, on_prompt: OnPrompt,
                        where: Any = st.bottom, **options: Any) -> None:
    """A chat input taking text and several images. `on_prompt` runs on submit; when it refuses
    (a file too large, not an image...), its reason is shown and the text goes back in the box."""
    ss = st.session_state

    def submitted() -> None:
        value = ss.get(key)
        if value is None:
            return
        text = getattr(value, "text", value) or ""
        files = [(f.name, f.getvalue()) for f in getattr(value, "files", None) or ()]
        problem = on_prompt(text, files)
        if problem:
            ss[error_key] = problem
            ss[key] = text  # shown in the box again, not submitted

    where.chat_input(image_placeholder(placeholder, max_mb), key=key, accept_file="multiple",
                     file_type=list(IMAGE_EXTENSIONS), max_upload_size=max_mb, on_submit=submitted, **options)
    problem = ss.pop(error_key, None)
    if problem:
        st.warning(problem, icon=":material/image_not_supported:")


def render_image_settings(choice: ModelChoice, max_mb: int) -> str | None:
    """The sidebar's Images expander: the detail images are sent with, and, when no catalog says
    whether this model reads images, the user's word for this endpoint. Returns the detail (None: not sent)."""
    ss = st.session_state
    overrides: MutableMapping[str, bool] = ss.setdefault(keys.VISION, {})
    with st.sidebar.expander("Images", icon=":material/image:"):
        detail = st.selectbox("Image detail", [*DETAILS, NOT_SENT], key=keys.IMAGE_DETAIL, persist_state=keys.KEEP,
                              help="Sent with each image as image_url.detail; low is cheaper, high reads more. "
                                   "\"not sent\" leaves it to the service.")
        if choice.accepts_images is None:
            key = keys.VISION_INPUT + choice.provider.id
            ss.setdefault(key, bool(overrides.get(choice.provider.id, False)))
            overrides[choice.provider.id] = st.checkbox(
                "This model accepts images", key=key,
                help="No catalog says whether this endpoint's model reads images: tick this if it does "
                     "(kept for this endpoint, this session).")
        else:
            st.caption("Its catalog entry says this model "
                       + ("accepts images." if choice.accepts_images else "takes text only."))
        st.caption(f"Attach PNG, JPEG, WebP or GIF images up to {max_mb} MB each: the clip in the prompt box, "
                   "paste, or drag and drop.")
    return None if detail == NOT_SENT else detail
