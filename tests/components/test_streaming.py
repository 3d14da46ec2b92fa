"""The streamed reply (components/streaming.py) as the browser receives it: each run of the chat
page sends deltas the browser can place, and the finished reply, with its metrics, takes the
streamed text's place in its bubble. The browser's rules are modelled in tests/support/browser_tree.py;
the page runs under streamlit.testing against the real embedded endpoint."""

from __future__ import annotations

from tests.pages.apptest import open_page, send
from tests.support.browser_tree import Node, apply, recorded_runs, texts


def bubbles(node: Node) -> list[Node]:
    found = [node] if node.kind == "chat_message" else []
    for child in node.children:
        found += bubbles(child)
    return found


def test_each_run_of_a_streamed_reply_can_be_drawn_and_the_finished_reply_fills_its_bubble(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    at = open_page()
    at.slider(key="chat_max_tokens").set_value(20)
    with recorded_runs() as runs:
        send(at, "Say hello.")
        send(at, "Again.")

    trees = [apply(run) for run in runs]  # raises where the browser would unmount the page

    reply = at.session_state["chat_messages"][-1].content.strip()
    drawn = [list(texts(bubble)) for tree in trees for bubble in bubbles(tree.children[0])
             if any(reply in text for text in texts(bubble))]
    assert len(drawn) >= 2, drawn  # the run that streamed it, then the rerun that draws the whole page
    for shown in drawn:
        assert not any("▌" in text for text in shown), shown
        assert any("completion tokens" in text for text in shown), shown
