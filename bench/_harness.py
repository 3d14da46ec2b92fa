"""What the benchmarks share: tests/app_server.py's helpers (run a Streamlit script as a user
does, drive Debian's Chromium), plus scripted SSE on loopback and memory and CPU from /proc."""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.app_server import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    App,
    chromium,
    descendants,
    free_port,
    streamlit_app,
    wait_healthy,
)

__all__ = ["ROOT", "CHROMIUM", "CHROMIUM_ARGS", "free_port", "App", "streamlit_app", "chromium", "serve",
           "tree_rss_kib", "descendants", "median", "machine_line", "wait_healthy", "cpu_seconds", "rss_kib",
           "command_line", "load_line"]


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
    return (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load average at start: {one:.2f} (1 min), {five:.2f} (5 min)"
