"""The chat page under streamlit.testing against the real embedded endpoint."""

from __future__ import annotations

import pytest

from tests.pages.apptest import open_lazy, open_page, send, shown


@pytest.fixture
def page(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    at = open_page()
    at.slider(key="chat_max_tokens").set_value(60)  # replies long enough to stream, short enough to be quick
    return at


def test_a_prompt_gets_a_streamed_reply_with_its_metrics(page):
    send(page, "Tell me about cats.")
    messages = page.session_state["chat_messages"]
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].content == "Tell me about cats."
    assert messages[1].content.strip()
    metrics = messages[1].metrics
    assert metrics["prompt_tokens"] > 5 and metrics["completion_tokens"] > 0
    assert metrics["finish_reason"] in ("stop", "length")
    captions = [c.value for c in page.caption]
    assert any("completion tokens" in c and "finish:" in c and "first token" in c for c in captions), captions
    assert [m.name for m in page.chat_message] == ["user", "assistant"]


def test_the_conversation_is_replayed_and_sent_as_history(page, endpoint):
    send(page, "My name is Ada.")
    send(page, "What is my name?")
    assert [m.role for m in page.session_state["chat_messages"]] == ["user", "assistant"] * 2
    sent = endpoint.last_request()["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "My name is Ada." and sent[3]["content"] == "What is my name?"
    assert len(page.chat_message) == 4


def test_parameter_controls_and_system_prompt_reach_the_request(page, endpoint):
    page.slider(key="chat_temperature").set_value(0.3)
    page.slider(key="chat_top_p").set_value(0.5)
    page.slider(key="chat_max_tokens").set_value(12)
    page.slider(key="chat_presence_penalty").set_value(0.5)
    page.slider(key="chat_frequency_penalty").set_value(-0.4)
    page.text_area(key="chat_system_prompt").set_value("Answer like a pirate.")
    send(page, "Hello")
    body = endpoint.last_request()["body"]
    assert body["temperature"] == pytest.approx(0.3)
    assert body["top_p"] == pytest.approx(0.5)
    assert body["max_tokens"] == 12
    assert body["presence_penalty"] == pytest.approx(0.5)
    assert body["frequency_penalty"] == pytest.approx(-0.4)
    assert body["messages"][0] == {"role": "system", "content": "Answer like a pirate."}
    assert page.session_state["chat_messages"][-1].metrics["completion_tokens"] <= 12


def test_new_chat_clears_the_conversation(page):
    send(page, "Hello")
    assert len(page.chat_message) == 2
    next(b for b in page.sidebar.button if b.label == "New chat").click().run()
    assert page.session_state["chat_messages"] == []
    assert len(page.chat_message) == 0


def test_a_refused_key_shows_what_to_fix_and_keeps_the_prompt(clean_env, keyed_endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(keyed_endpoint.port))
    clean_env.setenv("PLAYGROUND_LOCAL_API_KEY", "not-the-key")
    at = open_page()
    send(at, "Please remember this prompt.")
    assert "PLAYGROUND_LOCAL_API_KEY" in shown(at.error[0].value)
    assert [(m.role, m.content) for m in at.session_state["chat_messages"]] == [
        ("user", "Please remember this prompt.")]
    assert [b.label for b in at.button if b.label == "Retry"] == ["Retry"]
    # Fixing the key and pressing Retry sends the kept prompt without retyping it.
    clean_env.setenv("PLAYGROUND_LOCAL_API_KEY", "test-key-0123456789")
    next(b for b in at.button if b.label == "Retry").click().run()
    assert not at.error
    assert [m.role for m in at.session_state["chat_messages"]] == ["user", "assistant"]


def test_view_code_shows_the_session_as_runnable_code(page, endpoint, tmp_path):
    page.slider(key="chat_temperature").set_value(0.35)
    send(page, "Hello")
    assert not page.code  # drawn only when opened
    open_lazy(page, "chat_view_code")
    python = next(c.value for c in page.code if "ChatCompletionsClient" in c.value)
    assert "temperature=0.35" in python and endpoint.url in python and '"content": "Hello"' in python
    assert {c.language for c in page.code} >= {"python", "javascript", "bash"}
    # The Python tab, run as shown, sends what the session sends.
    import subprocess
    import sys
    script = tmp_path / "chat.py"
    script.write_text(python)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    body = endpoint.last_request()["body"]
    assert body["temperature"] == 0.35 and body["max_tokens"] == 60
    assert [m["content"] for m in body["messages"]] == [
        "You are a helpful assistant.", "Hello", page.session_state["chat_messages"][1].content]
