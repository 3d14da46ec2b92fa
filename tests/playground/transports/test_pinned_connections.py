"""A user-added endpoint's connections go only to an address playground.netguard has just checked,
with both SDK stacks (openai over httpx2/httpcore2, azure-ai-inference over requests/urllib3).

Before, the policy looked the name up and the SDK then looked it up again to connect: a name whose
DNS answers a public address to the check and a metadata address to the connection (DNS rebinding)
got the request through. Here the lookups are injected (the policy takes a resolver) and a local
server counts what it receives."""

from __future__ import annotations

import base64
from functools import partial

import pytest

from playground.client import ChatClient, ChatParams, Endpoint, PlaygroundError
from playground.netguard import EndpointPolicy, GuardedTransport
from playground.types import INFERENCE, OPENAI
from tests.support.fake_service import FakeService, Reply
from tests.support.github_models import streamed_reply

HELLO = [{"role": "user", "content": "Hi"}]
ANY = EndpointPolicy.parse("any", signed_in=True)
PUBLIC = "203.0.113.7"


class Rebinding:
    """A name's DNS as a rebinding attacker runs it: the first lookup answers a public address,
    every later one `then`."""

    def __init__(self, then: str):
        self.then = then
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return [PUBLIC] if len(self.lookups) == 1 else [self.then]


def user_endpoint(url: str, api: str, resolver, policy: EndpointPolicy = ANY):
    """A user-added endpoint's client as resources.client_for builds it, with `resolver` as DNS."""
    transport = ChatClient(Endpoint(url, "my endpoint", api=api), read_timeout=10,
                           guard=partial(policy.addresses, resolver=resolver))
    return GuardedTransport(transport, policy, resolver)


@pytest.mark.parametrize("api", [INFERENCE, OPENAI])
@pytest.mark.parametrize("then", ["169.254.169.254", "64:ff9b::a9fe:a9fe"])
def test_a_name_that_rebinds_after_the_check_is_never_connected_to(api, then):
    with FakeService([streamed_reply("secret")] * 3) as server:
        # The system resolves localhost to this server: what the SDK connected to before.
        dns = Rebinding(then)
        client = user_endpoint(server.url.replace("127.0.0.1", "localhost"), api, dns)
        with pytest.raises(PlaygroundError) as caught:
            list(client.stream_chat(HELLO, ChatParams(), "m"))
        client.close()
        assert server.requests == []
    assert caught.value.message.startswith("localhost resolves to a link-local/metadata address")
    assert caught.value.code == "endpoint_refused"
    assert dns.lookups == ["localhost", "localhost"]  # the check, then the connection: no retry


@pytest.mark.parametrize("api", [INFERENCE, OPENAI])
def test_the_connection_goes_to_the_checked_address_under_the_endpoint_s_own_name(api):
    with FakeService([streamed_reply("pinned")] * 3) as server:
        port = server.url.rsplit(":", 1)[1]
        # model.example.test exists only in this resolver: nothing but the checked answer is used.
        client = user_endpoint(f"http://model.example.test:{port}/v1", api, lambda host, port: ["127.0.0.1"])
        stream = client.stream_chat(HELLO, ChatParams(), "m")
        assert "".join(stream) == "pinned"
        client.close()
    assert [r["headers"]["Host"] for r in server.requests] == [f"model.example.test:{port}"]


@pytest.mark.parametrize("api", [INFERENCE, OPENAI])
def test_every_checked_address_is_tried_in_turn(api):
    with FakeService([streamed_reply("second")] * 3) as server:
        port = server.url.rsplit(":", 1)[1]
        # 127.0.0.2 is loopback too, but nothing listens there on this port.
        client = user_endpoint(f"http://model.example.test:{port}", api, lambda host, port: ["127.0.0.2", "127.0.0.1"])
        assert "".join(client.stream_chat(HELLO, ChatParams(), "m")) == "second"
        client.close()
    assert len(server.requests) == 1


