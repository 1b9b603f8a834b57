"""Single sign-on with OpenID Connect, end to end against a real provider on loopback: the code flow
with PKCE gives the same JSESSIONID a password sign-in gives; a forged token, a wrong audience, an
expired token, a replayed code and a mismatched state are each refused with a clear message; a
provider that is down leaves password sign-in usable; password sign-in and Basic can be turned off;
and a sign-in started on one node finishes on another, its session valid on both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.administration import create_admin, refused
from support.agents import PASSWORD, ContactCenter, create_contact_center
from support.server import QUICK_TIMEOUTS, RunningServer, free_port

from .provider import Browser, Provider, error_of, me

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, backend: str
) -> Iterator[tuple[RunningServer, Provider]]:
    folder = Path(tmp_path_factory.mktemp("sso"))
    server = RunningServer(folder / "smsdesk.db", QUICK_TIMEOUTS)
    provider = Provider([server.base_url + "/auth/oidc/callback"], folder / "provider.log").start()
    server.env.update(provider.env())
    server.start()
    yield server, provider
    server.stop()
    provider.stop()


@pytest.fixture
def server(deployment: tuple[RunningServer, Provider]) -> RunningServer:
    return deployment[0]


@pytest.fixture
def provider(deployment: tuple[RunningServer, Provider]) -> Iterator[Provider]:
    yield deployment[1]
    deployment[1].mode("normal")


@pytest.fixture
def browser() -> Iterator[Browser]:
    opened = Browser()
    yield opened
    opened.close()


def test_signing_in_with_the_provider_gives_the_same_session_as_a_password(
    cc: ContactCenter, server: RunningServer, browser: Browser
) -> None:
    options = httpx.get(server.base_url + "/api/v2/signin-options", timeout=10).json()
    assert options == {
        "statusCode": 0,
        "passwordSignIn": True,
        "provider": {"name": "Test ID", "signInUrl": "/auth/oidc/login"},
    }
    user_name = cc.agent_names[0]
    assert browser.sign_in(server.base_url, user_name) == "/desktop/"
    assert me(server.base_url, browser)["userName"] == user_name
    # A session like any other: the CSRF token from a GET, then operations and notifications.
    token = browser.http.get(server.base_url + "/api/v2/me").headers["X-CSRF-TOKEN"]
    started = browser.http.post(
        server.base_url + "/api/v2/me",
        json={"operationName": "StartContactCenterSession", "channels": ["smssession"]},
        headers={"X-CSRF-TOKEN": token},
    )
    assert started.json()["statusCode"] == 0
    handshake = browser.http.post(
        server.base_url + "/api/v2/notifications",
        json=[{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}],
    )
    assert handshake.json()[0]["successful"] is True
    # The state cookie is gone once used.
    assert "SMSDESK_OIDC" not in {cookie.name for cookie in browser.http.cookies.jar}


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("forged", "signature does not match the provider's published keys"),
        ("wrong-audience", "issued for another application"),
        ("expired", "has expired"),
    ],
)
def test_a_bad_id_token_is_refused_with_a_clear_message(
    cc: ContactCenter, server: RunningServer, provider: Provider, browser: Browser, mode: str, words: str
) -> None:
    provider.mode(mode)
    location = browser.sign_in(server.base_url, cc.agent_names[0])
    message = error_of(location)
    assert message is not None and words in message, location
    assert location.startswith("/desktop/?")
    refused(browser.http.get(server.base_url + "/api/v2/me"), 401, 20)
    assert "refused" in server.logs()


def test_a_replayed_code_and_a_mismatched_state_are_refused(
    cc: ContactCenter, server: RunningServer, browser: Browser
) -> None:
    callback = browser.to_callback(server.base_url, cc.agent_names[0])
    state_cookie = browser.http.cookies.get("SMSDESK_OIDC")
    assert browser.finish(callback) == "/desktop/"
    # Replayed: the same answer again, with the state cookie an attacker kept.
    thief = Browser()
    thief.http.cookies.set("SMSDESK_OIDC", state_cookie, domain="127.0.0.1", path="/auth/oidc")
    message = error_of(thief.finish(callback))
    assert message is not None and "refused the sign-in code" in message and "invalid_grant" in message
    refused(thief.http.get(server.base_url + "/api/v2/me"), 401, 20)
    thief.close()

    # Mismatched: an answer that belongs to another sign-in than the one this browser started.
    other = Browser()
    callback = other.to_callback(server.base_url, cc.agent_names[1])
    forged = callback.replace("state=", "state=x")
    message = error_of(other.finish(forged))
    assert message is not None and "state mismatch" in message
    # Nor does an answer without the browser's own state cookie get anywhere.
    message = error_of(Browser().finish(callback))
    assert message is not None and "not started in this browser" in message
    other.close()


def test_only_an_enabled_smsdesk_user_signs_in(
    cc: ContactCenter, server: RunningServer, browser: Browser
) -> None:
    message = error_of(browser.sign_in(server.base_url, "nobody-we-know"))
    assert message is not None and "No enabled smsdesk user is named 'nobody-we-know'" in message
    admin = create_admin(cc)
    target = cc.agent(2)
    admin.put(f"/api/v2/users/{target.id}", enabled=False)
    message = error_of(Browser().sign_in(server.base_url, target.user_name))
    assert message is not None and "No enabled smsdesk user" in message


def test_password_sign_in_turned_off_for_a_user_who_signs_in_with_the_provider(
    cc: ContactCenter, server: RunningServer, browser: Browser
) -> None:
    admin = create_admin(cc)
    agent = cc.agent(1)
    admin.put(f"/api/v2/users/{agent.id}", passwordSignIn=False)
    message = refused(
        httpx.get(server.base_url + "/api/v2/me", auth=(agent.user_name, PASSWORD), timeout=10), 401, 20
    )
    assert "Password sign-in is turned off for this user" in message
    bayeux = httpx.post(
        server.base_url + "/api/v2/notifications",
        json=[{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}],
        auth=(agent.user_name, PASSWORD),
        timeout=10,
    )
    assert bayeux.status_code == 401 and "turned off" in bayeux.json()["statusMessage"]
    assert browser.sign_in(server.base_url, agent.user_name) == "/desktop/"
    assert me(server.base_url, browser)["id"] == agent.id


def test_a_provider_that_is_down_is_a_clear_error_and_passwords_still_work(
    tmp_path: Path, backend: str
) -> None:
    dead = free_port()  # nothing listens there
    server = RunningServer(
        tmp_path / "down.db",
        {
            **QUICK_TIMEOUTS,
            "SMSDESK_OIDC_ISSUER": f"http://127.0.0.1:{dead}",
            "SMSDESK_OIDC_CLIENT_ID": "x",
            "SMSDESK_OIDC_CLIENT_SECRET": "y",
        },
    ).start()
    try:
        cc = create_contact_center(server, agents=1)
        response = httpx.get(server.base_url + "/auth/oidc/login", params={"next": "/admin/"}, timeout=30)
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("/admin/?")
        message = error_of(location)
        assert (
            message is not None and "cannot be reached" in message and "sign in with your password" in message
        )
        ok = httpx.get(server.base_url + "/api/v2/me", auth=(cc.agent_names[0], PASSWORD), timeout=10)
        assert ok.status_code == 200
        # Where a sign-in may return is fixed: never an address a link chose.
        response = httpx.get(
            server.base_url + "/auth/oidc/login", params={"next": "https://evil.example/"}, timeout=30
        )
        assert response.headers["location"].startswith("/desktop/?")
        cc.close()
    finally:
        server.stop()


def test_basic_authentication_turned_off_leaves_only_the_provider(tmp_path: Path, backend: str) -> None:
    server = RunningServer(tmp_path / "nobasic.db", QUICK_TIMEOUTS)
    provider = Provider([server.base_url + "/auth/oidc/callback"], tmp_path / "provider.log").start()
    server.env.update(provider.env(SMSDESK_BASIC_AUTH="false"))
    server.start()
    browser = Browser()
    try:
        cc = create_contact_center(server, agents=1)
        options = httpx.get(server.base_url + "/api/v2/signin-options", timeout=10).json()
        assert options["passwordSignIn"] is False and options["provider"]["name"] == "Test ID"
        message = refused(
            httpx.get(server.base_url + "/api/v2/me", auth=(cc.agent_names[0], PASSWORD), timeout=10), 401, 20
        )
        assert "basic_auth" in message
        assert browser.sign_in(server.base_url, cc.agent_names[0]) == "/desktop/"
        assert me(server.base_url, browser)["userName"] == cc.agent_names[0]
        cc.close()
    finally:
        browser.close()
        server.stop()
        provider.stop()


@pytest.mark.postgres_only
def test_a_sign_in_started_on_one_node_finishes_on_another_and_is_valid_on_both(
    tmp_path: Path, backend: str
) -> None:
    database = tmp_path / "two-nodes.db"
    first = RunningServer(database, QUICK_TIMEOUTS)
    second = RunningServer(database, QUICK_TIMEOUTS, demo=False)
    provider = Provider([first.base_url + "/auth/oidc/callback"], tmp_path / "provider.log").start()
    # Both nodes publish the first one's address, as nodes behind one load balancer publish its.
    for node in (first, second):
        node.env.update(provider.env(SMSDESK_PUBLIC_URL=first.base_url))
    first.start()
    second.start()
    browser = Browser()
    try:
        cc = create_contact_center(first, agents=1)
        callback = browser.to_callback(second.base_url, cc.agent_names[0])  # started on the second node
        assert callback.startswith(first.base_url)  # the provider sends the browser to the first
        assert browser.finish(callback) == "/desktop/"
        assert me(first.base_url, browser)["userName"] == cc.agent_names[0]
        assert me(second.base_url, browser)["userName"] == cc.agent_names[0]
        cc.close()
    finally:
        browser.close()
        second.stop()
        first.stop()
        provider.stop()
