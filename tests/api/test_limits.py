"""Sign-in throttling and rate limits over the real server (each test starts its own, with the
limits it needs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.agents import PASSWORD, create_contact_center
from support.server import RunningServer

pytestmark = pytest.mark.slow

DEMO_PASSWORD = "password"
HANDSHAKE = [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]


def client(server: RunningServer, user: str, password: str, address: str = "127.0.0.1") -> httpx.Client:
    """A client whose connections come from ``address`` (any 127/8 address reaches loopback)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.base_url, auth=(user, password), transport=transport, timeout=10)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[RunningServer]:
    server = RunningServer(tmp_path / "limits.db").start()
    yield server
    server.stop()


def test_ten_failures_from_one_address_throttle_that_user_there_and_nowhere_else(
    demo: RunningServer,
) -> None:
    with client(demo, "agent1", "wrong-guess") as guesser:
        for _ in range(10):
            assert guesser.get("/api/v2/me").status_code == 401
        throttled = guesser.get("/api/v2/me")
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["Retry-After"]) <= 5
        assert throttled.json()["statusCode"] == 20
        assert "Too many failed sign-ins" in throttled.json()["statusMessage"]
        # Even the right password is not checked from here meanwhile (that would be an oracle)...
        right_here = guesser.get("/api/v2/me", auth=("agent1", DEMO_PASSWORD))
        assert right_here.status_code == 429
        # ...and the notification endpoint is guarded the same way.
        assert guesser.post("/api/v2/notifications", json=HANDSHAKE).status_code == 429
    # The right password from elsewhere, and another user from the same address, are never slowed.
    with client(demo, "agent1", DEMO_PASSWORD, address="127.0.0.2") as agent_elsewhere:
        assert agent_elsewhere.get("/api/v2/me").status_code == 200
    with client(demo, "agent2", DEMO_PASSWORD) as colleague:
        assert colleague.get("/api/v2/me").status_code == 200
    logs = demo.logs()
    assert 'auth.failure user="agent1" address=127.0.0.1 count=10' in logs
    assert 'auth.throttled user="agent1" address=127.0.0.1 retry_after=5 strikes=1' in logs


def test_a_signed_in_desktop_is_not_locked_out_by_a_guesser_at_its_address(demo: RunningServer) -> None:
    with client(demo, "agent1", DEMO_PASSWORD) as desktop:
        signed_in = desktop.get("/api/v2/me")
        assert signed_in.status_code == 200  # holds a JSESSIONID and a device cookie now
        assert "SMSDESK_DEVICE" in desktop.cookies
        with client(demo, "agent1", "wrong-guess") as guesser:
            for _ in range(11):
                guesser.get("/api/v2/me")
            assert guesser.get("/api/v2/me").status_code == 429
        # Basic on every request, as GWS desktops do: its device cookie counts it on its own budget.
        assert desktop.get("/api/v2/me").status_code == 200
        assert desktop.post("/api/v2/notifications", json=HANDSHAKE).status_code == 200
        desktop.cookies.delete("JSESSIONID")  # a restarted browser session: the device cookie stays
        assert desktop.get("/api/v2/me").status_code == 200


def test_a_throttled_pair_is_refused_before_any_password_is_checked_whatever_cookie_it_brings(
    demo: RunningServer,
) -> None:
    with client(demo, "agent1", DEMO_PASSWORD) as desktop:
        assert desktop.get("/api/v2/me").status_code == 200
        session_cookie = desktop.cookies["JSESSIONID"]
    with client(demo, "agent1", "wrong-guess") as guesser:
        for _ in range(10):
            assert guesser.get("/api/v2/me").status_code == 401
        assert guesser.get("/api/v2/me").status_code == 429
        # A valid session cookie of that very user (say lifted from a shared machine) does not get
        # a password checked: a 401 here would tell a wrong guess from a right one.
        guesser.cookies.set("JSESSIONID", session_cookie)
        for password in ("another-guess", DEMO_PASSWORD):
            assert guesser.get("/api/v2/me", auth=("agent1", password)).status_code == 429
            assert (
                guesser.post("/api/v2/notifications", json=HANDSHAKE, auth=("agent1", password)).status_code
                == 429
            )
    assert demo.logs().count('auth.failure user="agent1" address=127.0.0.1') == 10


