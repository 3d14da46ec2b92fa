"""A GitHub token goes to GitHub Models and nowhere else.

A whole session in the real browser with a known fake token: GITHUB_TOKEN from the environment,
then a second token pasted into the sidebar's "GitHub token for this session". GitHub Models is a
local fake (GITHUB_MODELS_URL) serving the catalog and chat SSE, so it is the one place the
token may arrive. Then each token is looked for everywhere else: the page HTML at every step,
browser storage and cookies, every websocket frame in both directions, every HTTP response the
page received, the Streamlit process log, the embedded endpoint's logs, and every file under the
temporary directories the app used (its SQLite database and HOME included).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import start_endpoint
from tests.support.app_server import chromium_page, running_app
from tests.support.fake_service import FakeService, Reply
from tests.support.github_models import CATALOG, streamed_reply

ENV_TOKEN = "ghp_FAKE" + secrets.token_hex(16)
PASTED_TOKEN = "ghp_FAKEPASTED" + secrets.token_hex(14)
REFUSED_401 = Reply(status=401, body={"error": {"code": "unauthorized", "message": "Bad credentials", "status": 401}})


class Recorder:
    """Everything the browser saw: HTML snapshots, storage, websocket frames, HTTP bodies."""

    def __init__(self, page):
        self.page = page
        self.html: list[str] = []
        self.frames_received: list[bytes] = []
        self.frames_sent: list[bytes] = []
        self.responses: list[tuple[str, bytes]] = []
        page.on("websocket", self._websocket)
        page.on("response", self._response)

    @staticmethod
    def _bytes(payload) -> bytes:
        return payload if isinstance(payload, bytes) else payload.encode("utf-8", "surrogatepass")

    def _websocket(self, ws) -> None:
        ws.on("framereceived", lambda payload: self.frames_received.append(self._bytes(payload)))
        ws.on("framesent", lambda payload: self.frames_sent.append(self._bytes(payload)))

    def _response(self, response) -> None:
        try:
            self.responses.append((response.url, response.body()))
        except Exception:  # redirects and aborted loads have no body
            pass

    def snapshot(self) -> None:
        self.html.append(self.page.content())
        self.html.append(self.page.evaluate(
            "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])"))
        self.html.append(repr(self.page.context.cookies()))


def places(token: str, recorder: Recorder) -> dict[str, int]:
    """How often `token` shows in each place the browser saw."""
    needle = token.encode()
    return {
        "page html / storage": sum(token in snapshot for snapshot in recorder.html),
        "websocket frames received": sum(needle in frame for frame in recorder.frames_received),
        "http responses": sum(needle in body for _, body in recorder.responses),
    }


def files_containing(token: str, *roots: Path) -> list[str]:
    needle = token.encode()
    return [str(path) for root in roots for path in root.rglob("*")
            if path.is_file() and needle in path.read_bytes()]


def chat_box(page):
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.wait_for(timeout=90_000)
    return box


def send(page, text: str):
    box = chat_box(page)
    before = page.get_by_test_id("stChatMessage").count()
    box.fill(text)
    box.press("Enter")
    expect(page.get_by_test_id("stChatMessage")).to_have_count(before + 2, timeout=60_000)
    reply = page.get_by_test_id("stChatMessage").nth(before + 1)
    expect(reply.get_by_text("finish:")).to_be_visible(timeout=60_000)
    return reply


@pytest.fixture
def session(tmp_path):
    """The fake GitHub Models, the embedded endpoint and the app, all writing under tmp_path."""
    fake = FakeService({
        "/catalog/models": [Reply(body=CATALOG)],
        "/inference/chat/completions": [streamed_reply("Hello ", "from ", "the fake."), REFUSED_401,
                                        streamed_reply("Pasted ", "token ", "works.")],
    })
    endpoint = start_endpoint(tmp_path / "endpoint")
    home = tmp_path / "home"
    home.mkdir()
    with fake:
        yield fake, endpoint, home, tmp_path
    endpoint.stop()


def test_a_token_is_sent_to_github_models_only_and_shows_up_nowhere_else(session):
    fake, endpoint, home, tmp_path = session
    log = tmp_path / "app" / "streamlit.log"
    log.parent.mkdir()
    env = {"GITHUB_TOKEN": ENV_TOKEN, "GITHUB_MODELS_URL": fake.url, "HOME": str(home),
           "PLAYGROUND_LOCAL_PORT": str(endpoint.port)}
    with running_app(env, log) as app, chromium_page() as page:
        seen = Recorder(page)
        page.goto(app)
        chat_box(page)
        expect(page.get_by_text("GitHub Models").first).to_be_visible(timeout=30_000)
        seen.snapshot()

        assert "Hello from the fake." in send(page, "Hello").inner_text()
        seen.snapshot()
        box = chat_box(page)  # answered 401: an error message the token must not appear in
        box.fill("Again")
        box.press("Enter")
        expect(page.get_by_text("refused the credentials")).to_be_visible(timeout=60_000)
        seen.snapshot()
        for expander in page.get_by_test_id("stExpander").all():  # open every expander: code views too
            expander.locator("summary").first.click()
        page.wait_for_timeout(1000)
        seen.snapshot()
        page.get_by_role("link", name="Model info").click()
        page.wait_for_timeout(2000)
        seen.snapshot()
        page.get_by_role("link", name="Chat").click()
        chat_box(page)
        seen.snapshot()

        # Paste a second token for this session only.
        frames_before_paste = len(seen.frames_sent)
        expander = page.get_by_test_id("stExpander").filter(has_text="GitHub token for this session")
        token_box = expander.locator("input[type='password']")
        if not token_box.is_visible():
            expander.locator("summary").first.click()
        token_box.fill(PASTED_TOKEN)
        token_box.press("Enter")
        expect(expander.get_by_text("A token is set for this session.")).to_be_visible(timeout=30_000)
        expect(token_box).to_have_value("")  # moved out of the widget at once
        seen.snapshot()
        assert "Pasted token works." in send(page, "With the pasted token").inner_text()
        seen.snapshot()
        page.reload()
        chat_box(page)
        page.wait_for_timeout(1000)
        seen.snapshot()
    # The app has stopped here: its log is complete.

    # 1. The token did its job, and only at GitHub Models, only in the Authorization header.
    auth = [r["headers"].get("Authorization") for r in fake.requests]
    assert f"Bearer {ENV_TOKEN}" in auth and f"Bearer {PASTED_TOKEN}" in auth
    for request in fake.requests:
        for name, value in request["headers"].items():
            if name not in ("Authorization", "api-key"):  # AzureKeyCredential sends both (reference.md 1)
                assert ENV_TOKEN not in value and PASTED_TOKEN not in value, name
        assert ENV_TOKEN not in repr(request["body"]) and PASTED_TOKEN not in repr(request["body"])
    chat_auth = [r["headers"]["Authorization"] for r in fake.requests if r["path"].endswith("/chat/completions")]
    assert chat_auth[-1] == f"Bearer {PASTED_TOKEN}"  # the pasted token replaced the environment's

    # 2. The browser never received either token: HTML, storage, websocket frames, HTTP bodies.
    assert places(ENV_TOKEN, seen) == {"page html / storage": 0, "websocket frames received": 0, "http responses": 0}
    assert places(PASTED_TOKEN, seen) == {"page html / storage": 0, "websocket frames received": 0, "http responses": 0}
    assert len(seen.frames_received) > 10 and len(seen.html) >= 8  # it did look at a real session
    code = [body for url, body in seen.responses if "/media/" in url]
    assert any(b"GITHUB_TOKEN" in body for body in code), "the View code downloads name the variable instead"

    # 3. The browser sent the environment's token never, and the pasted one only as the widget
    #    value that carried it to the server (once), never again on later reruns.
    assert not [f for f in seen.frames_sent if ENV_TOKEN.encode() in f]
    carrying = [i for i, f in enumerate(seen.frames_sent) if PASTED_TOKEN.encode() in f]
    assert len(carrying) == 1 and carrying[0] >= frames_before_paste, carrying

    # 4. No log and no file: the Streamlit log, the embedded endpoint's request log and stderr,
    #    the SQLite database (and its WAL), HOME, anything else under the temp directory.
    assert log.exists() and endpoint.stderr_path.exists()
    assert files_containing(ENV_TOKEN, tmp_path) == []
    assert files_containing(PASTED_TOKEN, tmp_path) == []
    assert list((tmp_path / "app").glob("playground.db*")), "the session was saved, so the database was checked"
