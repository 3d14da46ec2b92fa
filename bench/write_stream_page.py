"""The chat page reduced to plain `st.write_stream`, for bench_render.py's comparison only.

Same ChatClient stream as the playground's chat page (AZURE_INFERENCE_ENDPOINT and
AZURE_INFERENCE_CREDENTIAL name the endpoint), drawn the way Streamlit's docs suggest:
`st.write_stream`, which re-renders the whole reply on every chunk. Nothing else on the page
(no sidebar, no store), so any cost it shows is the drawing, not the page around it.
Run: streamlit run bench/write_stream_page.py
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from playground.client import ChatClient, ChatParams, Endpoint, Transport  # noqa: E402
from playground.settings import Secret  # noqa: E402


@st.cache_resource
def client() -> Transport:
    key = os.environ.get("AZURE_INFERENCE_CREDENTIAL") or "bench"
    return ChatClient(Endpoint(os.environ["AZURE_INFERENCE_ENDPOINT"], "bench endpoint", Secret(key)))


ss = st.session_state
ss.setdefault("messages", [])
st.title("Chat (st.write_stream)")
for message in ss.messages:
    with st.chat_message(message["role"]):
        st.markdown(message["content"])

prompt = st.chat_input("Message the model")
if prompt:
    ss.messages.append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        st.markdown(prompt)
    with st.chat_message("assistant"):
        stream = client().stream_chat(ss.messages, ChatParams())
        st.write_stream(stream)
    ss.messages.append({"role": "assistant", "content": stream.text})
