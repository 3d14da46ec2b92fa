"""What a user sees when saving is refused: a reply that ends after another tab deleted its
conversation (two sessions of one user), and a prompt past the per-user storage budget. AppTest
against a local server standing in for a cloud endpoint, and a real SQLite file."""

from __future__ import annotations

import os
import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from playground.store import Store
from tests.pages.apptest import open_page, send
from tests.support.fake_service import FakeService, Reply, chunk


@pytest.fixture
def env(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    clean_env.setenv("AZURE_INFERENCE_CREDENTIAL", "k")
    return clean_env


def store() -> Store:
    return Store(os.environ["PLAYGROUND_DB_PATH"])


def wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)  # polling with a deadline, not ordering events


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_a_reply_ending_after_another_tab_deleted_its_conversation_is_kept_and_can_be_restored(env):
    held = Reply(events=[chunk("Once "), chunk("upon "), chunk("a time"), chunk(finish_reason="stop")], hold_after=2)
    with FakeService([held]) as fake:
        env.setenv("AZURE_INFERENCE_ENDPOINT", fake.url)
        streaming = open_page()
        streaming.chat_input[0].set_value("Tell me a story")
        run = threading.Thread(target=streaming.run, daemon=True)
        run.start()  # the reply streams in this tab...
        wait_for(lambda: fake.requests, "the request")
        (summary,) = store().list()
        # ...while the user deletes the conversation in another tab. AppTest runs one script at a
        # time in a process (a second run would tear down the first's runtime), so the other tab's
        # History > Delete is done here as its callback does it: store.delete, on its own connection.
        store().delete(summary.id)
        held.release.set()
        run.join(timeout=120)
    assert not run.is_alive() and not streaming.exception, streaming.exception

    messages = streaming.session_state["chat_messages"]
    assert [m.content for m in messages] == ["Tell me a story", "Once upon a time"]  # still on the page
    assert ("This conversation was deleted in another tab or window, so the reply above was not saved. Restore "
            "the conversation to keep it, or start a new chat.") in errors(streaming)
    assert [m.content for m in store().get(summary.id).messages] == ["Tell me a story"]  # none written unseen

    next(b for b in streaming.button if b.label == "Restore the conversation").click().run()
    assert not streaming.exception and not errors(streaming)
    restored = store().get(summary.id)
    assert restored.deleted_at is None
    assert [m.content for m in restored.messages] == ["Tell me a story", "Once upon a time"]
    other = open_page()  # the other tab, reloaded, lists it again
    assert f"history_open_{summary.id}" in [b.key for b in other.sidebar.button]

    store().delete(summary.id)  # deleted again; then a prompt typed in the tab still showing it
    send(streaming, "And then?")
    assert ("This conversation was deleted in another tab or window, so your prompt was not sent. Restore the "
            "conversation to continue it, or start a new chat.") in errors(streaming)
    assert streaming.chat_input[0].value == "And then?"  # back in the box
    assert "Restore the conversation" in [b.label for b in streaming.button]
    assert len(store().get(summary.id).messages) == 2


def test_a_prompt_past_the_storage_budget_says_so_and_keeps_the_prompt(env):
    env.setenv("PLAYGROUND_USER_STORAGE_MB", "1")
    with FakeService([Reply(events=[chunk("Noted."), chunk(finish_reason="stop")])]) as fake:
        env.setenv("AZURE_INFERENCE_ENDPOINT", fake.url)
        at = send(open_page(), "x" * 700_000)
        cid = at.session_state["chat_conversation_id"]
        sent = len(fake.requests)
        prompt = "y" * 400_000
        send(at, prompt)
        assert len(fake.requests) == sent  # nothing sent
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Not sent: Your saved conversations take ") and "KB of the 1 MB each user may keep on "
               "this deployment, and this needs 390.7 KB more. Delete conversations you no longer need" in w
               for w in warnings), warnings
    assert at.chat_input[0].value == prompt  # back in the box
    assert [m.content[:1] for m in at.session_state["chat_messages"]] == ["x", "N"]
    assert [m.content[:1] for m in store().get(cid).messages] == ["x", "N"]
