"""Run the real Streamlit app as a user does (`streamlit run app.py`) and drive Debian's Chromium.
The benchmarks (bench/_harness.py) use the same helpers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class App:
    url: str
    process: subprocess.Popen
    log_path: Path
    started: float  # time.perf_counter() just before Popen


def app_env(env: dict[str, str], work: Path) -> dict[str, str]:
    """The process environment without the playground's own variables, a database in `work`,
    plus `env`."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AZURE_", "PLAYGROUND_"))}
    full["PLAYGROUND_DB_PATH"] = str(work / "playground.db")
    full.update(env)
    return full


def wait_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("streamlit did not start:\n" + log_path.read_text())
        time.sleep(0.02)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (psutil is not installed)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@contextmanager
def streamlit_app(env: dict[str, str], log_path: Path, script: str = "app.py", healthy: bool = True) -> Iterator[App]:
    """`streamlit run <script>` (relative to the repository) on a free port; its database and log
    in `log_path`'s directory. Waits until it answers its health check unless `healthy` is False."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=app_env(env, log_path.parent), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    app = App(f"http://127.0.0.1:{port}", process, log_path, started)
    try:
        if healthy:
            wait_healthy(app.url, process, log_path)
        yield app
    except BaseException:
        # pytest shows a failed test's output: the app's own account of what happened.
        print("---- last lines of the app's log ----\n" + "\n".join(log_path.read_text().splitlines()[-80:]))
        raise
    finally:
        children = descendants(process.pid)  # the embedded endpoint the app started, if any
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for pid in children:  # normally stopped by the app's atexit hook already
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


@contextmanager
def running_app(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free port; yields its URL once healthy."""
    with streamlit_app(env, log_path) as app:
        yield app.url


@contextmanager
def chromium():
    """One headless Debian Chromium; open pages (or contexts) on it as needed."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def chromium_page(width: int = 1280, height: int = 900):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        events: list[str] = []  # printed if the test fails: a crash or a console error says why

        def navigated(frame) -> None:
            if frame is page.main_frame:
                events.append(f"navigated to {frame.url}")

        def console(message) -> None:
            if message.type == "error":
                events.append(f"console error: {message.text[:300]}")

        page.on("crash", lambda: events.append("the page crashed"))
        page.on("framenavigated", navigated)
        page.on("console", console)
        try:
            yield page
        except BaseException:
            print("---- what the page did ----\n" + "\n".join(events[-40:]))
            print(page_account(page))
            raise


def page_account(page) -> str:
    """What the user saw when a browser test failed: the URL, the script state and the text."""
    try:
        app = page.locator("[data-testid='stApp']")
        state = app.get_attribute("data-test-script-state") if app.count() else "gone: the app is not on the page"
        text = page.locator("body").inner_text(timeout=2_000)
    except Exception as error:  # the page may be gone: say so instead of hiding the test's own error
        return f"---- the page could not be read: {error}"
    return f"---- the page at {page.url} (script {state}) ----\n{text[-4000:]}"


def idle(page) -> None:
    """Wait until the script run a widget started has ended: a click that lands while the page is
    being redrawn can be lost."""
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=60_000)
