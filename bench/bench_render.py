"""Render benchmark: a long reply, streamed as fast as a local server can send it, until it is
fully visible in Chromium. Three sides measured in turn within each run:

  bare SDK loop     ChatClient reads the stream and does nothing else (the floor)
  playground        the real chat page (`streamlit run app.py`, components/streaming.py)
  st.write_stream   bench/write_stream_page.py: the same stream drawn with plain st.write_stream

The server is bench_streaming.FastSSE (8,000 chunks by default, the last one "END-OF-REPLY").
Target: the playground within 2x the bare SDK loop.

Usage: .venv/bin/python bench/bench_render.py [--runs N] [--chunks N] [--skip-write-stream]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _harness import chromium, free_port, load_line, machine_line, median, serve, streamlit_app
from bench_streaming import FastSSE, bare_sdk_read, browser_visible

TARGET_RATIO = 2.0


def visible_after_enter(page, url: str) -> float:
    # st.write_stream can take minutes on 8,000 chunks: allow for it.
    return browser_visible(page, url, reply_timeout_ms=300_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunks", type=int, default=8000)
    parser.add_argument("--skip-write-stream", action="store_true", help="leave out the st.write_stream side")
    args = parser.parse_args()

    print(machine_line())
    print(load_line())
    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    FastSSE.chunks = args.chunks
    sdk, ours, plain = [], [], []
    with serve(FastSSE) as sse_url:
        env = {"AZURE_INFERENCE_ENDPOINT": sse_url, "AZURE_INFERENCE_CREDENTIAL": "bench",
               "PLAYGROUND_LOCAL_PORT": str(free_port())}
        with streamlit_app(env, work / "app" / "streamlit.log") as app, \
                streamlit_app(env, work / "write_stream" / "streamlit.log",
                              script="bench/write_stream_page.py") as alt, \
                chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # Warm-up: the first load starts the embedded model and imports everything.
            visible_after_enter(page, app.url)
            if not args.skip_write_stream:
                visible_after_enter(page, alt.url)
            bare_sdk_read(sse_url)
            for _ in range(args.runs):
                sdk.append(bare_sdk_read(sse_url))
                ours.append(visible_after_enter(page, app.url))
                if not args.skip_write_stream:
                    plain.append(visible_after_enter(page, alt.url))

    base = median(sdk)
    print(f"\n## A {args.chunks}-chunk reply streamed as fast as possible, {args.runs} runs each, "
          "side by side (median)")
    print(f"bare SDK loop reads it                  {base:6.2f} s")
    print(f"playground chat page: fully visible     {median(ours):6.2f} s   ratio to SDK {median(ours) / base:.2f}"
          f"   (target <= {TARGET_RATIO:.1f}: {'met' if median(ours) / base <= TARGET_RATIO else 'MISSED'})")
    if plain:
        print(f"plain st.write_stream: fully visible    {median(plain):6.2f} s   "
              f"ratio to SDK {median(plain) / base:.2f}"
              f"   playground is {median(plain) / median(ours):.1f}x faster")
    print(f"runs (s): sdk {[round(v, 2) for v in sdk]}  playground {[round(v, 2) for v in ours]}"
          + (f"  write_stream {[round(v, 2) for v in plain]}" if plain else ""))


if __name__ == "__main__":
    main()
