"""Images in a prompt: the prompt box that takes them (pick, paste or drop), and the sidebar's
image settings (detail, and whether the endpoint's model reads images)."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

import streamlit as st

from components.plain_text import plain
from playground import state as keys
from playground.messages import DETAILS, IMAGE_EXTENSIONS
from playground.providers import ModelChoice

NOT_SENT = "not sent"
# A prompt box's handler: (text, [(file name, bytes)]) -> why nothing was added, or None.
OnPrompt = Callable[[str, list[tuple[str, bytes]]], "str | None"]


def image_placeholder(placeholder: str, max_mb: int) -> str:
    return f"{placeholder} · images up to {max_mb} MB each (PNG, JPEG, WebP, GIF)"


def render_prompt_input(placeholder: str, key: str, error_key: str, max_mb: int, on_prompt: OnPrompt,
                        where: Any = st.bottom, **options: Any) -> str | None:
    """A chat input taking text and several images. `on_prompt` runs on submit; when it refuses
    (a file too large, not an image...), the text goes back in the box and the reason is
    returned, for the caller to show (see render_refusal)."""
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
    return ss.pop(error_key, None)


def render_refusal(problem: str | None) -> None:
    if problem:  # it names the file, or the functions a model's calls wait for
        st.warning(plain(problem), icon=":material/image_not_supported:")


def _vision_input(choice: ModelChoice, label: str = "This model accepts images") -> None:
    """The user's word on whether an endpoint's model reads images, when no catalog says."""
    ss = st.session_state
    overrides: MutableMapping[str, bool] = ss.setdefault(keys.VISION, {})
    key = keys.VISION_INPUT + choice.provider.id
    ss.setdefault(key, bool(overrides.get(choice.provider.id, False)))
    overrides[choice.provider.id] = st.checkbox(
        label, key=key, help="No catalog says whether this endpoint's model reads images: tick this if it does "
                             "(kept for this endpoint, this session).")


def _detail(key: str) -> str | None:
    detail = st.selectbox("Image detail", [*DETAILS, NOT_SENT], key=key, persist_state=keys.KEEP,
                          help="Sent with each image as image_url.detail; low is cheaper, high reads more. "
                               "\"not sent\" leaves it to the service.")
    return None if detail == NOT_SENT else detail


def _how_to_attach(max_mb: int) -> None:
    st.caption(f"Attach PNG, JPEG, WebP or GIF images up to {max_mb} MB each: the clip in the prompt box, "
               "paste, or drag and drop.")


def render_columns_image_settings(choices: Sequence[ModelChoice], max_mb: int) -> str | None:
    """Compare's Images expander: the detail, and the user's word for each column's endpoint
    that no catalog describes. Returns the detail (None: not sent)."""
    with st.sidebar.expander("Images", icon=":material/image:"):
        detail = _detail(keys.COMPARE_IMAGE_DETAIL)
        seen: set[str] = set()
        for index, choice in enumerate(choices):
            if choice.accepts_images is None and choice.provider.id not in seen:
                seen.add(choice.provider.id)
                _vision_input(choice, f"{plain(choice.provider.label)} accepts images (column {index + 1})")
        _how_to_attach(max_mb)
    return detail


def render_image_settings(choice: ModelChoice, max_mb: int) -> str | None:
    """The sidebar's Images expander: the detail images are sent with, and, when no catalog says
    whether this model reads images, the user's word for this endpoint. Returns the detail (None: not sent)."""
    with st.sidebar.expander("Images", icon=":material/image:"):
        detail = _detail(keys.IMAGE_DETAIL)
        if choice.accepts_images is None:
            _vision_input(choice)
        else:
            st.caption("Its catalog entry says this model "
                       + ("accepts images." if choice.accepts_images else "takes text only."))
        _how_to_attach(max_mb)
    return detail
