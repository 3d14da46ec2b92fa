"""DNS rebinding and cross-origin pages: the endpoint answers only requests for a host it
serves and never a page of another origin. Raw sockets with forged Host and Origin headers
against the real endpoint."""

from __future__ import annotations

import json
import socket

import pytest

from tests.conftest import TEST_KEY, TEST_THREADS, start_endpoint


def send(port: int, host: str | None, method: str = "GET", path: str = "/info", headers: dict | None = None,
         body: bytes = b"", version: str = "HTTP/1.1") -> tuple[int, dict[str, str], bytes]:
    """One request as a browser (or an attacker) could shape it; the answer's status, headers, body."""
    lines = [f"{method} {path} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    for name, value in {**(headers or {}), "Content-Length": str(len(body)), "Connection": "close"}.items():
        lines.append(f"{name}: {value}")
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    head, _, payload = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    return int(status_line.split()[1]), found, payload


def assert_refused(answer, code: str) -> None:
    status, headers, payload = answer
    assert status == 403, answer
    assert headers["content-type"] == "application/json"
    assert json.loads(payload)["error"]["code"] == code and json.loads(payload)["error"]["status"] == 403
    assert not [name for name in headers if name.startswith("access-control-")]


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_loopback_names_at_our_port_are_served(endpoint, name):
    status, _, payload = send(endpoint.port, f"{name}:{endpoint.port}")
    assert status == 200 and json.loads(payload)["model_name"]


@pytest.mark.parametrize("host", [
    "evil.example", "evil.example:{port}", "attacker.127.0.0.1.nip.io:{port}", "127.0.0.1.evil.example:{port}",
    "localhost.evil.example:{port}", "127.0.0.1:1", "localhost:{other}", "10.0.0.5:{port}", "0.0.0.0:{port}",
    "127.0.0.1:notaport", "",
])
def test_other_hosts_are_refused_on_every_route(endpoint, host):
    host = host.format(port=endpoint.port, other=endpoint.port + 1)
    for method, path, body in (("GET", "/info", b""), ("GET", "/v1/models", b""),
                               ("POST", "/chat/completions",
                                json.dumps({"messages": [{"role": "user", "content": "Hi"}],
                                            "max_tokens": 2}).encode())):
        assert_refused(send(endpoint.port, host, method, path, {"Content-Type": "application/json"}, body),
                       "forbidden_host")


def test_a_request_without_host_is_refused(endpoint):
    assert_refused(send(endpoint.port, None, version="HTTP/1.0"), "forbidden_host")


def test_a_refused_request_never_reaches_the_model(endpoint):
    before = len(endpoint.requests())
    body = json.dumps({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}).encode()
    assert_refused(send(endpoint.port, "evil.example", "POST", "/chat/completions", {}, body), "forbidden_host")
    assert_refused(send(endpoint.port, f"127.0.0.1:{endpoint.port}", "POST", "/chat/completions",
                        {"Origin": "http://evil.example"}, body), "cross_origin")
    assert len(endpoint.requests()) == before


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "https://127.0.0.1:{port}", "http://localhost:{port}",
                                    "http://127.0.0.1:{other}", "http://127.0.0.1"])
def test_a_cross_origin_page_is_refused(endpoint, origin):
    origin = origin.format(port=endpoint.port, other=endpoint.port + 1)
    for method in ("GET", "OPTIONS", "POST"):
        headers = {"Origin": origin, "Access-Control-Request-Method": "POST", "Content-Type": "application/json"}
        assert_refused(send(endpoint.port, f"127.0.0.1:{endpoint.port}", method, "/chat/completions", headers,
                            b'{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}'
                            if method == "POST" else b""), "cross_origin")


def test_a_same_origin_request_is_served(endpoint):
    host = f"127.0.0.1:{endpoint.port}"
    status, headers, _ = send(endpoint.port, host, headers={"Origin": f"http://{host}"})
    assert status == 200
    assert not [name for name in headers if name.startswith("access-control-")]


@pytest.fixture(scope="module")
def everywhere(tmp_path_factory):
    running = start_endpoint(tmp_path_factory.mktemp("everywhere"), "--host", "0.0.0.0", "--api-key", TEST_KEY,
                             "--allowed-host", "playground.example", "--allowed-host", "Proxy.Example", *TEST_THREADS)
    yield running
    running.stop()


@pytest.mark.parametrize("host, served", [
    ("10.1.2.3:{port}", True), ("192.168.0.7:{port}", True), ("[fe80::1]:{port}", True), ("localhost:{port}", True),
    ("10.1.2.3", True), ("10.1.2.3:9000", True), ("localhost:9000", True),  # a NAT may map another port
    ("playground.example", True), ("playground.example:443", True), ("proxy.example:{port}", True),
    ("evil.example:{port}", False), ("sub.playground.example", False), ("playground.example.evil", False),
])
def test_on_all_interfaces_ip_literals_localhost_and_allowed_names_are_served(everywhere, host, served):
    answer = send(everywhere.port, host.format(port=everywhere.port), headers={"api-key": TEST_KEY})
    if served:
        assert answer[0] == 200, answer
    else:
        assert_refused(answer, "forbidden_host")
