"""The embedded endpoint on the network: loopback unless asked, and no CORS for browsers.

Run against the real endpoint (`python -m playground.local_endpoint`), as users run it.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket

import pytest

from playground.embedded import ensure_embedded_endpoint
from playground.settings import Settings
from tests.conftest import TEST_KEY, start_endpoint
from tests.support.app_server import free_port


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket in LISTEN state on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) != port or fields[3] != "0A":  # 0A: TCP_LISTEN
                continue
            raw = bytes.fromhex(address)
            if size == 4:
                found.add(".".join(str(b) for b in raw[::-1]))
            else:  # four little-endian 32-bit words
                words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
                found.add(str(ipaddress.IPv6Address(b"".join(words))))
    return found


HELLO = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}


def outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def request(port: int, method: str, path: str, body: dict | None = None, headers: dict | None = None,
            host: str = "127.0.0.1") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_the_documented_command_listens_on_loopback_only(endpoint):
    assert listening_addresses(endpoint.port) == {"127.0.0.1"}
    assert f"serving 127.0.0.1:{endpoint.port}" in endpoint.stderr_path.read_text()
    outside = outward_address()
    if outside:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((outside, endpoint.port), timeout=5).close()


def test_the_endpoint_the_app_starts_listens_on_loopback_only(tmp_path):
    embedded = ensure_embedded_endpoint(Settings(local_port=free_port()))
    try:
        assert embedded.process is not None  # started here, not reused
        port = int(embedded.url.rsplit(":", 1)[1])
        assert embedded.url.startswith("http://127.0.0.1:")
        assert listening_addresses(port) == {"127.0.0.1"}
    finally:
        embedded.stop()


def test_all_interfaces_only_when_asked(tmp_path):
    # A key, so the model is not open to the network even for the few seconds this test runs.
    running = start_endpoint(tmp_path, "--host", "0.0.0.0", "--api-key", TEST_KEY)
    try:
        assert listening_addresses(running.port) == {"0.0.0.0"}
        outside = outward_address()
        if outside:
            status, _, _ = request(running.port, "GET", "/info", headers={"api-key": TEST_KEY}, host=outside)
            assert status == 200
    finally:
        running.stop()


ORIGIN = {"Origin": "http://evil.example"}


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/info", None),
    ("GET", "/v1/info", None),
    ("POST", "/chat/completions", HELLO),
    ("POST", "/chat/completions", {**HELLO, "stream": True}),
    ("POST", "/chat/completions", {"messages": "not a list"}),  # 400
    ("GET", "/chat/completions", None),  # 405
    ("GET", "/nowhere", None),  # 404
    ("OPTIONS", "/chat/completions", None),  # a CORS preflight
    ("OPTIONS", "/info", None),
])
def test_no_response_carries_cors_headers(endpoint, method, path, body):
    headers = dict(ORIGIN)
    if method == "OPTIONS":
        headers.update({"Access-Control-Request-Method": "POST",
                        "Access-Control-Request-Headers": "content-type, api-key"})
    status, response_headers, _ = request(endpoint.port, method, path, body, headers)
    assert status < 500 or method == "OPTIONS", status
    assert not [name for name in response_headers if name.startswith("access-control-")], response_headers


def test_a_preflight_is_not_granted_and_the_endpoint_keeps_serving(endpoint):
    status, headers, _ = request(endpoint.port, "OPTIONS", "/chat/completions", None, {
        **ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert not 200 <= status < 300  # a browser treats anything but 2xx as a refused preflight
    assert "access-control-allow-origin" not in headers
    status, _, body = request(endpoint.port, "POST", "/chat/completions", HELLO)
    assert status == 200 and json.loads(body)["choices"]


def test_the_keyed_endpoint_sends_no_cors_headers_on_401(keyed_endpoint):
    status, headers, body = request(keyed_endpoint.port, "POST", "/chat/completions", HELLO)
    assert status == 401
    assert not [name for name in headers if name.startswith("access-control-")]
    assert json.loads(body)["error"]["code"] == "unauthorized"
    # A page of another origin is refused before the key is even looked at.
    status, headers, body = request(keyed_endpoint.port, "POST", "/chat/completions", HELLO, ORIGIN)
    assert status == 403 and json.loads(body)["error"]["code"] == "cross_origin"
    assert not [name for name in headers if name.startswith("access-control-")]
