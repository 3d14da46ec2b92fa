"""Long-conversation benchmark: the chat page holding 200 messages (about 100k tokens of markdown:
headings, lists, tables, code blocks, links) against the same page empty, side by side.

1. Script time per rerun (streamlit.testing AppTest on pages/chat.py, the conversation put
   straight into session_state["chat_messages"]): the median of `at.run()` reruns, as the page opens
   (the latest 40 messages drawn, a button for the rest) and with every message drawn.
2. In Chromium (`streamlit run app.py`), the conversation preloaded through the store
   (PLAYGROUND_DB_PATH) and opened as `?c=<id>`, no UI involved:
   - open: from navigation until the latest messages are in the page;
   - a rerun seen from the browser: Enter in the sidebar's history search until the
     script_finished message reaches the browser (DevTools protocol timestamps);
   - typing into the chat input: each keystroke's latency, from the key event's own
     timestamp to the first frame painted after the character went in.
   If the page does not open `?c=` conversations, only part 1 is reported, with a note.

Targets: a rerun under 200 ms; typing never stutters (no keystroke over 50 ms).

Usage: .venv/bin/python bench/bench_long_conversation.py [--messages N] [--reruns N] [--keys N]
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import random
import tempfile
import time
from pathlib import Path

from _harness import ROOT, chromium, load_line, machine_line, median, streamlit_app

RERUN_TARGET_MS = 200.0
STUTTER_MS = 50.0
WORDS = ("lighthouse keeper storm harbour signal lantern ledger tide reef compass chart beacon gull "
         "fog rope brass window staircase oil wick keeper's log weather north south current vessel "
         "rock island supply boat winter summer night morning glass lens clockwork rotation").split()


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng, rng.randint(8, 16)) for _ in range(sentences))


def assistant_markdown(rng: random.Random, index: int) -> str:
    rows = "\n".join(f"| {rng.choice(WORDS)} | {rng.randint(1, 999)} | {rng.choice(WORDS)} {rng.choice(WORDS)} |"
                     for _ in range(6))
    code = "\n".join(f"    total += ledger[{i}] * {rng.randint(2, 9)}  # {rng.choice(WORDS)}" for i in range(8))
    return (
        f"## Part {index}: the {rng.choice(WORDS)} and the {rng.choice(WORDS)}\n\n"
        f"{paragraph(rng, 9)}\n\n{paragraph(rng, 8)}\n\n"
        f"- **{rng.choice(WORDS)}**: {sentence(rng, 10)}\n- *{rng.choice(WORDS)}*: {sentence(rng, 9)}\n"
        f"- `{rng.choice(WORDS)}`: {sentence(rng, 11)}\n\n"
        f"1. {sentence(rng, 8)}\n2. {sentence(rng, 12)}\n3. {sentence(rng, 7)}\n\n"
        f"| item | count | note |\n|---|---:|---|\n{rows}\n\n"
        f"```python\ndef tally(ledger):\n    total = 0\n{code}\n    return total\n```\n\n"
        f"> {paragraph(rng, 5)}\n\n"
        f"{paragraph(rng, 13)} See [the log](https://example.com/log/{index}).\n"
    )


def conversation(count: int) -> list[dict]:
    rng = random.Random(0)
    messages = []
    for i in range(count):
        if i % 2 == 0:
            messages.append({"role": "user", "content": f"Question {i // 2}: {paragraph(rng, 12)}"})
        else:
            messages.append({"role": "assistant", "content": assistant_markdown(rng, i // 2),
                             "metrics": {"prompt_tokens": 100 + i, "completion_tokens": 800, "usage_reported": True,
                                         "finish_reason": "stop", "ttft_s": 0.1, "tokens_per_s": 50.0, "error": None}})
    return messages


def count_tokens(messages: list[dict]) -> int | None:
    """Tokens as the embedded model (SmolLM2) counts them, from its vocabulary only."""
    try:
        from llama_cpp import Llama

        from playground.local_endpoint.model import default_model_path
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # llama.cpp prints a context warning for a vocabulary-only load
        try:
            vocab = Llama(model_path=str(default_model_path()), vocab_only=True, verbose=False)
        finally:
            os.dup2(saved, 2)
            os.close(saved), os.close(devnull)
        return sum(len(vocab.tokenize(m["content"].encode(), add_bos=False)) for m in messages)
    except Exception:
        return None


# --- 1. AppTest --------------------------------------------------------------------------

def apptest_reruns(messages: list[dict], reruns: int, port: int,
                   work: Path) -> tuple[list[float], list[float], list[float]]:
    """Script time per rerun: the page as it opens (the latest messages drawn), the same page with
    every message drawn ("Show earlier" pressed until none is hidden), and the empty page."""
    from streamlit.testing.v1 import AppTest

    from playground import state
    from playground.chat import SHOWN_STEP
    from playground.messages import Message

    # Setting session_state before the first run warns about a missing ScriptRunContext: expected here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "AZURE_", "PLAYGROUND_")):
            del os.environ[name]
    os.environ["PLAYGROUND_LOCAL_PORT"] = str(port)
    os.environ["PLAYGROUND_DB_PATH"] = str(work / "apptest.db")
    page = str(ROOT / "pages" / "chat.py")
    long_page, all_page, empty_page = (AppTest.from_file(page, default_timeout=120) for _ in range(3))
    for at in (long_page, all_page):
        at.session_state["chat_messages"] = [Message(m["role"], m["content"], metrics=m.get("metrics"))
                                             for m in messages]
    all_page.session_state[state.SHOWN] = len(messages)
    for at in (long_page, all_page, empty_page):  # first runs: imports, cached resources
        at.run()
        assert not at.exception, at.exception
    assert len(long_page.chat_message) == min(len(messages), SHOWN_STEP), len(long_page.chat_message)
    assert len(all_page.chat_message) == len(messages), len(all_page.chat_message)
    long_times, all_times, empty_times = [], [], []
    for _ in range(reruns):
        for at, times in ((long_page, long_times), (all_page, all_times), (empty_page, empty_times)):
            start = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - start) * 1000)
    return long_times, all_times, empty_times


# --- 2. The browser ----------------------------------------------------------------------

class ScriptFinished:
    """Wall time at which each script_finished ForwardMsg reached the browser (DevTools protocol)."""

    def __init__(self, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._parse = ForwardMsg.FromString
        self.offset: float | None = None
        self.times: list[float] = []
        self.received_bytes = 0  # every frame, for the bytes a rerun sends
        self.bytes_at_finish: list[int] = []
        self.frames: list[tuple[float, str, int]] = []  # (wall time, what it draws, bytes)
        self.last_rerun = (0.0, 0.0)  # wall times of the last browser_rerun
        cdp = page.context.new_cdp_session(page)
        cdp.on("Network.webSocketWillSendHandshakeRequest",
               lambda e: setattr(self, "offset", e["wallTime"] - e["timestamp"]))
        cdp.on("Network.webSocketFrameReceived", self._frame)
        cdp.send("Network.enable")
        self._cdp = cdp  # keep the session alive

    def _frame(self, event: dict) -> None:
        response = event["response"]
        if response.get("opcode") != 2 or self.offset is None:
            return
        data = base64.b64decode(response["payloadData"])
        self.received_bytes += len(data)
        try:
            message = self._parse(data)
        except Exception:
            return
        kind = message.WhichOneof("type")
        if kind == "delta":
            delta = message.delta
            kind = delta.WhichOneof("type")
            if kind == "new_element":
                kind = "st." + delta.new_element.WhichOneof("type")
            elif kind == "add_block":
                kind = "block " + (delta.add_block.WhichOneof("type") or "")
        self.frames.append((event["timestamp"] + self.offset, kind, len(data)))
        if kind == "script_finished":
            self.times.append(event["timestamp"] + self.offset)
            self.bytes_at_finish.append(self.received_bytes)

    def composition(self, start: float, end: float) -> dict[str, int]:
        """Bytes per kind of message received between two wall times."""
        totals: dict[str, int] = {}
        for at, kind, size in self.frames:
            if start <= at <= end:
                totals[kind] = totals.get(kind, 0) + size
        return totals


KEY_LATENCY = """(box) => {
  window.__keyLatency = [];
  if (box.dataset.latencyWatched) return;
  box.dataset.latencyWatched = '1';
  box.addEventListener('keydown', (event) => {
    const pressed = event.timeStamp;
    box.addEventListener('input', () => {
      requestAnimationFrame(() => setTimeout(() => window.__keyLatency.push(performance.now() - pressed), 0));
    }, {once: true});
  });
}"""


def typing_latency(page, keys: int) -> list[float]:
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.click()
    box.evaluate(KEY_LATENCY)
    text = ("the keeper climbs the stair at dusk " * 10)[:keys]
    page.keyboard.type(text, delay=60)
    page.wait_for_timeout(300)
    latencies = page.evaluate("() => window.__keyLatency")
    box.fill("")
    return latencies


def browser_rerun(page, watcher: ScriptFinished, text: str) -> tuple[float, int]:
    """Enter in the history search box (a rerun) until script_finished reaches the browser:
    (ms, bytes the browser received for it). Leaves `watcher.last_rerun` = (start, end)."""
    search = page.get_by_placeholder("Search conversations")
    search.fill(text)
    page.wait_for_timeout(200)
    count = len(watcher.times)
    bytes_before = watcher.received_bytes
    start = time.time()
    search.press("Enter")
    deadline = time.monotonic() + 60
    while len(watcher.times) <= count:
        page.wait_for_timeout(5)  # lets Playwright deliver the DevTools events
        if time.monotonic() > deadline:
            raise TimeoutError("the rerun did not finish")
    watcher.last_rerun = (start, watcher.times[count])
    return (watcher.times[count] - start) * 1000, watcher.bytes_at_finish[count] - bytes_before


def preload_store(db_path: Path, messages: list[dict]) -> str:
    from playground.store import Store

    store = Store(db_path, durable=False)
    conversation_id = store.create_conversation({"model_label": "bench", "system_prompt": ""})
    for m in messages:
        store.add_message(conversation_id, m["role"], m["content"], metrics=m.get("metrics"))
    store.close()
    return conversation_id


def open_long(page, url: str, count: int, timeout_ms: float = 120_000) -> float | None:
    """Seconds from navigation until the page shows the conversation as it opens: the latest
    messages, and the button for the earlier ones."""
    from playground.chat import SHOWN_STEP

    start = time.perf_counter()
    page.goto(url)
    try:
        shown = min(count, SHOWN_STEP)
        page.wait_for_function(f"() => document.querySelectorAll('[data-testid=\"stChatMessage\"]').length >= {shown}",
                               timeout=timeout_ms, polling=50)
        if count > SHOWN_STEP:
            page.get_by_role("button", name="Show earlier messages").wait_for(timeout=timeout_ms)
    except Exception:
        return None
    page.get_by_test_id("stChatInput").locator("textarea").wait_for(timeout=timeout_ms)
    return time.perf_counter() - start


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    over = sum(v > STUTTER_MS for v in values)
    return (f"median {median(values):6.1f}  p95 {p95:6.1f}  max {max(values):6.1f} ms  "
            f"({over}/{len(values)} over {STUTTER_MS:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--keys", type=int, default=40, help="keystrokes typed per page")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()

    from tests.conftest import start_endpoint

    print(machine_line())
    print(load_line())
    work = Path(tempfile.mkdtemp(prefix="bench-long-"))
    messages = conversation(args.messages)
    chars = sum(len(m["content"]) for m in messages)
    tokens = count_tokens(messages)
    print(f"conversation: {len(messages)} messages, {chars:,} characters of markdown, "
          + (f"{tokens:,} tokens (SmolLM2 tokenizer)" if tokens else f"about {chars // 4:,} tokens (chars/4)"))

    endpoint = start_endpoint(work / "endpoint")
    try:
        long_times, all_times, empty_times = apptest_reruns(messages, args.reruns, endpoint.port, work)
        print(f"\n## 1. Script rerun (AppTest, pages/chat.py), {args.reruns} reruns each, side by side (median)")
        print(f"empty conversation                      {median(empty_times):7.1f} ms")
        print(f"{len(messages)} messages, as opened (latest drawn) {median(long_times):7.1f} ms   "
              f"ratio {median(long_times) / median(empty_times):.1f}x"
              f"   (target < {RERUN_TARGET_MS:.0f} ms: {'met' if median(long_times) < RERUN_TARGET_MS else 'MISSED'})")
        print(f"{len(messages)} messages, every one drawn         {median(all_times):7.1f} ms   "
              f"ratio {median(all_times) / median(empty_times):.1f}x")

        if args.skip_browser:
            return
        app_dir = work / "app"
        conversation_id = preload_store(app_dir / "playground.db", messages)
        env = {"PLAYGROUND_LOCAL_PORT": str(endpoint.port)}
        with streamlit_app(env, app_dir / "streamlit.log") as app, chromium() as browser:
            long_page = browser.new_page(viewport={"width": 1280, "height": 900})
            long_watch = ScriptFinished(long_page)
            opened = open_long(long_page, f"{app.url}/?c={conversation_id}", len(messages))
            if opened is None:
                print("\n## 2. Browser: NOT MEASURED. The chat page did not open ?c=<id> with the preloaded "
                      "conversation, so only the AppTest numbers above apply.")
                return
            empty_page = browser.new_page(viewport={"width": 1280, "height": 900})
            empty_watch = ScriptFinished(empty_page)
            start = time.perf_counter()
            empty_page.goto(app.url)
            empty_page.get_by_test_id("stChatInput").locator("textarea").wait_for(timeout=60_000)
            empty_opened = time.perf_counter() - start

            long_rerun, empty_rerun, long_bytes, empty_bytes, long_keys, empty_keys = [], [], [], [], [], []
            browser_rerun(long_page, long_watch, "warm"), browser_rerun(empty_page, empty_watch, "warm")
            for i in range(args.reruns):
                ms, size = browser_rerun(long_page, long_watch, "xyz" if i % 2 == 0 else "")
                long_rerun.append(ms), long_bytes.append(size)
                ms, size = browser_rerun(empty_page, empty_watch, "xyz" if i % 2 == 0 else "")
                empty_rerun.append(ms), empty_bytes.append(size)
            composition = long_watch.composition(*long_watch.last_rerun)
            for page, watch in ((long_page, long_watch), (empty_page, empty_watch)):  # leave the search empty
                if page.get_by_placeholder("Search conversations").input_value():  # unchanged: no rerun to wait for
                    browser_rerun(page, watch, "")
            long_keys += typing_latency(long_page, args.keys)
            empty_keys += typing_latency(empty_page, args.keys)
            long_keys += typing_latency(long_page, args.keys)
            empty_keys += typing_latency(empty_page, args.keys)

        print("\n## 2. Browser (Chromium), preloaded through the store and opened as ?c=<id>")
        print(f"open until the latest messages are in the page   {len(messages)} messages {opened:6.2f} s   "
              f"empty page {empty_opened:6.2f} s")
        print(f"rerun seen from the browser ({args.reruns} each, median): "
              f"{len(messages)} messages {median(long_rerun):7.1f} ms   "
              f"empty {median(empty_rerun):7.1f} ms   ratio {median(long_rerun) / median(empty_rerun):.1f}x")
        print(f"websocket data per rerun (median): {len(messages)} messages {median(long_bytes) / 1024:,.0f} KiB   "
              f"empty {median(empty_bytes) / 1024:,.0f} KiB")
        top = sorted(composition.items(), key=lambda kv: -kv[1])[:6]
        print(f"what one rerun of {len(messages)} messages sends: "
              + ", ".join(f"{kind} {size / 1024:,.0f} KiB" for kind, size in top))
        print(f"typing latency, {len(messages)} messages: {summary(long_keys)}")
        print(f"typing latency, empty page:   {summary(empty_keys)}")
        stutters = sum(v > STUTTER_MS for v in long_keys)
        print(f"typing target (no keystroke over {STUTTER_MS:.0f} ms): {'met' if not stutters else 'MISSED'}")
    finally:
        endpoint.stop()


if __name__ == "__main__":
    main()
