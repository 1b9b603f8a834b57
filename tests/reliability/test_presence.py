"""Presence (issue 11, item 10): an offer never goes to an agent nobody is behind.

Small settings: an agent not seen for 2 s gets no offers (and loses a pending one), after 5 s it
leaves Ready; a Bayeux client unconnected for 2 s is gone; offers time out only after 30 s, so an
offer withdrawn within a few seconds was withdrawn because its agent went, not by its timeout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.agents import PASSWORD, ContactCenter, create_contact_center
from support.presence import invited, offered_to, sms_channel
from support.server import QUICK_TIMEOUTS, RunningServer

from .listener import Background, Listener, wait_until

pytestmark = pytest.mark.slow

OFFER_S = 2.0
AWAY_S = 5.0
ENV = {
    **QUICK_TIMEOUTS,
    "SMSDESK_OFFER_TIMEOUT_MS": "30000",
    "SMSDESK_BAYEUX_MAX_INTERVAL_MS": "2000",
    "SMSDESK_PRESENCE_OFFER_S": str(OFFER_S),
    "SMSDESK_PRESENCE_AWAY_S": str(AWAY_S),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[RunningServer]:
    running = RunningServer(Path(tmp_path_factory.mktemp("presence")) / "smsdesk.db", ENV).start()
    yield running
    running.stop()


@pytest.fixture
def cc(server: RunningServer) -> Iterator[ContactCenter]:
    center = create_contact_center(server)
    yield center
    center.close()


def test_after_a_restart_nobody_behind_a_ready_agent_gets_offers_and_the_agent_hears_why(
    server: RunningServer, cc: ContactCenter
) -> None:
    agent = cc.agent(0).listen().log_in()
    server.restart(kill=True)  # the desktop does not come back
    time.sleep(OFFER_S + 1)
    customer = cc.customer_number()
    assert cc.sms(customer, "anyone there?").status_code == 200
    time.sleep(2)  # the router sweeps every 200 ms
    assert offered_to(cc, agent) == []

    wait_until(lambda: sms_channel(cc, agent) == ("NotReady", "SessionExpired"), 15, "NotReady")
    assert "left Ready on SMS: nobody behind it" in server.logs()

    # The next sign-in shows why, in the channel state and in its notification.
    returning = Listener(server, (agent.user_name, PASSWORD), ack=False)
    returning.handshake()
    agent.post("/api/v2/me", operationName="StartContactCenterSession", channels=["smssession"])
    me = agent.get("/api/v2/me", subresources="channels")
    (sms,) = [c for c in me["user"]["channels"] if c["channel"] == "smssession"]
    assert sms["userState"]["state"] == "NotReady"
    assert sms["userState"]["reason"] == "SessionExpired"
    returning.until(lambda: any(m["channel"] == "/v2/me/channels" for m in returning.received), 10)
    change = next(m for m in returning.received if m["channel"] == "/v2/me/channels")
    assert change["data"]["channels"][0]["userState"]["reason"] == "SessionExpired"

    # Choosing a state clears the reason, and the customer who waited is offered at last.
    with Background(returning):
        agent.post("/api/v2/me/channels/smssession", operationName="Ready")
        wait_until(lambda: len(invited(returning)) == 1, 15, "the waiting session's offer")
    assert "reason" not in agent.get("/api/v2/me/channels")["channels"][0]["userState"]
    returning.close()


def test_an_offer_waiting_for_an_agent_who_goes_is_withdrawn_and_routed_to_one_who_is_there(
    cc: ContactCenter,
) -> None:
    gone = Listener(cc.server, (cc.agent_names[0], PASSWORD), ack=False)
    gone.handshake()
    cc.agent(0).log_in()
    customer = cc.customer_number()
    cc.sms(customer, "hello")
    gone.until(lambda: len(invited(gone)) == 1, 10, "the first offer")
    session_id = invited(gone)[0]
    cc.agent(0).close()  # the desktop closes: no more connects, no more requests
    gone.close()
    offered_at = time.monotonic()

    there = Listener(cc.server, (cc.agent_names[1], PASSWORD), ack=False)
    with Background(there):
        cc.agent(1).log_in()
        wait_until(lambda: session_id in invited(there), 20, "the offer to the agent who is there")
    there.close()
    # Well before the 30 s offer timeout: withdrawn because nobody was behind agent 0.
    assert time.monotonic() - offered_at < 15
    assert offered_to(cc, cc.agent(0)) == []
    assert "withdrew the offer of SMS session" in cc.server.logs()