@pytest.mark.parametrize("api", [INFERENCE, OPENAI])
def test_a_connection_the_policy_refuses_sends_nothing_and_the_user_reads_the_policy_s_words(api):
    policy = EndpointPolicy.parse("models.example.test", signed_in=True)
    with FakeService([streamed_reply("x")]) as server:
        client = ChatClient(Endpoint(server.url, "my endpoint", api=api), read_timeout=10,
                            guard=partial(policy.addresses, resolver=lambda host, port: ["127.0.0.1"]))
        with pytest.raises(PlaygroundError, match=r"127\.0\.0\.1:\d+ is not among the hosts this deployment allows"):
            client.list_models()
        client.close()
        assert server.requests == []


@pytest.mark.parametrize("api", [INFERENCE, OPENAI])
def test_a_user_endpoint_ignores_the_deployment_s_proxy_and_netrc(api, monkeypatch, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("default login deployment password deployment-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with FakeService([streamed_reply("direct")] * 3) as server, FakeService([streamed_reply("proxied")] * 3) as proxy:
        # A proxy would connect wherever the name resolves for it: the check could not hold.
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("http_proxy", proxy.url)
        client = user_endpoint(server.url, api, lambda host, port: ["127.0.0.1"])
        assert "".join(client.stream_chat(HELLO, ChatParams(), "m")) == "direct"
        client.close()
        assert proxy.requests == []
    secret = base64.b64encode(b"deployment:deployment-secret").decode()
    assert all(secret not in str(r["headers"]) for r in server.requests)


def test_redirects_are_still_not_followed_by_the_pinned_stacks():
    with FakeService({"/chat/completions": [streamed_reply("secret")] * 3}) as target:
        redirect = Reply(status=307, body={"error": {"code": "moved", "message": "Moved"}},
                         headers={"Location": f"{target.url}/chat/completions"})
        with FakeService({"/chat/completions": [redirect] * 3}) as endpoint:
            for api in (INFERENCE, OPENAI):
                client = user_endpoint(endpoint.url, api, lambda host, port: ["127.0.0.1"])
                with pytest.raises(PlaygroundError):
                    list(client.stream_chat(HELLO, ChatParams(), "m"))
                client.close()
        assert target.requests == []


def certificate_files(directory, name: str) -> tuple[str, str, str]:
    """A CA and a certificate it signed for `name`, as PEM files: (CA, certificate, key)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def signed(subject: str, key, issuer: str, issuer_key, ca: bool, san: str | None) -> x509.Certificate:
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
                decipher_only=False), critical=True).add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)\
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                               critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = signed("Test CA", ca_key, "Test CA", ca_key, True, None)
    leaf = signed(name, key, "Test CA", ca_key, False, name)
    paths = [directory / "ca.pem", directory / "cert.pem", directory / "key.pem"]
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return tuple(str(p) for p in paths)


@pytest.mark.parametrize("api", [INFERENCE, OPENAI])
def test_https_is_verified_against_the_endpoint_s_name_not_the_pinned_address(api, monkeypatch, tmp_path):
    import ssl

    ca, cert, key = certificate_files(tmp_path, "model.example.test")
    monkeypatch.setenv("SSL_CERT_FILE", ca)  # how a deployment trusts its own CA: httpx2 reads this,
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca)  # requests this
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = FakeService([streamed_reply("over TLS")] * 3)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    with server:
        port = server.url.rsplit(":", 1)[1]
        client = user_endpoint(f"https://model.example.test:{port}", api, lambda host, port: ["127.0.0.1"])
        assert "".join(client.stream_chat(HELLO, ChatParams(), "m")) == "over TLS"
        client.close()
        # The same server under another name that resolves to the same address: the certificate does not match.
        other = user_endpoint(f"https://other.example.test:{port}", api, lambda host, port: ["127.0.0.1"])
        with pytest.raises(PlaygroundError, match="Cannot reach"):  # the handshake fails: nothing is sent
            list(other.stream_chat(HELLO, ChatParams(), "m"))
        other.close()
    assert len(server.requests) == 1
