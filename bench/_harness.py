"""What the benchmarks share: run a Streamlit script as a user does, drive Debian's Chromium,
serve scripted SSE on loopback, and read memory from /proc.

Like tests/app_server.py, but `running_app` takes the script to run (app.py or an alternate page
under bench/), can skip waiting for health (cold start measures that itself), and yields the
process so its memory can be read.
"""

from __future__ import annotations

import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.app_server import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

__all__ = ["ROOT", "CHROMIUM", "CHROMIUM_ARGS", "free_port", "App", "running_app", "chromium", "serve",
           "tree_rss_kib", "descendants", "median", "machine_line", "wait_healthy", "cpu_seconds", "rss_kib",
           "command_line", "load_line"]


@dataclass
class App:
    url: str
    process: subprocess.Popen
    log_path: Path
    started: float  # time.perf_counter() just before Popen


def app_env(env: dict[str, str], work: Path) -> dict[str, str]:
    """The process environment without the playground's own variables, plus `env`."""
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


@contextmanager
def running_app(env: dict[str, str], log_path: Path, script: str = "app.py", healthy: bool = True) -> Iterator[App]:
    """`streamlit run <script>` (relative to the repository) on a free port."""
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
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on a free loopback port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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


def rss_kib(pid: int) -> int:
    try:
        match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    except OSError:
        return 0
    return int(match.group(1)) if match else 0


def tree_rss_kib(pid: int) -> dict[int, int]:
    """VmRSS of `pid` and every process below it (pid -> KiB)."""
    return {p: rss_kib(p) for p in [pid, *descendants(pid)]}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine_line() -> str:
    return f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load average at start: {one:.2f} (1 min), {five:.2f} (5 min)"
