"""Cold-start benchmark: from launching `streamlit run app.py` (venv already installed) to an
interactive chat page (chat input enabled) in Chromium, with the embedded endpoint not running
yet, so the time includes starting the model. Chromium is started beforehand and not counted.

Each run uses a fresh PLAYGROUND_LOCAL_PORT and database; the OS file cache is warm (the venv and
the model file were read by earlier runs), as for any start after the first on a machine.
Also shown: when Streamlit's health check first answered, when the embedded endpoint printed
"serving", and, side by side, a warm page load on the same app (app and model already up).

Usage: .venv/bin/python bench/bench_cold_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from _harness import chromium, free_port, load_line, machine_line, median, streamlit_app, wait_healthy


def watch_log(path: Path, needle: str, started: float, found: dict, stop: threading.Event) -> None:
    """Record (perf_counter - started) when `needle` first appears in the log file."""
    while not stop.is_set():
        try:
            if needle in path.read_text(errors="replace"):
                found[needle] = time.perf_counter() - started
                return
        except OSError:
            pass
        time.sleep(0.01)


def interactive(page, url: str) -> None:
    page.goto(url)
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.wait_for(timeout=120_000)
    page.wait_for_function("(box) => !box.disabled", arg=box.element_handle(), timeout=120_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    print(machine_line())
    print(load_line())
    work = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    healthy, serving, ready, warm = [], [], [], []
    with chromium() as browser:
        for run in range(args.runs):
            log = work / f"run{run}" / "streamlit.log"
            env = {"PLAYGROUND_LOCAL_PORT": str(free_port())}  # nothing listens there: the app starts the model
            with streamlit_app(env, log, healthy=False) as app:
                found: dict[str, float] = {}
                stop = threading.Event()
                watcher = threading.Thread(target=watch_log,
                                           args=(log, "local-endpoint: serving", app.started, found, stop),
                                           daemon=True)
                watcher.start()
                wait_healthy(app.url, app.process, log, timeout=120)
                healthy.append(time.perf_counter() - app.started)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                interactive(page, app.url)
                ready.append(time.perf_counter() - app.started)
                stop.set()
                if "local-endpoint: serving" in found:
                    serving.append(found["local-endpoint: serving"])
                page.close()
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                start = time.perf_counter()
                interactive(page, app.url)
                warm.append(time.perf_counter() - start)
                page.close()

    print(f"\n## Cold start, {args.runs} runs (median; seconds from `streamlit run app.py`)")
    print(f"Streamlit answers its health check     {median(healthy):6.2f} s")
    if serving:
        print(f"embedded endpoint serving              {median(serving):6.2f} s")
    print(f"chat page interactive (input enabled)  {median(ready):6.2f} s")
    print(f"for comparison, a warm page load       {median(warm):6.2f} s   "
          f"(cold/warm {median(ready) / median(warm):.1f}x)")
    print(f"runs (s): interactive {[round(v, 2) for v in ready]}  warm {[round(v, 2) for v in warm]}")


if __name__ == "__main__":
    main()
