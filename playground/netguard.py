"""Which servers a user-added endpoint ("Add an endpoint") may make this server call.

On a shared deployment a custom endpoint is a request the server sends wherever a user says:
without rules it reaches the cloud's instance metadata service (credentials) or hosts on the
server's own network. PLAYGROUND_CUSTOM_ENDPOINTS chooses:

    off                         no custom endpoints
    any                         any host
    host, host:port, *.example.com, ...    only these (case-insensitive)

Unset: `any` in local single-user mode, `off` once sign-in is configured. Whatever the policy,
a host that resolves to a link-local or cloud metadata address is refused unless that host is
listed explicitly (not by a wildcard). Every address the name resolves to is checked, when the
endpoint is added and again before each request (`GuardedTransport`), since DNS can change.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import PlaygroundError

VARIABLE = "PLAYGROUND_CUSTOM_ENDPOINTS"
OFF, ANY, LISTED = "off", "any", "listed"
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2"))
OFF_MESSAGE = f"Custom endpoints are turned off on this deployment ({VARIABLE})."

Resolver = Callable[[str, int], Sequence[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address (A and AAAA) `host` resolves to, as the socket layer connects to them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


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
        listed = self._listed(host, port)
        if self.mode == LISTED and listed is None:
            allowed = ", ".join(p.host + (f":{p.port}" if p.port else "") for p in self.hosts)
            return f"{host}:{port} is not among the hosts this deployment allows ({VARIABLE}: {allowed})."
        explicit = listed is not None and not listed.wildcard
        if explicit:
            return None
        if host in METADATA_HOSTS:
            return f"{host} is a cloud metadata service; this server does not call it."
        try:
            addresses = resolver(host, port)
        except (OSError, UnicodeError):
            return f"{host} does not resolve to an address (check the name)."
        for text in addresses:
            address = ipaddress.ip_address(text)
            mapped = getattr(address, "ipv4_mapped", None)
            if mapped is not None:
                address = mapped
            if address in METADATA_ADDRESSES or address.is_link_local:
                return (f"{host} resolves to a link-local/metadata address ({address}); this server does not "
                        f"call those unless {VARIABLE} lists the host.")
        return None

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
