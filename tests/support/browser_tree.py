"""What the browser does with the deltas one script run sends, to catch a run the browser cannot draw.

Streamlit's send queue folds a delta into an earlier one for the same place (forward_msg_queue.py),
so what arrives can be in a different order from what the script wrote. The browser builds its tree
as frontend/lib/src/render-tree/AppRoot.ts does: an element or block goes at its delta path; a
block that replaces a block of the same type keeps its children, of another type starts empty; a
path through a missing node, or an index past the end, is an error that unmounts the whole page
("Cannot set a node at a delta path"). Messages are captured under streamlit.testing, where one run
is one flush, the case in which the most deltas are folded, or from a real browser's websocket
(`received`), where `gaps` finds the moments a text the user was reading was off the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
from streamlit.testing.v1 import local_script_runner


class BrowserError(AssertionError):
    pass


@dataclass
class Node:
    kind: str  # a block's type ("chat_message", "flex_container"...) or "element:<type>"
    children: list[Node] = field(default_factory=list)
    text: str = ""


def _text(msg: ForwardMsg) -> str:
    element = msg.delta.new_element
    kind = element.WhichOneof("type")
    return getattr(getattr(element, kind), "body", "") if kind else ""


def empty_page() -> Node:
    return Node("root", [Node("main"), Node("sidebar"), Node("event"), Node("bottom")])


def apply(messages: list[ForwardMsg], root: Node | None = None,
          after_each: Callable[[int, Node], None] | None = None) -> Node:
    """The tree `messages` build on `root` (default: an empty page), calling `after_each(number,
    root)` after every delta placed; BrowserError where the browser fails."""
    root = root or empty_page()
    for number, msg in enumerate(messages):
        kind = msg.delta.WhichOneof("type") if msg.HasField("delta") else None
        if kind not in ("new_element", "add_block"):
            continue
        path = list(msg.metadata.delta_path)
        parent = root
        for depth, index in enumerate(path[:-1]):
            if index >= len(parent.children) or parent.children[index].kind.startswith("element:"):
                raise BrowserError(f"message {number} ({kind} at {path}): nothing at {path[:depth + 1]}")
            parent = parent.children[index]
        index = path[-1]
        if index > len(parent.children):
            raise BrowserError(f"message {number} ({kind} at {path}): index {index} past {len(parent.children)}")
        old = parent.children[index] if index < len(parent.children) else None
        if kind == "add_block":
            block_type = msg.delta.add_block.WhichOneof("type") or "vertical"
            node = Node(block_type, old.children if old is not None and old.kind == block_type else [])
        else:
            node = Node("element:" + str(msg.delta.new_element.WhichOneof("type")), text=_text(msg))
        if old is None:
            parent.children.append(node)
        else:
            parent.children[index] = node
        if after_each:
            after_each(number, root)
    return root


def texts(node: Node) -> Iterator[str]:
    if node.text:
        yield node.text
    for child in node.children:
        yield from texts(child)


@contextmanager
def recorded_runs() -> Iterator[list[list[ForwardMsg]]]:
    """Every script run's messages, as queued to be sent, while streamlit.testing runs a page:
    a run's queue is taken when the next run clears it (st.rerun) and when the run's tree is built."""
    runs: list[list[ForwardMsg]] = []
    clear, parse = ForwardMsgQueue.clear, local_script_runner.parse_tree_from_messages

    def recording_clear(self, *args, **kwargs):
        if self._queue:
            runs.append(list(self._queue))
        return clear(self, *args, **kwargs)

    def recording_parse(messages):
        runs.append(list(messages))
        return parse(messages)

    ForwardMsgQueue.clear = recording_clear  # type: ignore[method-assign]
    local_script_runner.parse_tree_from_messages = recording_parse
    try:
        yield runs
    finally:
        ForwardMsgQueue.clear = clear  # type: ignore[method-assign]
        local_script_runner.parse_tree_from_messages = parse


def received(page) -> list[ForwardMsg]:
    """Every message the Streamlit server sends `page` from now on, in order (filled as they come)."""
    messages: list[ForwardMsg] = []

    def on_frame(payload: bytes | str) -> None:
        if isinstance(payload, bytes):
            messages.append(ForwardMsg.FromString(payload))

    page.on("websocket", lambda socket: socket.on("framereceived", on_frame))
    return messages


def gaps(messages: list[ForwardMsg], text: str) -> list[int]:
    """The deltas after which `text`, once in the page's main area, was not in it: the moments
    the browser would draw the page without it."""
    found: list[int] = []
    seen = False

    def check(number: int, root: Node) -> None:
        nonlocal seen
        shown = any(text in piece for piece in texts(root.children[0]))
        if seen and not shown:
            found.append(number)
        seen = seen or shown

    apply(messages, after_each=check)
    return found
