"""Start the embedded endpoint in a child process, or reuse one already listening."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from .client import PlaygroundError
from .local_endpoint.model import MODEL_NAME, MODEL_VARIABLE, ModelFileError, check_model_file
from .settings import Settings

STARTUP_TIMEOUT = 60.0


@dataclass
class EmbeddedEndpoint:
    url: str
    process: subprocess.Popen | None  # None when an endpoint was already running
    model_name: str = MODEL_NAME  # what its /info says it serves (PLAYGROUND_LOCAL_MODEL: another GGUF)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


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


def ensure_embedded_endpoint(settings: Settings) -> EmbeddedEndpoint:
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
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PlaygroundError(
                f"The embedded model failed to start (exit code {process.returncode}); see the terminal for details."
            )
        found, name = _probe(url, key)
        if found == "ours":
            return EmbeddedEndpoint(url, process, name)
        time.sleep(0.1)
    process.terminate()
    raise PlaygroundError(f"The embedded model did not start within {STARTUP_TIMEOUT:.0f} s.")
