"""In Debian's Chromium: the embedded endpoint the app started itself is killed with SIGKILL (as
the OOM killer or a crash in llama.cpp ends it) between two prompts on the same page. The app
starts it again: the page says so, the next prompt gets a real reply, nothing is lost."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from playwright.sync_api import expect

from tests.support.app_server import chromium_page, descendants, free_port, streamlit_app

METRICS = re.compile(r"completion tokens · finish: \w+")


def send(page, text: str) -> None:
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(text)
    box.press("Enter")


def endpoint_pids(app_pid: int) -> list[int]:
    """The app's embedded endpoint processes (from /proc: psutil is not installed)."""
    found = []
    for pid in descendants(app_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"playground.local_endpoint" in command:
            found.append(pid)
    return found


def test_the_embedded_model_killed_between_two_prompts_restarts_and_the_next_prompt_gets_a_reply(tmp_path):
    # Nothing listens at this port: the app starts the endpoint itself, so it is the app's to restart.
    env = {"PLAYGROUND_LOCAL_PORT": str(free_port()), "PLAYGROUND_LOCAL_THREADS": "1",
           "PLAYGROUND_LOCAL_PARALLEL": "1"}
    with streamlit_app(env, tmp_path / "streamlit.log") as app, chromium_page() as page:
        page.goto(app.url)
        messages = page.get_by_test_id("stChatMessage")
        send(page, "Say hi.")
        expect(messages.nth(1).get_by_text(METRICS)).to_be_visible(timeout=120_000)
        first_reply = messages.nth(1).locator("[data-testid='stMarkdownContainer']").first.inner_text()

        [pid] = endpoint_pids(app.process.pid)
        os.kill(pid, signal.SIGKILL)

        send(page, "Name a colour.")  # the same page, no reload: the composer's fragment sends it
        expect(messages).to_have_count(4, timeout=120_000)
        expect(messages.nth(3).get_by_text(METRICS)).to_be_visible(timeout=120_000)
        expect(page.get_by_test_id("stToast").filter(has_text="The local model restarted")).to_be_visible()
        expect(page.get_by_text("Cannot reach")).to_have_count(0)
        # Nothing of the conversation is lost.
        expect(messages.nth(0)).to_contain_text("Say hi.")
        expect(messages.nth(1)).to_contain_text(first_reply.strip()[:30])
        expect(messages.nth(2)).to_contain_text("Name a colour.")
        assert endpoint_pids(app.process.pid) not in ([], [pid])  # a new process, on the same port
        assert "restarting it in 0.5 s" in app.log_path.read_text()
