"""Load benchmark: 8 browser sessions chatting with the embedded model at once.

One `streamlit run app.py` that starts its own embedded endpoint (so both are in its process
tree), one Chromium with 8 separate contexts (8 Streamlit sessions). Each round, side by side:
  single    one session sends the prompt alone;
  8 at once all 8 sessions send it within a fraction of a second.
Tokens are read from each reply's metrics line ("N prompt + M completion tokens"); tokens/s is
completion tokens over the wall time from the first Enter to the last reply finished.
Memory: VmRSS from /proc of the app's process tree (Streamlit + embedded endpoint), sampled
every 0.5 s; Chromium's tree is shown for context. psutil is not needed.

Targets: every session finishes, none errors, aggregate tokens/s at least one session's.
PLAYGROUND_LOCAL_THREADS and PLAYGROUND_LOCAL_PARALLEL, when set, reach the embedded endpoint.

Usage: .venv/bin/python bench/bench_load.py [--sessions N] [--rounds N] [--prompt TEXT]
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import threading
import time
from pathlib import Path

from _harness import (
    chromium,
    command_line,
    cpu_seconds,
    descendants,
    free_port,
    load_line,
    machine_line,
    median,
    rss_kib,
    streamlit_app,
    tree_rss_kib,
)

PROMPT = "Write a long story about a lighthouse keeper and a storm."
USAGE = re.compile(r"(\d+) prompt \+ ~?(\d+) completion tokens · finish: (\w+)")


class MemorySampler(threading.Thread):
    """Peak and latest VmRSS (KiB) of the app's tree, split by process kind, and of Chromium."""

    def __init__(self, app_pid: int):
        super().__init__(daemon=True)
        self.app_pid = app_pid
        self.stop_event = threading.Event()
        self.latest: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    def sample(self) -> dict[str, int]:
        kinds = {"streamlit": 0, "endpoint": 0}
        for pid, kib in tree_rss_kib(self.app_pid).items():
            kinds["endpoint" if "playground.local_endpoint" in command_line(pid) else "streamlit"] += kib
        kinds["app total"] = kinds["streamlit"] + kinds["endpoint"]
        kinds["chromium"] = sum(rss_kib(pid) for pid in descendants(os.getpid())
                                if "chrom" in command_line(pid).split(" ")[0].lower())
        return kinds

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.latest = self.sample()
            for key, value in self.latest.items():
                self.peak[key] = max(self.peak.get(key, 0), value)
            self.stop_event.wait(0.5)

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each kind of process (only processes alive now count)."""
        kinds = {"streamlit": 0.0, "endpoint": 0.0, "chromium": 0.0}
        for pid in [self.app_pid, *descendants(self.app_pid)]:
            kinds["endpoint" if "playground.local_endpoint" in command_line(pid) else "streamlit"] += cpu_seconds(pid)
        kinds["chromium"] = sum(cpu_seconds(pid) for pid in descendants(os.getpid())
                                if "chrom" in command_line(pid).split(" ")[0].lower())
        return kinds


def conversations_with_max_tokens(db_path: Path, count: int, max_tokens: int) -> list[str]:
    """Empty stored conversations whose setup sets max_tokens: opened as ?c=<id>, a session takes
    that parameter without touching the slider."""
    from playground.store import Store

    store = Store(db_path, durable=False)
    ids = [store.create_conversation({"provider": "embedded", "parameters": {"max_tokens": max_tokens}})
           for _ in range(count)]
    store.close()
    return ids


def open_session(browser, url: str):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(url)
    page.get_by_test_id("stChatInput").locator("textarea").wait_for(timeout=120_000)
    return page


def reply_state(page, before: int) -> tuple[str, int] | None:
    """('ok'|'error'|..., completion tokens) once the reply's metrics line is drawn, else None."""
    if page.get_by_test_id("stException").count():
        return "exception", 0
    messages = page.get_by_test_id("stChatMessage")
    if messages.count() < before + 2:
        if page.get_by_test_id("stAlert").count() and page.get_by_text("Retry").count():
            words = page.get_by_test_id("stAlert").last.inner_text().split()
            if words[:1] == ["error"]:  # the alert's icon, drawn as text
                words = words[1:]
            return "error: " + " ".join(words)[:200], 0
        return None
    text = messages.nth(before + 1).inner_text()
    match = USAGE.search(text)
    if not match:
        return None
    finish = match.group(3)
    if finish in ("stop", "length"):
        return "ok", int(match.group(2))
    alerts = messages.nth(before + 1).get_by_test_id("stAlert")
    return f"finish {finish}: " + (alerts.last.inner_text()[:160] if alerts.count() else ""), int(match.group(2))


