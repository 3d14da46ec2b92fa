"""Shared fixtures: real embedded endpoints run as separate processes, as users run them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_KEY = "test-key-0123456789"


@dataclass
class RunningEndpoint:
    url: str
    port: int
    process: subprocess.Popen
    request_log: Path
    stderr_path: Path

    def requests(self) -> list[dict]:
        if not self.request_log.exists():
            return []
        return [json.loads(line) for line in self.request_log.read_text().splitlines()]

    def last_request(self) -> dict:
        return self.requests()[-1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_endpoint(directory: Path, *args: str, env: dict | None = None) -> RunningEndpoint:
    """`python -m playground.local_endpoint --port 0 ...`, the documented command, on a free port."""
    directory.mkdir(parents=True, exist_ok=True)
    log, stderr_path = directory / "requests.jsonl", directory / "stderr.txt"
    with open(stderr_path, "w") as stderr:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(
            [sys.executable, "-m", "playground.local_endpoint", "--port", "0", "--request-log", str(log), *args],
            cwd=ROOT, stderr=stderr, stdin=subprocess.DEVNULL, env=env,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"serving ([\d.]+):(\d+)", stderr_path.read_text())
        if match:
            port = int(match.group(2))
            return RunningEndpoint(f"http://127.0.0.1:{port}", port, process, log, stderr_path)
        if process.poll() is not None:
            raise RuntimeError("endpoint exited: " + stderr_path.read_text())
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("endpoint did not start: " + stderr_path.read_text())


# One thread, one copy of the model: llama.cpp's threads spin-wait, so on a 2-core machine shared
# with the browser and Streamlit, two threads can be many times slower than one; and one copy
# makes concurrent requests queue, which the queueing tests rely on.
TEST_THREADS = ("--threads", "1", "--parallel", "1")


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory) -> RunningEndpoint:
    running = start_endpoint(tmp_path_factory.mktemp("endpoint"), *TEST_THREADS)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def keyed_endpoint(tmp_path_factory) -> RunningEndpoint:
    running = start_endpoint(tmp_path_factory.mktemp("keyed"), "--api-key", TEST_KEY, *TEST_THREADS)
    yield running
    running.stop()


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """An environment with none of the playground's variables and no .env in the working directory."""
    from playground.settings import VARIABLES

    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PLAYGROUND_DB_PATH", str(tmp_path / "playground.db"))
    monkeypatch.chdir(tmp_path)
    return monkeypatch
