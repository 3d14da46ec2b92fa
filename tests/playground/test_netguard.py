"""Where a user-added endpoint may make this server connect: the policy, real name resolution,
metadata and link-local addresses, and the re-check before every request."""

from __future__ import annotations

import pytest

from playground.errors import PlaygroundError
from playground.netguard import (
    ANY,
    LISTED,
    OFF,
    OFF_MESSAGE,
    EndpointPolicy,
    GuardedTransport,
    resolve,
)


def policy(value, signed_in=True):
    return EndpointPolicy.parse(value, signed_in)


def test_unset_means_any_locally_and_off_with_sign_in():
    assert policy(None, signed_in=False).mode == ANY
    assert policy("", signed_in=True).mode == OFF
    assert policy("OFF", signed_in=False).mode == OFF
    assert policy(" any ", signed_in=True).mode == ANY
    assert policy(None).refusal("https://api.example.com/v1") == OFF_MESSAGE
    assert OFF_MESSAGE == "Custom endpoints are turned off on this deployment (PLAYGROUND_CUSTOM_ENDPOINTS)."


def test_real_resolution_of_literal_addresses_and_localhost():
    assert resolve("127.0.0.1", 80) == ["127.0.0.1"]
    assert resolve("::1", 80) == ["::1"]
    assert "127.0.0.1" in resolve("localhost", 8000) or "::1" in resolve("localhost", 8000)
    # A local server, the documented use of custom endpoints, stays allowed.
    assert policy("any").refusal("http://localhost:8000/v1") is None
    assert policy("any").refusal("http://127.0.0.1:11434/v1") is None


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.10.1:8080/v1",
    "http://[fe80::1]/v1",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://2852039166/",  # 169.254.169.254 written as one number: the resolver turns it into the address
])
def test_link_local_and_metadata_addresses_are_refused_by_real_resolution(url):
    reason = policy("any").refusal(url)
    assert reason and "resolves to a link-local/metadata address" in reason


def test_metadata_host_names_are_refused_without_resolving():
    for url in ("http://metadata.google.internal/computeMetadata/v1/", "http://METADATA.google.internal./"):
        assert "cloud metadata service" in policy("any").refusal(url, resolver=pytest.fail)


def test_every_address_of_a_name_is_checked():
    resolver = {"api.example.com": ["203.0.113.7", "169.254.169.254"]}
    reason = policy("any").refusal("https://api.example.com/v1", lambda host, port: resolver[host])
    assert "api.example.com resolves to a link-local/metadata address (169.254.169.254)" in reason


def test_a_name_that_does_not_resolve_is_refused_plainly():
    assert "does not resolve" in policy("any").refusal("http://no-such-host.invalid/v1")


def test_allow_list_patterns():
    allowed = policy("api.example.com, vllm.internal:8000, *.models.example.org, [::1]:9000")
    assert allowed.mode == LISTED

    def public(host, port):
        return ["203.0.113.7"]

    assert allowed.refusal("https://API.example.com/v1", public) is None
    assert allowed.refusal("http://api.example.com:8080/v1", public) is None  # "host" allows any port
    assert allowed.refusal("http://vllm.internal:8000/v1", public) is None
    assert "vllm.internal:8001 is not among the hosts" in allowed.refusal("http://vllm.internal:8001/v1", public)
    assert allowed.refusal("https://eu.models.example.org/v1", public) is None
    assert "is not among" in allowed.refusal("https://models.example.org/v1", public)  # the wildcard needs a label
    assert "is not among" in allowed.refusal("https://evil.example.com/v1", public)
    assert "is not among" in allowed.refusal("https://api.example.com.evil.test/v1", public)
    assert allowed.refusal("http://[::1]:9000/v1") is None


def test_metadata_is_allowed_only_when_listed_explicitly_not_by_a_wildcard():
    assert policy("169.254.169.254").refusal("http://169.254.169.254/") is None
    assert policy("metadata.google.internal").refusal("http://metadata.google.internal/") is None

    def rebinding(host, port):
        return ["169.254.169.254"]

    assert "link-local/metadata" in policy("*.example.com").refusal("https://x.example.com/", rebinding)
    assert policy("x.example.com").refusal("https://x.example.com/", rebinding) is None


@pytest.mark.parametrize("bad", ["http://api.example.com", "api.example.com:port", "*api.example.com",
                                 "a.*.example.com", "host:70000"])
def test_malformed_entries_are_refused(bad):
    with pytest.raises(ValueError):
        policy(bad)


