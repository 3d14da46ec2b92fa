"""Which servers a user-added endpoint ("Add an endpoint") may make this server call.

On a shared deployment a custom endpoint is a request the server sends wherever a user says:
without rules it reaches the cloud's instance metadata service (credentials) or hosts on the
server's own network. PLAYGROUND_CUSTOM_ENDPOINTS chooses:

    off                         no custom endpoints
    any                         any host
    host, host:port, *.example.com, ...    only these (case-insensitive)

Unset: `any` in local single-user mode, `off` once sign-in is configured. Whatever the policy,
a host that resolves to a link-local, cloud metadata or cloud platform address (also written
inside an IPv6 address: IPv4-mapped or -compatible, NAT64, 6to4, Teredo) is refused unless that
host is listed explicitly (not by a wildcard). Every address the name resolves to is checked when
the endpoint is added, before each request (`GuardedTransport`), and when the transport opens a
connection (`EndpointPolicy.addresses`): the transport connects only to an address it has just
checked, so a name that answers differently a moment later (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .errors import PlaygroundError

VARIABLE = "PLAYGROUND_CUSTOM_ENDPOINTS"
OFF, ANY, LISTED = "off", "any", "listed"
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
# The clouds' own services, which answer any VM without a key: instance metadata (AWS, GCP, Azure,
# Oracle 169.254.169.254; AWS IPv6 fd00:ec2::254; Alibaba 100.100.100.200; ECS task metadata
# 169.254.170.2; Oracle's older 192.0.0.192) and Azure's platform address 168.63.129.16 (the
# wire server, VM agent and DNS). Link-local addresses (169.254/16, fe80::/10) are refused as a whole.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2", "192.0.0.192", "168.63.129.16"))
# IPv6 prefixes whose last 32 bits are an IPv4 address the packets reach: NAT64's well-known prefix
# (a NAT64 gateway connects to it) and the deprecated IPv4-compatible form (::a.b.c.d).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
OFF_MESSAGE = f"Custom endpoints are turned off on this deployment ({VARIABLE})."

Resolver = Callable[[str, int], Sequence[str]]
# (host, port) -> the addresses a connection may use, checked (EndpointPolicy.addresses); it raises
# PlaygroundError when the policy refuses. A transport built with one connects only to those.
Guard = Callable[[str, int], Sequence[str]]
T = TypeVar("T")


def resolve(host: str, port: int) -> list[str]:
    """Every address (A and AAAA) `host` resolves to, in the order the system prefers them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and ends up reaching, if any."""
    if address.version == 4:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client, where the packets go
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):  # :: and ::1 are not IPv4
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _forbidden(text: str) -> str | None:
    """How to name `text` in a refusal when it is a link-local, metadata or platform address
    (itself or the IPv4 address inside it); None when it is not one."""
    address = ipaddress.ip_address(text)
    inner = embedded_ipv4(address)
    if address in METADATA_ADDRESSES or address.is_link_local:
        return str(address)
    if inner is not None and (inner in METADATA_ADDRESSES or inner.is_link_local):
        return f"{address}, which is {inner}"
    return None


def connect_first(addresses: Sequence[str], connect: Callable[[str], T], failures: tuple[type[Exception], ...]) -> T:
    """`connect(address)` for each address in turn, as socket.create_connection tries each address
    of a name: the first connection made, or the last failure."""
    for address in addresses[:-1]:
        try:
            return connect(address)
        except failures:
            continue
    return connect(addresses[-1])


@dataclass(frozen=True)
class HostPattern:
    host: str  # lower case; "*.example.com" matches any name under example.com, not example.com itself
    port: int | None = None

    @property
    def wildcard(self) -> bool:
        return self.host.startswith("*.")

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.wildcard:
            return host.endswith(self.host[1:]) and host != self.host[2:]
        return host == self.host


def _pattern(entry: str) -> HostPattern:
    text = entry.strip().lower()
    host, port = text, None
    if text.startswith("["):  # [v6]:port
        close = text.find("]")
        host, rest = text[1:close], text[close + 1:]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"{entry!r} is not host, host:port or *.domain")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, number = text.partition(":")
        if not number.isdigit():
            raise ValueError(f"{entry!r} is not host, host:port or *.domain")
        port = int(number)
    if not host or "/" in host or " " in host or "*" in host[2:] or ("*" in host and not host.startswith("*.")):
        raise ValueError(f"{entry!r} is not host, host:port or *.domain")
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{entry!r} has a port outside 1-65535")
    return HostPattern(host.rstrip("."), port)


@dataclass(frozen=True)
class EndpointPolicy:
    mode: str  # OFF, ANY or LISTED
    hosts: tuple[HostPattern, ...] = ()

    @classmethod
    def parse(cls, value: str | None, signed_in: bool) -> EndpointPolicy:
        """The policy PLAYGROUND_CUSTOM_ENDPOINTS sets; ValueError for a malformed entry."""
        text = (value or "").strip()
        if not text:
            return cls(OFF if signed_in else ANY)
        if text.lower() in (OFF, ANY):
            return cls(text.lower())
        return cls(LISTED, tuple(_pattern(entry) for entry in text.split(",") if entry.strip()))

    def _listed(self, host: str, port: int) -> HostPattern | None:
        return next((p for p in self.hosts if p.matches(host, port)), None)

    def refusal(self, url: str, resolver: Resolver = resolve) -> str | None:
        """Why this server must not call `url`, in words for the user; None when it may."""
        if self.mode == OFF:
            return OFF_MESSAGE
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return f"{url} has no valid port."
        if not host:
            return f"{url} names no host."
        return self._verdict(host, port, resolver, resolve_listed=False)[0]

    def addresses(self, host: str, port: int, resolver: Resolver = resolve) -> list[str]:
        """The addresses a connection to `host`:`port` may use: the resolver's answer, every one
        checked. A transport that connects only to these connects to what was checked, whatever
        the name resolves to a moment later. PlaygroundError (the refusal) when none may be used."""
        reason, addresses = self._verdict(host.strip("[]").rstrip(".").lower(), port, resolver, resolve_listed=True)
        if reason:
            raise PlaygroundError(reason, code="endpoint_refused")
        return addresses

    def _verdict(self, host: str, port: int, resolver: Resolver, resolve_listed: bool) -> tuple[str | None, list[str]]:
        """(why not, or None; the addresses checked). A host listed explicitly is not checked, and
        only resolved when `resolve_listed` (to connect)."""
        if self.mode == OFF:
            return OFF_MESSAGE, []
        listed = self._listed(host, port)
        if self.mode == LISTED and listed is None:
            allowed = ", ".join(p.host + (f":{p.port}" if p.port else "") for p in self.hosts)
            return f"{host}:{port} is not among the hosts this deployment allows ({VARIABLE}: {allowed}).", []
        explicit = listed is not None and not listed.wildcard
        if explicit and not resolve_listed:
            return None, []
        if host in METADATA_HOSTS and not explicit:
            return f"{host} is a cloud metadata service; this server does not call it.", []
        try:
            addresses = list(resolver(host, port))
        except (OSError, UnicodeError):
            addresses = []
        if not addresses:
            return f"{host} does not resolve to an address (check the name).", []
        for text in addresses if not explicit else ():
            forbidden = _forbidden(text)
            if forbidden:
                return (f"{host} resolves to a link-local/metadata address ({forbidden}); this server does not "
                        f"call those unless {VARIABLE} lists the host."), []
        return None, addresses

    def check(self, url: str, resolver: Resolver = resolve) -> None:
        """`refusal` as a PlaygroundError, the error every page shows."""
        reason = self.refusal(url, resolver)
        if reason:
            raise PlaygroundError(reason, code="endpoint_refused")


class GuardedTransport:
    """A transport to a user-added endpoint that re-checks the policy before every call (the
    name may resolve elsewhere by now). Everything else is the wrapped transport's."""

    def __init__(self, inner: Any, policy: EndpointPolicy, resolver: Resolver = resolve):
        self._inner, self._policy, self._resolver = inner, policy, resolver
        self.endpoint = inner.endpoint

    def _check(self) -> None:
        self._policy.check(self.endpoint.url, self._resolver)

    def stream_chat(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return self._inner.stream_chat(*args, **kwargs)

    def complete_chat(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return self._inner.complete_chat(*args, **kwargs)

    def model_info(self) -> Any:
        self._check()
        return self._inner.model_info()

    def list_models(self) -> Any:
        self._check()
        return self._inner.list_models()

    def close(self) -> None:  # the wrapped transport is shared (cached): its owner closes it
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
