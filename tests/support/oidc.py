"""A real OpenID Connect provider for tests: `oidc-provider-mock` (PyPI) on a free port, with
predefined users; its sign-in page (/oauth2/authorize) takes a `sub` and an Authorize click.
Any client id and secret are accepted, over plain http."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.app_server import free_port

CLIENT_ID, CLIENT_SECRET = "model-playground", "test-client-secret"
COOKIE_SECRET = "a-cookie-secret-for-tests-only-0123456789"


@dataclass
class OidcProvider:
    url: str  # also the issuer (`iss` of every ID token)
    process: subprocess.Popen
    log_path: Path

    @property
    def discovery_url(self) -> str:
        return self.url + "/.well-known/openid-configuration"

    def secrets_toml(self, *, named: str | None = None) -> str:
        """An [auth] section as Streamlit documents it, for an app on any port (`{port}`)."""
        provider = (f'client_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
                    f'server_metadata_url = "{self.discovery_url}"\n')
        shared = ('[auth]\nredirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
                  f'cookie_secret = "{COOKIE_SECRET}"\n')
        return shared + (f"\n[auth.{named}]\n" + provider if named else provider)


def _command() -> list[str]:
    found = shutil.which("oidc-provider-mock", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "oidc_provider_mock"]


@contextmanager
def oidc_provider(users: list[dict], log_path: Path, timeout: float = 30.0) -> Iterator[OidcProvider]:
    """The provider with `users` (claims, each with "sub"); yields once its discovery document answers."""
    port = free_port()
    args = [*_command(), "--host", "127.0.0.1", "--port", str(port)]
    for claims in users:
        args += ["--user-claims", json.dumps(claims)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    provider = OidcProvider(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(provider.discovery_url, timeout=2) as response:
                    if json.load(response).get("issuer"):
                        break
            except (OSError, ValueError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("oidc-provider-mock did not start:\n" + log_path.read_text())
            time.sleep(0.05)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