class Recorder:
    endpoint = type("E", (), {"url": "https://api.example.com/v1"})()

    def __init__(self):
        self.calls = []

    def stream_chat(self, *args, **kwargs):
        self.calls.append("stream_chat")

    def complete_chat(self, *args, **kwargs):
        self.calls.append("complete_chat")

    def model_info(self):
        self.calls.append("model_info")

    def list_models(self):
        self.calls.append("list_models")


def test_the_guarded_transport_rechecks_before_every_call_so_a_changed_dns_answer_is_caught():
    answers = {"api.example.com": ["203.0.113.7"]}
    inner = Recorder()
    client = GuardedTransport(inner, policy("any"), lambda host, port: answers[host])
    client.stream_chat([], None)
    answers["api.example.com"] = ["169.254.169.254"]  # the name now points at the metadata service
    for call in (lambda: client.stream_chat([], None), lambda: client.complete_chat([], None),
                 client.model_info, client.list_models):
        with pytest.raises(PlaygroundError, match="link-local/metadata address"):
            call()
    assert inner.calls == ["stream_chat"]


@pytest.mark.parametrize("address, named", [
    ("168.63.129.16", "168.63.129.16"),  # Azure's platform address (wire server, VM agent, DNS)
    ("192.0.0.192", "192.0.0.192"),  # Oracle Cloud's older metadata address
    ("64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe, which is 169.254.169.254"),  # through a NAT64 gateway
    ("64:ff9b::a83f:8110", "64:ff9b::a83f:8110, which is 168.63.129.16"),
    ("2002:a9fe:a9fe::1", "2002:a9fe:a9fe::1, which is 169.254.169.254"),  # 6to4
    ("::a9fe:a9fe", "::a9fe:a9fe, which is 169.254.169.254"),  # IPv4-compatible
    ("::ffff:a83f:8110", "::ffff:a83f:8110, which is 168.63.129.16"),  # IPv4-mapped
    # Teredo: the client's address, inverted, in the last 32 bits
    ("2001:0:4136:e378:8000:63bf:5601:5601", "2001:0:4136:e378:8000:63bf:5601:5601, which is 169.254.169.254"),
])
def test_platform_addresses_and_ipv4_inside_ipv6_are_refused(address, named):
    reason = policy("any").refusal("https://api.example.com/v1", lambda host, port: [address])
    assert reason == (f"api.example.com resolves to a link-local/metadata address ({named}); this server does not "
                      "call those unless PLAYGROUND_CUSTOM_ENDPOINTS lists the host.")


@pytest.mark.parametrize("url", ["http://168.63.129.16/machine?comp=goalstate", "http://192.0.0.192/latest/",
                                 "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::]/", "http://[::a9fe:a9fe]/"])
def test_the_new_ranges_are_refused_by_real_resolution_of_literal_urls(url):
    assert "resolves to a link-local/metadata address" in policy("any").refusal(url)


@pytest.mark.parametrize("address", ["64:ff9b::cb00:7107", "2002:cb00:7107::1", "::ffff:cb00:7107", "::1", "::",
                                     "2001:db8::1", "10.0.0.5", "127.0.0.1"])
def test_ipv6_forms_of_other_addresses_stay_allowed(address):
    assert policy("any").refusal("https://api.example.com/v1", lambda host, port: [address]) is None


def test_addresses_returns_exactly_the_checked_answer_or_raises_the_refusal():
    answers = {"api.example.com": ["203.0.113.7", "2001:db8::7"]}
    assert policy("any").addresses("API.example.com.", 443, lambda host, port: answers[host]) == answers[
        "api.example.com"]
    with pytest.raises(PlaygroundError, match="link-local/metadata address") as caught:
        policy("any").addresses("api.example.com", 443, lambda host, port: ["203.0.113.7", "169.254.169.254"])
    assert caught.value.code == "endpoint_refused"
    with pytest.raises(PlaygroundError, match=OFF_MESSAGE.replace("(", r"\(").replace(")", r"\)")):
        policy("off").addresses("api.example.com", 443, pytest.fail)
    with pytest.raises(PlaygroundError, match="does not resolve"):
        policy("any").addresses("api.example.com", 443, lambda host, port: [])
    # An explicitly listed host is not checked, but still connected to only as resolved here.
    assert policy("x.example.com").addresses("x.example.com", 443, lambda h, p: ["169.254.169.254"]) == [
        "169.254.169.254"]