def chat_round(pages: list, prompt: str, timeout: float = 600.0) -> tuple[float, list[tuple[str, int]]]:
    """Send `prompt` on every page at once; (seconds until the last reply finished, results)."""
    before = [page.get_by_test_id("stChatMessage").count() for page in pages]
    boxes = [page.get_by_test_id("stChatInput").locator("textarea") for page in pages]
    for box in boxes:
        box.fill(prompt)
    start = time.perf_counter()
    for box in boxes:
        box.press("Enter")
    results: list[tuple[str, int] | None] = [None] * len(pages)
    deadline = start + timeout
    while None in results:
        for i, page in enumerate(pages):
            if results[i] is None:
                results[i] = reply_state(page, before[i])
        if time.perf_counter() > deadline:
            break
        pages[0].wait_for_timeout(100)
    end = time.perf_counter()
    return end - start, [r or ("timeout", 0) for r in results]


def mib(kib: int) -> str:
    return f"{kib / 1024:7.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1, help="single + concurrent rounds, alternating")
    parser.add_argument("--prompt", default=PROMPT)
    parser.add_argument("--max-tokens", type=int, default=None,
                        help="cap each reply (default: the app's own default, 512)")
    args = parser.parse_args()

    print(machine_line())
    print(load_line())
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = {"PLAYGROUND_LOCAL_PORT": str(free_port())}  # not running: the app starts its own
    for name in ("PLAYGROUND_LOCAL_THREADS", "PLAYGROUND_LOCAL_PARALLEL"):  # to compare settings
        if os.environ.get(name):
            env[name] = os.environ[name]
    single_rates, many_rates, many_walls, failures = [], [], [], []
    with streamlit_app(env, work / "app" / "streamlit.log") as app, chromium() as browser:
        sampler = MemorySampler(app.process.pid)
        urls = [app.url] * args.sessions
        if args.max_tokens:
            ids = conversations_with_max_tokens(work / "app" / "playground.db", args.sessions, args.max_tokens)
            urls = [f"{app.url}/?c={cid}" for cid in ids]
        pages = [open_session(browser, url) for url in urls]
        chat_round(pages[:1], "Say hello.")  # warm-up: the model is loaded and has run once
        sampler.latest = sampler.sample()
        idle = dict(sampler.latest)
        sampler.start()
        for _ in range(args.rounds):
            seconds, results = chat_round(pages[:1], args.prompt)
            if results[0][0] != "ok":
                failures.append(("single", results[0][0]))
            single_rates.append(results[0][1] / seconds)
            cpu_before = sampler.cpu()
            seconds, results = chat_round(pages, args.prompt)
            cpu_after = sampler.cpu()
            cpu_used = {k: cpu_after[k] - cpu_before[k] for k in cpu_before}
            failures += [("concurrent", state) for state, _ in results if state != "ok"]
            many_rates.append(sum(tokens for _, tokens in results) / seconds)
            many_walls.append(seconds)
            per_session = [tokens for _, tokens in results]
        sampler.stop_event.set()
        sampler.join()
        peak = sampler.peak

    ratio = median(many_rates) / median(single_rates)
    cap = f"max_tokens {args.max_tokens}" if args.max_tokens else "default max_tokens (512)"
    print(f"\n## {args.sessions} sessions at once vs one alone, embedded model, {cap}, {args.rounds} round(s) (median)")
    print(f"one session                 {median(single_rates):6.1f} tokens/s")
    print(f"{args.sessions} sessions, aggregate      {median(many_rates):6.1f} tokens/s   ratio {ratio:.2f}"
          f"   ({args.sessions} replies in {median(many_walls):.1f} s; tokens per reply {per_session})")
    print(f"finished without error: {args.sessions * args.rounds - sum(1 for k, _ in failures if k == 'concurrent')}"
          f"/{args.sessions * args.rounds}")
    for kind, state in sorted(set(failures)):
        print(f"  FAILED ({kind}, x{failures.count((kind, state))}): {state}")
    met = not failures and ratio >= 1.0
    print(f"target (all finish, none errors, aggregate >= one session): {'met' if met else 'MISSED'}")
    print(f"CPU used during the last {args.sessions}-session round "
          f"({median(many_walls):.0f} s wall x {os.cpu_count()} cores = "
          f"{median(many_walls) * os.cpu_count():.0f} CPU s): "
          + ", ".join(f"{k} {v:.0f} s" for k, v in cpu_used.items()))
    print("\nmemory (VmRSS)                idle after warm-up     peak under load")
    for key, label in (("streamlit", "streamlit"), ("endpoint", "embedded endpoint"), ("app total", "app total"),
                       ("chromium", "chromium (sum of processes)")):
        print(f"  {label:<28}{mib(idle.get(key, 0))}            {mib(peak.get(key, 0))}")


if __name__ == "__main__":
    main()