def test_a_success_at_an_address_gives_a_guesser_there_no_fresh_budget(demo: RunningServer) -> None:
    with client(demo, "agent2", "wrong-guess", address="127.0.0.3") as guesser:
        for _ in range(9):
            assert guesser.get("/api/v2/me").status_code == 401
        # The real agent2 signs in from the same address (one office NAT), for the first time there.
        with client(demo, "agent2", DEMO_PASSWORD, address="127.0.0.3") as colleague:
            assert colleague.get("/api/v2/me").status_code == 200
        assert guesser.get("/api/v2/me").status_code == 401  # the tenth failure, not the first
        assert guesser.get("/api/v2/me").status_code == 429


def test_a_device_has_a_budget_of_its_own(demo: RunningServer) -> None:
    with client(demo, "agent3", DEMO_PASSWORD, address="127.0.0.4") as desktop:
        assert desktop.get("/api/v2/me").status_code == 200
        desktop.cookies.delete("JSESSIONID")
        for _ in range(10):  # someone at that browser mistypes, again and again
            assert desktop.get("/api/v2/me", auth=("agent3", "typo")).status_code == 401
        assert desktop.get("/api/v2/me").status_code == 429  # that device is slowed...
    with client(demo, "agent3", DEMO_PASSWORD, address="127.0.0.4") as other_browser:
        assert other_browser.get("/api/v2/me").status_code == 200  # ...not its address
    logs = demo.logs()
    assert 'auth.throttled user="agent3" address=127.0.0.4 device=' in logs


def test_rate_limits_per_user_per_tenant_and_per_tenant_intake(tmp_path: Path) -> None:
    server = RunningServer(
        tmp_path / "rates.db",
        env={
            "SMSDESK_RATE_LIMIT_USER_PER_S": "0.2",
            "SMSDESK_RATE_LIMIT_USER_BURST": "5",
            "SMSDESK_RATE_LIMIT_TENANT_PER_S": "0.2",
            "SMSDESK_RATE_LIMIT_TENANT_BURST": "8",
            "SMSDESK_RATE_LIMIT_INTAKE_PER_S": "0.2",
            "SMSDESK_RATE_LIMIT_INTAKE_BURST": "3",
        },
    ).start()
    try:
        other = create_contact_center(server, agents=1)
        with (
            client(server, "agent1", DEMO_PASSWORD) as agent1,
            client(server, "agent2", DEMO_PASSWORD) as agent2,
            client(server, other.agent_names[0], PASSWORD) as outsider,
        ):
            assert [agent1.get("/api/v2/me").status_code for _ in range(5)] == [200] * 5
            refused = agent1.get("/api/v2/me")
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.json() == {
                "statusCode": 3,
                "statusMessage": refused.json()["statusMessage"],
            }
            assert "user" in refused.json()["statusMessage"]
            # The colleague has their own bucket, until the contact center's (8) is used up.
            assert [agent2.get("/api/v2/me").status_code for _ in range(4)] == [200, 200, 200, 429]
            assert "contact center" in agent2.get("/api/v2/me").json()["statusMessage"]
            # Another contact center is not starved.
            assert outsider.get("/api/v2/me").status_code == 200

        def sms(to: str, n: int) -> httpx.Response:
            body = {"from": f"+1555000{n:04d}", "to": to, "text": "hi"}
            return httpx.post(server.base_url + "/simulator/sms", json=body, timeout=10)

        assert [sms("+15550100", n).status_code for n in range(4)] == [200, 200, 200, 429]
        assert "Retry-After" in sms("+15550100", 9).headers
        assert sms(other.service_number, 1).status_code == 200
    finally:
        server.stop()
