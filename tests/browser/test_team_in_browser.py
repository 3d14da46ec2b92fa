"""A playground a team shares, in Debian's Chromium: Streamlit's own OIDC sign-in against a real
OpenID Connect provider (oidc-provider-mock, tests/support/oidc.py), two users in two browser
contexts who each see only their own history, presets and links, an allow-list, sign-out, and
custom endpoints that cannot reach the cloud metadata service."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.app_server import chromium, idle, streamlit_app
from tests.support.oidc import oidc_provider

USERS = [{"sub": "alice", "email": "alice@example.com", "name": "Alice"},
         {"sub": "bob", "email": "bob@example.com", "name": "Bob"},
         {"sub": "eve", "email": "eve@elsewhere.test", "name": "Eve"}]
DOES_NOT_EXIST = "That conversation does not exist any more."


def team_env(endpoint, secrets: Path, **extra: str) -> dict[str, str]:
    return {"PLAYGROUND_LOCAL_PORT": str(endpoint.port), "STREAMLIT_SECRETS_FILES": str(secrets), **extra}


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    with oidc_provider(USERS, tmp_path_factory.mktemp("oidc") / "oidc.log") as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:  # one per module: Playwright's sync API does not nest
        yield running


@pytest.fixture(scope="module")
def team_app(endpoint, provider, browser, tmp_path_factory):
    work = tmp_path_factory.mktemp("team")
    secrets = work / "secrets.toml"
    secrets.write_text(provider.secrets_toml())
    env = team_env(endpoint, secrets, PLAYGROUND_ALLOWED_USERS="@example.com", PLAYGROUND_CUSTOM_ENDPOINTS="any")
    with streamlit_app(env, work / "streamlit.log") as app:
        yield app.url, browser


def sign_in(page, url: str, sub: str, button: str = "Sign in") -> None:
    page.goto(url)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(r"/oauth2/authorize"), timeout=30_000)
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()


@contextmanager
def signed_in(browser, url: str, sub: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, url, sub)
        yield page
    finally:
        context.close()


def sign_out(page) -> None:
    """Sign out, then end the session at the provider (Streamlit sends the browser to its end_session_endpoint)."""
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click(timeout=30_000)


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def send(page, text: str) -> None:
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(text)
    box.press("Enter")


def chat_and_wait(page, text: str) -> str:
    send(page, text)
    messages = page.get_by_test_id("stChatMessage")
    expect(messages.nth(1).get_by_text(re.compile("completion tokens"))).to_be_visible(timeout=90_000)
    expect(page).to_have_url(re.compile(r"\?c=[\w-]{16,}"))
    return page.url


def save_preset(page, name: str) -> None:
    idle(page)  # the finished reply reruns the page: a click during that run can be lost
    sidebar(page).get_by_text("Presets", exact=True).click()
    field = sidebar(page).get_by_label("Save the system prompt, parameters and tools as")
    field.fill(name)
    field.press("Enter")
    sidebar(page).get_by_role("button", name="Save preset").click()
    expect(sidebar(page).get_by_role("button", name="Load preset")).to_be_visible(timeout=30_000)
    expect(sidebar(page).get_by_role("combobox", name="Preset")).to_have_value(name)


def test_before_sign_in_no_page_runs_whatever_the_url(team_app):
    url, browser = team_app
    context = browser.new_context()
    try:
        page = context.new_page()
        for path in ("/", "/compare", "/model_info", "/?c=anything", "/compare?c=anything"):
            page.goto(url + path)
            expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
            expect(page.get_by_role("dialog")).to_have_count(0)  # no "page not found" either
            expect(page.get_by_test_id("stChatInput")).to_have_count(0)
            expect(page.get_by_role("link", name="Compare")).to_have_count(0)
    finally:
        context.close()


def test_each_user_sees_only_their_own_history_presets_and_links_and_signs_out(team_app):
    url, browser = team_app
    with signed_in(browser, url, "alice") as alice, signed_in(browser, url, "bob") as bob:
        expect(sidebar(alice)).to_contain_text("Signed in as Alice (alice@example.com)", timeout=30_000)
        expect(sidebar(bob)).to_contain_text("Signed in as Bob (bob@example.com)", timeout=30_000)
        alices_link = chat_and_wait(alice, "Alice's plan: the lighthouse")
        save_preset(alice, "alice-preset")
        expect(sidebar(alice).get_by_role("button", name="Alice's plan: the lighthouse")).to_be_visible()

        # Bob: none of it in his history or presets, not even in a search.
        expect(sidebar(bob).get_by_text("No saved conversations yet.")).to_be_visible(timeout=30_000)
        sidebar(bob).get_by_placeholder("Search conversations").fill("lighthouse")
        sidebar(bob).get_by_placeholder("Search conversations").press("Enter")
        expect(sidebar(bob).get_by_text("Nothing matches.")).to_be_visible(timeout=30_000)
        idle(bob)
        sidebar(bob).get_by_text("Presets", exact=True).click()
        expect(sidebar(bob).get_by_role("button", name="Save preset")).to_be_visible(timeout=30_000)
        expect(sidebar(bob).get_by_role("combobox", name="Preset")).to_have_count(0)  # he has none

        # Bob opens Alice's link: it does not exist for him, and nothing of it shows.
        bob.goto(alices_link)
        expect(bob.get_by_text(DOES_NOT_EXIST)).to_be_visible(timeout=30_000)
        expect(bob.get_by_test_id("stChatMessage")).to_have_count(0)
        expect(bob.get_by_text("lighthouse")).to_have_count(0)
        expect(bob).not_to_have_url(re.compile(r"\?c="))

        bobs_link = chat_and_wait(bob, "Bob's own question about tides")
        expect(sidebar(bob).get_by_role("button", name="Bob's own question about tides")).to_be_visible()
        expect(sidebar(bob).get_by_role("button", name="Alice's plan: the lighthouse")).to_have_count(0)

        # Alice, after a reload: her conversation and preset, not Bob's; his link does not exist for her.
        alice.goto(alices_link)
        expect(alice.get_by_test_id("stChatMessage").nth(0)).to_contain_text("Alice's plan", timeout=30_000)
        expect(sidebar(alice).get_by_role("button", name="Bob's own question about tides")).to_have_count(0)
        alice.goto(bobs_link)
        expect(alice.get_by_text(DOES_NOT_EXIST)).to_be_visible(timeout=30_000)
        expect(alice.get_by_text("tides")).to_have_count(0)

        # Sign out: the sign-in screen, and the link shows nothing any more.
        sign_out(alice)
        expect(alice.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
        alice.goto(alices_link)
        expect(alice.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
        expect(alice.get_by_test_id("stChatMessage")).to_have_count(0)
        expect(alice.get_by_text("lighthouse")).to_have_count(0)


def test_a_user_outside_the_allow_list_gets_a_plain_page_and_no_page_runs(team_app):
    url, browser = team_app
    with signed_in(browser, url, "eve") as eve:
        expect(eve.get_by_role("heading", name="Not allowed")).to_be_visible(timeout=30_000)
        expect(eve.get_by_text("You are signed in as Eve (eve@elsewhere.test)")).to_be_visible()
        for path in ("/compare", "/model_info"):
            eve.goto(url + path)
            expect(eve.get_by_role("heading", name="Not allowed")).to_be_visible(timeout=30_000)
        expect(eve.get_by_test_id("stChatInput")).to_have_count(0)
        expect(eve.get_by_role("link", name="Chat")).to_have_count(0)
        sign_out(eve)
        expect(eve.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)


def test_a_custom_endpoint_at_the_metadata_address_is_refused(team_app):
    url, browser = team_app
    with signed_in(browser, url, "alice") as alice:
        expect(sidebar(alice)).to_contain_text("Signed in as Alice", timeout=30_000)
        sidebar(alice).get_by_text("Add an endpoint", exact=True).click()
        sidebar(alice).get_by_role("textbox", name="Name").fill("metadata")
        sidebar(alice).get_by_role("textbox", name="URL").fill("http://169.254.169.254/")
        sidebar(alice).get_by_role("button", name="Add endpoint").click()
        alert = sidebar(alice).get_by_test_id("stAlert")
        expect(alert).to_contain_text("169.254.169.254 resolves to a link-local/metadata address", timeout=30_000)
        expect(sidebar(alice).get_by_text("metadata: http://169.254.169.254")).to_have_count(0)


def test_two_app_processes_on_one_postgresql_share_each_users_conversations(endpoint, provider, browser, tmp_path):
    """Two replicas (two `streamlit run`s) share a database and the sign-in configuration: a
    conversation written through one is listed and opened through the other, by its owner only."""
    from tests.support.postgres import PostgresServer

    try:
        server = PostgresServer()
    except RuntimeError as exc:  # not a skip: a missing server would hide the deployment this checks
        pytest.fail(str(exc), pytrace=False)
    try:
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(provider.secrets_toml(named="corp"))
        env = team_env(endpoint, secrets, PLAYGROUND_DATABASE_URL=server.create_database())
        with streamlit_app(env, tmp_path / "a" / "streamlit.log") as first, \
                streamlit_app(env, tmp_path / "b" / "streamlit.log") as second:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            alice = context.new_page()
            sign_in(alice, first.url, "alice", button="Sign in with Corp")
            link = chat_and_wait(alice, "Written through the first replica")
            # Behind a proxy both replicas share one origin, so one sign-in serves both; here each has its
            # own port (origin), which Streamlit's cookie is bound to: Alice signs in there too, as the same user.
            sign_in(alice, second.url, "alice", button="Sign in with Corp")
            expect(sidebar(alice)).to_contain_text("Signed in as Alice", timeout=30_000)
            entry = sidebar(alice).get_by_role("button", name="Written through the first replica")
            expect(entry).to_be_visible(timeout=30_000)
            alice.goto(second.url + "/?" + link.split("?", 1)[1])
            messages = alice.get_by_test_id("stChatMessage")
            expect(messages).to_have_count(2, timeout=30_000)
            expect(messages.nth(0)).to_contain_text("Written through the first replica")
            context.close()
            bob_context = browser.new_context()
            bob = bob_context.new_page()
            sign_in(bob, second.url, "bob", button="Sign in with Corp")
            expect(sidebar(bob).get_by_text("No saved conversations yet.")).to_be_visible(timeout=30_000)
            bob_context.close()
    finally:
        server.stop()
