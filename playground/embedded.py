"""Start the embedded endpoint in a child process, or reuse one already listening.

One the app started is supervised: whatever kills it (a crash in llama.cpp, the OOM killer), a
monitor thread blocked in `wait()` sees it at once and starts it again on the same host and port,
so every cached transport and URL stays valid. Restarts back off (0.5 s, 1 s, 2 s, ...); after
`max_crashes` deaths within `window` seconds it is left down with a message the pages show instead
of sending. One found already running (`process` None) belongs to someone else: not restarted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .client import PlaygroundError
from .local_endpoint.model import MODEL_NAME, MODEL_VARIABLE, ModelFileError, check_model_file
from .settings import Settings

STARTUP_TIMEOUT = 60.0
# How long a request that finds the endpoint restarting waits for it: a start plus the longest backoff.
READY_WAIT = STARTUP_TIMEOUT + 8.0
# How long a refused request waits for the monitor to report the death the refusal implies (it
# sees it within milliseconds; a refusal while the process lives has another cause).
NOTICE_GRACE = 2.0


@dataclass(frozen=True)
class RestartPolicy:
    first_backoff: float = 0.5  # seconds before the first restart; doubled for each further crash
    max_backoff: float = 8.0
    window: float = 60.0  # seconds over which crashes are counted
    max_crashes: int = 5  # this many within the window: a crash loop, not restarted again

    def backoff(self, crashes: int) -> float:
        return min(self.first_backoff * 2 ** max(crashes - 1, 0), self.max_backoff)


def _say(text: str) -> None:
    print(f"playground: {text}", file=sys.stderr, flush=True)  # the terminal the pages point to


def _exit_reason(code: int | None) -> str:
    if code is None:  # no process: it could not be started at all
        return "could not be started"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class EmbeddedEndpoint:
    """The embedded endpoint the app sends to. Its state is read by every session's script
    thread and written by the monitor thread: all of it under `_changed`."""

    def __init__(self, url: str, process: subprocess.Popen | None, model_name: str = MODEL_NAME,
                 launch: Callable[[], subprocess.Popen] | None = None, key: str | None = None,
                 policy: RestartPolicy = RestartPolicy()):
        self.url = url
        self.model_name = model_name  # what its /info says it serves (PLAYGROUND_LOCAL_MODEL: another GGUF)
        self._process = process  # None when an endpoint was already running
        self._launch, self._key, self._policy = launch, key, policy
        self._changed = threading.Condition()
        self._down = False  # from a death noticed until the restarted process answers
        self._stopping = False  # the app stops it: never restarted after this
        self._restarts = 0
        self._failure: str | None = None  # set when it was left down (a crash loop)
        self._crashes: deque[float] = deque()
        self._monitor: threading.Thread | None = None
        if process is not None and launch is not None:
            # A daemon: the interpreter runs atexit hooks (our stop) only after non-daemon threads end.
            self._monitor = threading.Thread(target=self._supervise, args=(process,), daemon=True,
                                             name=f"embedded-endpoint-monitor {url}")
            self._monitor.start()

    @property
    def process(self) -> subprocess.Popen | None:
        with self._changed:
            return self._process

    @property
    def supervised(self) -> bool:
        return self._monitor is not None

    @property
    def restarts(self) -> int:
        """How many times it was started again: a session compares it with what it last saw."""
        with self._changed:
            return self._restarts

    @property
    def restarting(self) -> bool:
        with self._changed:
            return self._down and self._failure is None and not self._stopping

    @property
    def failure(self) -> str | None:
        """Why it is down for good (a crash loop), or None."""
        with self._changed:
            return self._failure

    def stop(self) -> None:
        """End it and its monitor (atexit): a process the app stops itself is never restarted."""
        with self._changed:
            self._stopping = True
            process = self._process
            self._changed.notify_all()
        if process is not None:
            _end(process)
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=15)

    def wait_ready(self, timeout: float = READY_WAIT) -> None:
        """Return once it answers; a restart under way is waited for (at most `timeout` s). Raises
        the message to show when it was left down, is stopping, or did not come back in time."""
        with self._changed:
            self._changed.wait_for(lambda: not self._down or self._failure or self._stopping, timeout)
            if self._failure:
                raise PlaygroundError(self._failure, code="embedded_down")
            if self._stopping:
                raise PlaygroundError("The embedded model was stopped: the app is shutting down.",
                                      code="embedded_down")
            if self._down:
                raise PlaygroundError(f"The embedded model is restarting and did not answer within {timeout:.0f} s. "
                                      "Press Retry in a moment; the terminal says why it stopped.",
                                      code="embedded_restarting")

    def came_back(self, seen: int, grace: float = NOTICE_GRACE) -> bool:
        """After a request to it was refused: whether it had died and is back (restarted since
        the restart count `seen`; a restart under way is waited for). False when no death was
        noticed within `grace` seconds: the refusal had another cause."""
        if not self.supervised:
            return False
        with self._changed:
            noticed = self._changed.wait_for(
                lambda: self._down or self._restarts != seen or self._failure or self._stopping, grace)
        if noticed:
            self.wait_ready()
        return bool(noticed)

    # -- the monitor thread ---------------------------------------------------------------------

    def _supervise(self, process: subprocess.Popen) -> None:
        current: subprocess.Popen | None = process
        while current is not None:
            code = current.wait()
            with self._changed:
                if self._stopping:
                    return
                self._down = True
                self._changed.notify_all()
            current = self._restart(code)

    def _restart(self, code: int | None) -> subprocess.Popen | None:
        """Start it again after it died with `code`: the new process once it answers, or None
        when it is left down (a crash loop) or the app stops it meanwhile."""
        assert self._launch is not None
        while True:
            now = time.monotonic()
            self._crashes.append(now)
            while self._crashes[0] < now - self._policy.window:
                self._crashes.popleft()
            crashes = len(self._crashes)
            if crashes >= self._policy.max_crashes:
                self._give_up(crashes, code)
                return None
            delay = self._policy.backoff(crashes)
            _say(f"the embedded model stopped ({_exit_reason(code)}); restarting it in {delay:g} s.")
            with self._changed:
                if self._changed.wait_for(lambda: self._stopping, delay):
                    return None
                try:  # under the lock: stop() either sees this process or prevents it
                    process = self._process = self._launch()
                except OSError as error:  # no memory to fork, say: a crash like any other
                    _say(f"the embedded model could not be started again: {error}")
                    code = None
                    continue
            _, problem = _await_start(process, self.url, self._key)
            with self._changed:
                if self._stopping:
                    return None
                if problem is None:
                    self._down = False
                    self._restarts += 1
                    self._changed.notify_all()
                    _say(f"the embedded model restarted at {self.url}.")
                    return process
            _say(problem)
            code = process.returncode

    def _give_up(self, crashes: int, code: int | None) -> None:
        message = (f"The embedded model crashed {crashes} times within {self._policy.window:.0f} s (last: "
                   f"{_exit_reason(code)}) and was not restarted again. The terminal running the app says why; "
                   "restart the app to start it again, or pick another model.")
        _say(message)
        with self._changed:
            self._failure = message
            self._changed.notify_all()


class SupervisedTransport:
    """The transport to the embedded endpoint the app started: a request that finds it
    restarting waits for it instead of failing, and one it was left down for says why. A request
    refused because the process had just died (before the monitor said so) is sent once more
    when it is back: refused, it never reached the model. A reply cut off by a crash is not sent
    again (the crash may be its doing): the user sees the usual error, the part that arrived,
    and Retry."""

    def __init__(self, inner: Any, embedded: EmbeddedEndpoint):
        self._inner, self._embedded = inner, embedded
        self.endpoint = inner.endpoint

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._embedded.wait_ready()
        seen = self._embedded.restarts
        try:
            return method(*args, **kwargs)
        except PlaygroundError as error:
            if error.code != "unreachable" or not self._embedded.came_back(seen):
                raise
        return method(*args, **kwargs)

    def stream_chat(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(self._inner.stream_chat, *args, **kwargs)

    def complete_chat(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(self._inner.complete_chat, *args, **kwargs)

    def model_info(self) -> Any:
        return self._call(self._inner.model_info)

    def list_models(self) -> Any:
        return self._call(self._inner.list_models)

    def close(self) -> None:  # the wrapped transport is shared (cached): its owner closes it
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _ours(headers) -> bool:
    return headers.get("Server", "").startswith("playground-local-endpoint")


def _probe(url: str, api_key: str | None) -> tuple[str | None, str]:
    """('ours', model name) if our endpoint answers at url, ('other', "") if something else does,
    (None, "") if nothing. Ours says so in its Server header (whatever model it serves)."""
    request = urllib.request.Request(url + "/info")
    if api_key:
        request.add_header("api-key", api_key)
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            body = json.loads(response.read() or b"{}")
            if _ours(response.headers) and isinstance(body.get("model_name"), str):
                return "ours", body["model_name"]
            return "other", ""
    except urllib.error.HTTPError as error:
        return ("ours", MODEL_NAME) if error.code == 401 and _ours(error.headers) else ("other", "")
    except (urllib.error.URLError, OSError, ValueError):
        return None, ""


def ensure_embedded_endpoint(settings: Settings, policy: RestartPolicy = RestartPolicy()) -> EmbeddedEndpoint:
    host = settings.local_host
    url = f"http://{host}:{settings.local_port}"
    if settings.local_model:
        try:
            check_model_file(settings.local_model)
        except ModelFileError as exc:
            raise PlaygroundError(f"{MODEL_VARIABLE} is set to {settings.local_model!r}, which the embedded "
                                  f"endpoint cannot serve: {exc}.") from None
    key = settings.local_api_key.reveal() if settings.local_api_key else None
    found, name = _probe(url, key)
    if found == "ours":
        return EmbeddedEndpoint(url, None, name)
    if found == "other":
        raise PlaygroundError(
            f"Port {settings.local_port} is taken by another program. Set PLAYGROUND_LOCAL_PORT to a free port."
        )

    command = [sys.executable, "-m", "playground.local_endpoint", "--host", host, "--port", str(settings.local_port)]
    if settings.local_threads:
        command += ["--threads", str(settings.local_threads)]
    if settings.local_parallel:
        command += ["--parallel", str(settings.local_parallel)]
    if settings.local_model:
        command += ["--model", settings.local_model]
    env = dict(os.environ)
    if key:
        env["PLAYGROUND_LOCAL_API_KEY"] = key  # the environment, not argv: argv is visible in `ps`

    def launch() -> subprocess.Popen:
        return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)

    process = launch()
    served, problem = _await_start(process, url, key)
    if served is None:
        raise PlaygroundError(problem or "The embedded model did not start.")
    return EmbeddedEndpoint(url, process, served, launch=launch, key=key, policy=policy)


def _await_start(process: subprocess.Popen, url: str, key: str | None) -> tuple[str | None, str | None]:
    """(the model name it serves, None) once the process answers at url, else (None, why not);
    a process that does not answer within STARTUP_TIMEOUT is ended."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None, (f"The embedded model failed to start (exit code {process.returncode}); "
                          "see the terminal for details.")
        found, name = _probe(url, key)
        if found == "ours":
            return name, None
        time.sleep(0.1)
    _end(process)
    return None, f"The embedded model did not start within {STARTUP_TIMEOUT:.0f} s."
