"""First-token benchmark: how long after the endpoint sends its first byte does the first token
show in the browser? On loopback, with one wall clock for both sides.

A local SSE server (below) answers each chat request by sending the headers and a first chunk
carrying a unique marker in one write, recording time.time() just before that write; then it pauses
(1 s by default) before the rest, so nothing else is on the wire while the first token is drawn.
The page (the real chat page, `streamlit run app.py`, pointed at that server as an Azure endpoint)
records `performance.timeOrigin + performance.now()` (the same wall clock, sub-millisecond) when a
MutationObserver sees the marker in the reply, and again after the next frame is painted.

Side by side, each run: the bare SDK loop (ChatClient in this process reading the same server)
gives the floor: first token read minus first byte sent.
Target: browser-visible first token at most 50 ms after the endpoint's first byte.

Usage: .venv/bin/python bench/bench_first_token.py [--runs N] [--pause S]
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from _harness import chromium, free_port, load_line, machine_line, median, serve, streamlit_app

from playground.client import ChatClient, ChatParams, Endpoint
from playground.settings import Secret

TARGET_MS = 50.0


class FirstByteSSE(BaseHTTPRequestHandler):
    """First chunk at once (time recorded), then a pause, then the rest."""

    protocol_version = "HTTP/1.1"
    pause = 1.0
    marker = "FIRST"
    log: list[dict] = []  # one entry per request: received, first_byte (time.time())
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_GET(self):
        data = b'{"model_name": "first-token", "model_type": "chat-completions", "model_provider_name": "bench"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        entry = {"received": time.time(), "marker": FirstByteSSE.marker}
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        first = self._frame(self._event(FirstByteSSE.marker))
        entry["first_byte"] = time.time()
        self.wfile.write(head + first)  # headers and the first token in one write
        self.wfile.flush()
        with FirstByteSSE.lock:
            FirstByteSSE.log.append(entry)
        time.sleep(FirstByteSSE.pause)
        for word in (" and", " the", " rest", " END-OF-REPLY"):
            self.wfile.write(self._frame(self._event(word)))
        last = {"id": "x", "created": 0, "model": "first-token", "choices": [
            {"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self.wfile.write(self._frame(b"data: " + json.dumps(last).encode() + b"\n\n"))
        self.wfile.write(self._frame(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = False

    @staticmethod
    def _event(text: str) -> bytes:
        return b"data: " + json.dumps({"id": "x", "created": 0, "model": "first-token", "choices": [
            {"index": 0, "delta": {"content": text}, "finish_reason": None}]}).encode() + b"\n\n"

    @staticmethod
    def _frame(data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data)


class FrameClock:
    """When the browser's network layer received the websocket frame carrying the marker, from
    the DevTools protocol (monotonic timestamps, mapped to wall time with the handshake's
    wallTime). Unlike a JavaScript listener, this is not delayed by a busy main thread."""

    def __init__(self, page):
        self.offset: float | None = None  # wall time minus monotonic time, seconds
        self.marker: bytes = b""
        self.at: float | None = None  # wall time, seconds
        self.before = 0  # frames (and their bytes) that arrived after expect() and before the marker
        self.before_bytes = 0
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.on("Network.webSocketWillSendHandshakeRequest", self._handshake)
        self.cdp.on("Network.webSocketFrameReceived", self._frame)
        self.cdp.send("Network.enable")

    def _handshake(self, event: dict) -> None:
        self.offset = event["wallTime"] - event["timestamp"]

    def _frame(self, event: dict) -> None:
        if self.at is not None or not self.marker or self.offset is None:
            return
        response = event["response"]
        payload = response["payloadData"]
        data = base64.b64decode(payload) if response.get("opcode") == 2 else payload.encode()
        if self.marker in data:
            self.at = event["timestamp"] + self.offset
        else:
            self.before += 1
            self.before_bytes += len(data)

    def expect(self, marker: str) -> None:
        self.marker, self.at, self.before, self.before_bytes = marker.encode(), None, 0, 0


WATCH = """(marker) => {
  window.__firstToken = null;

  const now = () => performance.timeOrigin + performance.now();
  const seen = () => {
    const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
    const last = messages[messages.length - 1];
    return last && last.textContent.includes(marker);
  };
  const observer = new MutationObserver(() => {
    if (window.__firstToken === null && seen()) {
      const entry = {dom: now(), painted: null};
      window.__firstToken = entry;
      observer.disconnect();
      requestAnimationFrame(() => setTimeout(() => { entry.painted = now(); }, 0));
    }
  });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def sdk_first_token(url: str, marker: str) -> float:
    """ms from the server's first byte to ChatClient yielding the first token, in this process."""
    FirstByteSSE.marker = marker
    stream = ChatClient(Endpoint(url, "bench", Secret("bench"))).stream_chat(
        [{"role": "user", "content": "Go"}], ChatParams())
    first_at = None
    for _ in stream:
        if first_at is None:
            first_at = time.time()
    return (first_at - FirstByteSSE.log[-1]["first_byte"]) * 1000


def browser_first_token(page, clock: FrameClock, marker: str,
                        metrics_caption: bool = True) -> tuple[float, float, float, float | None]:
    """ms after the first byte: (in the DOM, painted, Enter -> request at the server,
    the websocket frame carrying it arrives)."""
    FirstByteSSE.marker = marker
    page.evaluate(WATCH, marker)
    clock.expect(marker)
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(f"Reply please ({marker.lower()})")  # the prompt never contains the marker itself
    count = len(FirstByteSSE.log)
    enter = time.time()
    box.press("Enter")
    page.wait_for_function("() => window.__firstToken && window.__firstToken.painted", timeout=60_000)
    seen = page.evaluate("() => window.__firstToken")
    page.get_by_test_id("stChatMessage").last.get_by_text("END-OF-REPLY").first.wait_for(timeout=60_000)
    if metrics_caption:  # the chat page ends a reply with its metrics line
        page.get_by_test_id("stChatMessage").last.get_by_text("finish:").wait_for(timeout=60_000)
    else:
        page.wait_for_timeout(300)
    entry = FirstByteSSE.log[count]
    first_byte_ms = entry["first_byte"] * 1000
    return (seen["dom"] - first_byte_ms, seen["painted"] - first_byte_ms, (entry["received"] - enter) * 1000,
            clock.at * 1000 - first_byte_ms if clock.at else None)


def measure_page(url: str, runs: int, label: str, metrics_caption: bool = True) -> dict[str, list[float]]:
    """Warm up, then `runs` prompts on one page, each with its own marker."""
    result: dict[str, list[float]] = {"dom": [], "painted": [], "enter": [], "frame": [], "ahead": [], "ahead_kb": []}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        clock = FrameClock(page)
        page.goto(url)
        page.get_by_test_id("stChatInput").locator("textarea").wait_for(timeout=90_000)
        browser_first_token(page, clock, f"WARMUP{label}", metrics_caption)
        for run in range(runs):
            d, p, e, f = browser_first_token(page, clock, f"TOKEN{label}{run}X", metrics_caption)
            result["dom"].append(d), result["painted"].append(p), result["enter"].append(e)
            if f is not None:
                result["frame"].append(f)
                result["ahead"].append(clock.before)
                result["ahead_kb"].append(clock.before_bytes / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between the first token and the rest")
    parser.add_argument("--skip-minimal", action="store_true", help="leave out the minimal Streamlit page")
    args = parser.parse_args()
    FirstByteSSE.pause = args.pause

    print(machine_line())
    print(load_line())
    work = Path(tempfile.mkdtemp(prefix="bench-first-token-"))
    with serve(FirstByteSSE) as url:
        env = {"AZURE_INFERENCE_ENDPOINT": url, "AZURE_INFERENCE_CREDENTIAL": "bench",
               "PLAYGROUND_LOCAL_PORT": str(free_port())}
        sdk_first_token(url, "WARMUPSDK")
        sdk = [sdk_first_token(url, f"SDKTOKEN{run}X") for run in range(args.runs)]
        with streamlit_app(env, work / "app" / "streamlit.log") as app:
            ours = measure_page(app.url, args.runs, "APP")
        minimal = None
        if not args.skip_minimal:
            with streamlit_app(env, work / "minimal" / "streamlit.log", script="bench/write_stream_page.py") as alt:
                minimal = measure_page(alt.url, args.runs, "MIN", metrics_caption=False)

    print(f"\n## First token on loopback, {args.runs} runs each (median, ms after the endpoint's first byte)")
    print(f"bare SDK loop has it                          {median(sdk):7.1f} ms")
    rows = [("playground chat page", ours)]
    if minimal:
        rows.append(("minimal Streamlit page (bench/write_stream_page.py)", minimal))
    for label, r in rows:
        print(f"{label}:")
        if r["frame"]:
            print(f"  websocket frame reaches the browser         {median(r['frame']):7.1f} ms"
                  f"   ({median(r['ahead']):.0f} frames, {median(r['ahead_kb']):.0f} KiB of this run ahead of it)")
        print(f"  in the page (DOM)                           {median(r['dom']):7.1f} ms")
        print(f"  painted (visible)                           {median(r['painted']):7.1f} ms")
        print(f"  for context: Enter -> request at endpoint   {median(r['enter']):7.1f} ms")
    verdict = "met" if median(ours["painted"]) <= TARGET_MS else "MISSED"
    print(f"playground painted first token {median(ours['painted']):.1f} ms: target <= {TARGET_MS:.0f} ms {verdict}"
          + (f"; ratio to the minimal page {median(ours['painted']) / median(minimal['painted']):.1f}x"
             if minimal else ""))
    print(f"runs (ms): playground painted {[round(v, 1) for v in ours['painted']]}"
          + (f"  minimal painted {[round(v, 1) for v in minimal['painted']]}" if minimal else ""))


if __name__ == "__main__":
    main()
