"""Streaming benchmark: prints medians measured side by side in one run.

1. Embedded model: tokens/s and time to first token in-process (llama-cpp-python) vs through
   the endpoint over HTTP and the azure-ai-inference SDK (the playground's ChatClient).
2. Browser: a long reply (8,000 chunks from a local SSE server, as fast as it can send) until it is
   fully visible in Chromium, vs a bare SDK loop reading the same stream.

Usage: .venv/bin/python bench/bench_streaming.py [--runs N] [--tokens N] [--chunks N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playground.client import ChatClient, ChatParams, Endpoint  # noqa: E402
from playground.local_endpoint.model import LocalModel  # noqa: E402
from playground.local_endpoint.validation import ChatRequest  # noqa: E402
from tests.conftest import start_endpoint  # noqa: E402
from tests.support.app_server import chromium_page, streamlit_app  # noqa: E402

PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


def in_process_run(model: LocalModel, tokens: int) -> tuple[float, float]:
    request = ChatRequest(PROMPT, stream=True, options={"max_tokens": tokens, "temperature": 0.0, "ignore_eos": True})
    start = time.perf_counter()
    first = None
    count = 0
    for chunk in model.stream(request, model.check_fits(request)):
        if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
            count += 1
            if first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    return first - start, (count - 1) / (end - first)


def endpoint_run(client: ChatClient, tokens: int) -> tuple[float, float]:
    # ignore_eos (an extra the endpoint honours) makes both sides generate exactly `tokens` tokens.
    stream = client.stream_chat(PROMPT, ChatParams(max_tokens=tokens, temperature=0.0, extras={"ignore_eos": True}))
    for _ in stream:
        pass
    return stream.time_to_first_token, stream.tokens_per_second


class FastSSE(BaseHTTPRequestHandler):
    """Streams `chunks` tiny updates as fast as the socket takes them, like a fast cloud model."""

    protocol_version = "HTTP/1.1"
    chunks = 8000

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(self.chunks):
            text = "END-OF-REPLY" if i == self.chunks - 1 else ("word " if i % 12 else "\n\nPara ")
            self._send({"id": "x", "created": 0, "model": "fast", "choices": [
                {"index": 0, "delta": {"content": text}, "finish_reason": None}]})
        self._send({"id": "x", "created": 0, "model": "fast", "choices": [
            {"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self._send({"id": "x", "created": 0, "model": "fast", "choices": [],
                    "usage": {"prompt_tokens": 10, "completion_tokens": self.chunks, "total_tokens": self.chunks + 10}})
        data = b"data: [DONE]\n\n"
        self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))

    def _send(self, event):
        data = b"data: " + json.dumps(event).encode() + b"\n\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def do_GET(self):
        data = b'{"model_name": "fast", "model_type": "chat-completions", "model_provider_name": "bench"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def bare_sdk_read(url: str) -> float:
    client = ChatClient(Endpoint(url, "bench"))
    start = time.perf_counter()
    for _ in client.stream_chat(PROMPT, ChatParams()):
        pass
    return time.perf_counter() - start


def browser_visible(page, app_url: str, reply_timeout_ms: int = 120_000) -> float:
    """From pressing Enter on a fresh page to END-OF-REPLY being visible, seconds."""
    page.goto(app_url)
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.wait_for(timeout=90_000)
    box.fill("Go")
    start = time.perf_counter()
    box.press("Enter")
    # In the reply itself: the View code panel repeats the conversation further down the page.
    page.get_by_test_id("stChatMessage").last.get_by_text("END-OF-REPLY").first.wait_for(timeout=reply_timeout_ms)
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--chunks", type=int, default=8000)
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    work = Path(tempfile.mkdtemp(prefix="bench-"))

    # 1. In-process vs endpoint + SDK, alternating runs so both see the same machine state.
    model = LocalModel()  # one copy on every core, as the endpoint runs it with --parallel 1
    running = start_endpoint(work / "endpoint", "--parallel", "1")
    client = ChatClient(Endpoint(running.url, "embedded"))
    in_ttft, in_tps, ep_ttft, ep_tps = [], [], [], []
    in_process_run(model, 8), endpoint_run(client, 8)  # warm-up
    for _ in range(args.runs):
        t, s = in_process_run(model, args.tokens)
        in_ttft.append(t), in_tps.append(s)
        t, s = endpoint_run(client, args.tokens)
        ep_ttft.append(t), ep_tps.append(s)
    running.stop()
    del model
    print(f"\n## Embedded model, {args.tokens} tokens, {args.runs} runs each (median)")
    print(f"tokens/s          in-process {median(in_tps):7.1f}   endpoint+SDK {median(ep_tps):7.1f}   "
          f"ratio {median(ep_tps) / median(in_tps):.2f}")
    print(f"first token (ms)  in-process {median(in_ttft) * 1000:7.1f}   endpoint+SDK {median(ep_ttft) * 1000:7.1f}   "
          f"difference {(median(ep_ttft) - median(in_ttft)) * 1000:+.1f}")

    # 2. A long reply in the browser vs the bare SDK loop on the same stream.
    FastSSE.chunks = args.chunks
    server = ThreadingHTTPServer(("127.0.0.1", 0), FastSSE)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sse_url = f"http://127.0.0.1:{server.server_address[1]}"
    sdk_times, browser_times = [], []
    with streamlit_app({"AZURE_INFERENCE_ENDPOINT": sse_url, "AZURE_INFERENCE_CREDENTIAL": "bench",
                      "PLAYGROUND_LOCAL_PORT": str(running.port + 1)}, work / "streamlit.log") as app:
        app_url = app.url
        with chromium_page() as page:
            browser_visible(page, app_url)  # warm-up
            for _ in range(args.runs):
                sdk_times.append(bare_sdk_read(sse_url))
                browser_times.append(browser_visible(page, app_url))
    server.shutdown()
    print(f"\n## A {args.chunks}-chunk reply streamed as fast as possible, {args.runs} runs each (median)")
    print(f"bare SDK loop reads it   {median(sdk_times):6.2f} s")
    print(f"fully visible in browser {median(browser_times):6.2f} s   "
          f"ratio {median(browser_times) / median(sdk_times):.2f}")


if __name__ == "__main__":
    main()
