"""Sign-in rules: which [auth] sections sign in how, who a user is, whose data is whose, who may enter."""

from __future__ import annotations

import pytest

from playground.auth import (
    AllowList,
    AuthConfigError,
    SignInOption,
    User,
    owner_id,
    parse_allowed_users,
    sign_in_options,
)
from playground.settings import SettingsError, load_settings
from playground.store import LOCAL_OWNER

SHARED = {"redirect_uri": "https://play.example.com/oauth2callback", "cookie_secret": "s" * 32}
PROVIDER = {"client_id": "id", "client_secret": "secret",
            "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}
ISSUER = "https://login.example.com/v2.0"


def claims(**extra):
    return {"is_logged_in": True, "iss": ISSUER, "sub": "s-alice", "email": "alice@example.com", "name": "Alice",
            **extra}


def test_no_auth_section_is_local_mode():
    assert sign_in_options(None) is None


def test_an_unnamed_provider_signs_in_with_one_button():
    assert sign_in_options({**SHARED, **PROVIDER}) == [SignInOption(None, "Sign in")]


def test_named_providers_get_a_button_each():
    section = {**SHARED, "microsoft": dict(PROVIDER), "okta": dict(PROVIDER), "client_kwargs": {"prompt": "login"}}
    assert sign_in_options(section) == [SignInOption("microsoft", "Sign in with Microsoft"),
                                        SignInOption("okta", "Sign in with Okta")]


@pytest.mark.parametrize("section, words", [
    ({**PROVIDER, "cookie_secret": "x"}, "redirect_uri"),
    ({**PROVIDER, "redirect_uri": "https://h/oauth2callback"}, "cookie_secret"),
    (dict(SHARED), "configures no provider"),
])
def test_an_auth_section_that_cannot_sign_in_is_an_error_never_local_mode(section, words):
    with pytest.raises(AuthConfigError, match=words):
        sign_in_options(section)


def test_user_from_streamlit_claims():
    user = User.from_claims(claims())
    assert user == User("s-alice", ISSUER, "alice@example.com", "Alice", None)
    assert user.display_name == "Alice (alice@example.com)"
    assert User.from_claims({"is_logged_in": False}) is None
    assert User.from_claims(claims(sub="")) is None
    assert User.from_claims({k: v for k, v in claims().items() if k != "iss"}) is None
    assert User.from_claims(claims(email_verified="false")).email_verified is False
    assert User.from_claims(claims(name=None, email=None)).display_name == "s-alice"


def test_the_owner_is_the_issuer_and_sub_never_the_email_or_name():
    alice = User.from_claims(claims())
    renamed = User.from_claims(claims(email="a.smith@example.com", name="Alice Smith"))
    assert alice.owner == renamed.owner == owner_id(ISSUER, "s-alice")
    assert User.from_claims(claims(iss="https://other.example.org")).owner != alice.owner
    assert User.from_claims(claims(sub="s-bob")).owner != alice.owner
    # No concatenation ambiguity ("a#" + "b" vs "a" + "#b"), never the local owner, fits the store's column.
    assert owner_id("a#", "b") != owner_id("a", "#b")
    assert alice.owner != LOCAL_OWNER and len(alice.owner) <= 255


def test_allow_list_of_emails_and_domains_case_insensitive():
    allow = AllowList(parse_allowed_users(" Alice@Example.com, @Team.Example.org ,partner.example.net"))
    assert allow.entries == ("alice@example.com", "@team.example.org", "@partner.example.net")
    assert allow.allows(User.from_claims(claims(email="ALICE@example.COM")))
    assert allow.allows(User.from_claims(claims(email="carol@team.example.org")))
    assert allow.allows(User.from_claims(claims(email="dave@Partner.Example.net")))
    assert not allow.allows(User.from_claims(claims(email="bob@example.com")))
    assert not allow.allows(User.from_claims(claims(email="eve@sub.team.example.org")))
    assert not allow.allows(User.from_claims(claims(email="alice@example.com.evil.test")))
    assert not allow.allows(User.from_claims(claims(email=None)))


def test_an_unverified_email_is_not_allowed_a_verified_or_unstated_one_is():
    allow = AllowList(parse_allowed_users("alice@example.com"))
    assert not allow.allows(User.from_claims(claims(email_verified=False)))
    assert allow.allows(User.from_claims(claims(email_verified=True)))
    assert allow.allows(User.from_claims(claims()))


def test_an_empty_allow_list_lets_everyone_who_signed_in_in():
    assert AllowList(parse_allowed_users("")).allows(User.from_claims(claims(email=None)))


@pytest.mark.parametrize("bad", ["alice@", "not an address", "a@b@c.com", "localhost", "@.com"])
def test_a_malformed_allow_list_names_the_variable(bad):
    with pytest.raises(SettingsError, match="PLAYGROUND_ALLOWED_USERS"):
        load_settings({"PLAYGROUND_ALLOWED_USERS": bad}, dotenv_path=None)


def test_team_settings_are_read_and_checked():
    config = load_settings({"PLAYGROUND_ALLOWED_USERS": "@example.com", "PLAYGROUND_CUSTOM_ENDPOINTS": "off",
                            "PLAYGROUND_USER_REQUESTS_PER_MINUTE": "20",
                            "PLAYGROUND_DATABASE_URL": "postgresql://play:pw@db/play"}, dotenv_path=None)
    assert config.allowed_users == ("@example.com",)
    assert config.custom_endpoints == "off" and config.user_requests_per_minute == 20
    assert config.database_url == "postgresql://play:pw@db/play"
    for name, value in [("PLAYGROUND_USER_REQUESTS_PER_MINUTE", "0"), ("PLAYGROUND_CUSTOM_ENDPOINTS", "http://x/"),
                        ("PLAYGROUND_DATABASE_URL", "sqlite:///x.db")]:
        with pytest.raises(SettingsError, match=name):
            load_settings({name: value}, dotenv_path=None)
