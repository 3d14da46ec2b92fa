"""Who is signed in, who may use the playground, and whose data is whose. No Streamlit here:
resources.py reads `st.user` and the `[auth]` secrets section and hands them to these rules.

- `sign_in_options(auth_section)`: the providers of Streamlit's `[auth]` section (None: no
  section, local single-user mode).
- `User.from_claims(st.user)`: the identity Streamlit's OIDC sign-in put in its signed cookie.
- `owner_id(issuer, sub)`: the store owner of a user. Only the issuer's `sub` identifies a
  person for good: e-mail addresses and names are reassigned, and two issuers can both have a
  user "alice".
- `AllowList`: PLAYGROUND_ALLOWED_USERS, e-mail addresses and domains.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The keys Streamlit itself takes as "this dictionary is a provider" (its _looks_like_provider_section).
_PROVIDER_KEYS = frozenset({"client_id", "client_secret", "server_metadata_url", "authorize_url", "api_base_url",
                            "request_token_url"})


@dataclass(frozen=True)
class SignInOption:
    provider: str | None  # st.login(provider); None: the unnamed provider of [auth] itself
    label: str


class AuthConfigError(ValueError):
    """An `[auth]` section that cannot sign anyone in; the message says what is missing."""


def sign_in_options(auth_section: Mapping[str, Any] | None) -> list[SignInOption] | None:
    """None without an `[auth]` section (local mode). A section that names no provider is an
    error, not local mode: a deployment that meant to require sign-in must never open up."""
    if auth_section is None:
        return None
    section = dict(auth_section)
    missing = [key for key in ("redirect_uri", "cookie_secret") if not section.get(key)]
    if missing:
        raise AuthConfigError(f"The [auth] section of secrets.toml needs {' and '.join(missing)}.")
    options = []
    if _PROVIDER_KEYS & section.keys():
        options.append(SignInOption(None, "Sign in"))
    for name, value in section.items():
        if isinstance(value, Mapping) and _PROVIDER_KEYS & value.keys():
            options.append(SignInOption(name, f"Sign in with {name.replace('-', ' ').title()}"))
    if not options:
        raise AuthConfigError("The [auth] section of secrets.toml configures no provider: give it client_id, "
                              "client_secret and server_metadata_url, or add [auth.NAME] sections.")
    return options


def owner_id(issuer: str, sub: str) -> str:
    """Stable per person and issuer, never "local", of fixed length whatever the claims hold."""
    digest = hashlib.sha256(json.dumps([issuer, sub]).encode()).hexdigest()
    return f"oidc-{digest}"


def _verified(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):  # some issuers send the claim as a string
        return value.strip().lower() == "true"
    return bool(value)


@dataclass(frozen=True)
class User:
    sub: str
    issuer: str
    email: str | None = None
    name: str | None = None
    email_verified: bool | None = None  # None: the issuer sends no such claim

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> User | None:
        """The signed-in user, or None (signed out, or claims without `iss` and `sub`)."""
        if not claims.get("is_logged_in"):
            return None
        sub, issuer = claims.get("sub"), claims.get("iss")
        if not isinstance(sub, str) or not sub or not isinstance(issuer, str) or not issuer:
            return None
        email = claims.get("email")
        name = claims.get("name")
        return cls(sub, issuer, email if isinstance(email, str) and email else None,
                   name if isinstance(name, str) and name else None, _verified(claims.get("email_verified")))

    @property
    def owner(self) -> str:
        return owner_id(self.issuer, self.sub)

    @property
    def display_name(self) -> str:
        if self.name and self.email:
            return f"{self.name} ({self.email})"
        return self.name or self.email or self.sub


def parse_allowed_users(text: str) -> tuple[str, ...]:
    """PLAYGROUND_ALLOWED_USERS: comma-separated e-mail addresses and domains (`@example.com` or
    `example.com`), normalized to lower case; domains keep their leading "@"."""
    entries = []
    for raw in text.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        local, at, domain = entry.rpartition("@")
        if not at:
            local, domain = "", entry
        if "@" in local or " " in entry or "." not in domain or domain.startswith(".") or domain.endswith("."):
            raise ValueError(f"{raw.strip()!r} is neither an e-mail address nor a domain such as @example.com")
        entries.append(f"{local}@{domain}")
    return tuple(entries)


@dataclass(frozen=True)
class AllowList:
    entries: tuple[str, ...] = ()  # as parse_allowed_users returns them; empty: everyone who signs in

    def allows(self, user: User) -> bool:
        if not self.entries:
            return True
        # An address the issuer says it has not verified proves nothing about who signed in.
        if not user.email or user.email_verified is False:
            return False
        email = user.email.strip().lower()
        domain = "@" + email.rpartition("@")[2]
        return email in self.entries or domain in self.entries
