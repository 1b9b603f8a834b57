"""The agent resource, its contact-center session, CSRF protection and the version endpoint."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from support.agents import PASSWORD, ContactCenter
from support.server import RunningServer


def test_me_with_subresources_includes_channels_and_live_sms_sessions(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    cc.sms(cc.customer_number(), "hi")
    session = agent.wait_invited()
    me = agent.get("/api/v2/me", subresources="*")["user"]
    assert me["userName"] == agent.user_name and me["roles"] == ["ROLE_AGENT"]
    assert me["path"] == f"/users/{me['id']}" and me["uri"].endswith(me["path"])
    assert [c["channel"] for c in me["channels"]] == ["smssession"]
    assert [s["id"] for s in me["smssessions"]] == [session["id"]]
    assert "api-multimedia" in me["features"]
    only = agent.get("/api/v2/me", subresources="smssessions")["user"]
    assert "channels" not in only and len(only["smssessions"]) == 1
    assert "smssessions" not in agent.get("/api/v2/me")["user"]


def test_sessions_list_forms(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    cc.sms(cc.customer_number(), "hi")
    session = agent.wait_invited()
    assert agent.get("/api/v2/me/smssessions") == {"statusCode": 0, "uris": [session["uri"]]}
    full = agent.get("/api/v2/me/smssessions", fields="*")
    assert [s["id"] for s in full["smssessions"]] == [session["id"]]
    # The global form the resource uri points to, and the documented misspelling, serve the same.
    assert agent.get(f"/api/v2/smssessions/{session['id']}")["smssession"]["id"] == session["id"]
    assert agent.get(f"/api/v2/me/smsessions/{session['id']}")["smssession"]["id"] == session["id"]


def test_ready_requires_a_contact_center_session_and_end_logs_out(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen()
    refused = agent.post("/api/v2/me", operationName="Ready", expect=400)
    assert refused["statusCode"] == 2 and "StartContactCenterSession" in refused["statusMessage"]
    agent.post("/api/v2/me", operationName="StartContactCenterSession", channels=["nope"], expect=400)
    agent.post("/api/v2/me", operationName="StartContactCenterSession", expect=400)
    agent.log_in()
    assert agent.get("/api/v2/me/channels")["channels"][0]["userState"]["state"] == "Ready"
    cc.sms(cc.customer_number(), "hi")
    session = agent.wait_invited()
    response = agent.http.post("/api/v2/me", json={"operationName": "EndContactCenterSession"})
    assert response.json()["statusCode"] == 0
    assert 'JSESSIONID=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    assert agent.get("/api/v2/me/channels")["channels"] == []
    # The pending offer went back to routing instead of waiting for its timeout.
    (revoked,) = agent.take(1)
    assert revoked["smssession"]["id"] == session["id"] and revoked["smssession"]["state"] == "Completed"


def test_csrf_token_is_issued_on_get_and_required_for_cookie_only_posts(cc: ContactCenter) -> None:
    base = cc.server.base_url
    with httpx.Client(base_url=base) as browser:
        login = browser.get("/api/v2/me", auth=(cc.agent_names[0], PASSWORD))
        assert login.headers["X-CSRF-HEADER"] == "X-CSRF-TOKEN"
        token = login.headers["X-CSRF-TOKEN"]
        assert browser.cookies.get("JSESSIONID")
        # Cookie alone (what a forged cross-site form would send): refused.
        forged = browser.post(
            "/api/v2/me", json={"operationName": "StartContactCenterSession", "channels": ["sms"]}
        )
        assert forged.status_code == 403
        assert forged.json() == {"statusCode": 3, "statusMessage": "Missing or invalid Csrf token"}
        wrong = browser.post(
            "/api/v2/me",
            json={"operationName": "StartContactCenterSession", "channels": ["sms"]},
            headers={"X-CSRF-TOKEN": "bogus"},
        )
        assert wrong.status_code == 403
        assert browser.get("/api/v2/me/channels").json()["channels"] == []  # nothing changed
        good = browser.post(
            "/api/v2/me",
            json={"operationName": "StartContactCenterSession", "channels": ["sms"]},
            headers={"X-CSRF-TOKEN": token},
        )
        assert good.json()["statusCode"] == 0
        # GET by cookie alone works and carries the same token.
        assert browser.get("/api/v2/me").headers["X-CSRF-TOKEN"] == token
    # curl -u: Basic on every request, no cookie, no token.
    plain = httpx.post(
        base + "/api/v2/me/channels/smssession",
        json={"operationName": "Ready"},
        auth=(cc.agent_names[0], PASSWORD),
    )
    assert plain.json()["statusCode"] == 0


def test_version(server: RunningServer) -> None:
    body = httpx.get(server.base_url + "/api/v2/diagnostics/version").json()
    assert body["statusCode"] == 0 and body["version"].startswith("8.5")


def test_users_lists_colleagues_of_the_same_contact_center_only(cc: ContactCenter) -> None:
    agent = cc.agent(0)
    users = agent.get("/api/v2/users", fields="*")["users"]
    assert sorted(u["userName"] for u in users) == sorted(cc.agent_names)
    assert len(agent.get("/api/v2/users")["uris"]) == len(cc.agent_names)


@pytest.mark.slow
def test_csrf_always_mode_requires_the_token_even_with_basic(tmp_path: Path) -> None:
    """GWS with enableCsrfProtection: every mutating request carries the token and the cookie."""
    server = RunningServer(tmp_path / "csrf.db", {"SMSDESK_CSRF": "always"}).start()
    try:
        with httpx.Client(base_url=server.base_url, auth=("agent1", "password")) as client:
            body = {"operationName": "StartContactCenterSession", "channels": ["smssession"]}
            refused = client.post("/api/v2/me", json=body)
            assert refused.status_code == 403 and refused.json()["statusCode"] == 3
            token = client.get("/api/v2/me").headers["X-CSRF-TOKEN"]
            assert (
                client.post("/api/v2/me", json=body, headers={"X-CSRF-TOKEN": token}).json()["statusCode"]
                == 0
            )
            # The Bayeux endpoint is exempt (authenticated, no token).
            handshake = [
                {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}
            ]
            assert client.post("/api/v2/notifications", json=handshake).json()[0]["successful"] is True
    finally:
        server.stop()
