"""**Extension** Create: an agent starts an SMS conversation (POST /api/v2/me/smssessions)."""

from __future__ import annotations

import time

import pytest

from support.agents import ContactCenter, create_contact_center, create_supervisor

pytestmark = pytest.mark.slow


def test_an_agent_starts_a_conversation_and_the_customer_reply_joins_it(cc: ContactCenter) -> None:
    boss = create_supervisor(cc).listen()
    agent = cc.agent(0).listen().log_in(ready=False)
    boss.post(f"/api/v2/users/{agent.id}/channels/smssession", operationName="Monitor")
    customer = cc.customer_number()
    created = agent.post(
        "/api/v2/me/smssessions",
        operationName="Create",
        phoneNumber=customer,
        text="Your parcel is ready for pickup",
        userData={"Order": 1234},
    )
    assert created["statusCode"] == 0 and created["uri"].endswith(f"/smssessions/{created['id']}")
    status, joined, first = agent.take(3)
    session = status["smssession"]
    assert status["referenceId"] == created["referenceId"]
    assert session["id"] == created["id"] and session["state"] == "Chatting"
    assert session["chatType"] == "Outbound"
    assert session["userData"]["Order"] == 1234 and session["userData"]["CustomerNumber"] == customer
    assert "Complete" in session["capabilities"] and "SendMessage" in session["capabilities"]
    assert [p["type"] for p in session["participants"]] == ["Customer", "Agent"]
    assert joined["messages"][0]["type"] == "ParticipantJoined"
    assert first["messages"][0]["text"] == "Your parcel is ready for pickup"
    assert first["messages"][0]["delivery"]["status"] == "pending"
    cc.wait_handset(customer, ["Your parcel is ready for pickup"])
    assert boss.take(3)[0]["smssession"]["state"] == "Chatting"  # monitoring covers outbound sessions

    cc.sms(customer, "Thanks, on my way")
    (reply,) = agent.take(1)
    assert reply["smssessionUri"].endswith(created["id"])
    assert reply["messages"][0]["text"] == "Thanks, on my way"
    listed = agent.get("/api/v2/me/smssessions", fields="*")["smssessions"]
    assert [s["id"] for s in listed] == [created["id"]]

    again = agent.post(
        "/api/v2/me/smssessions", operationName="Create", phoneNumber=customer, text="Hello?", expect=409
    )
    assert again["statusCode"] == 19 and created["id"] in again["statusMessage"]


def test_create_is_refused_clearly(cc: ContactCenter) -> None:
    agent = cc.agent(0).log_in(ready=False)

    def create(expect: int, **fields: str) -> dict[str, object]:
        body = {"operationName": "Create", "phoneNumber": cc.customer_number(), "text": "Hi", **fields}
        return agent.post("/api/v2/me/smssessions", body, expect=expect)

    invalid = create(400, phoneNumber="555-CALL-NOW")
    assert invalid["statusCode"] == 10 and "phoneNumber" in str(invalid["statusMessage"])
    assert create(400, text="")["statusCode"] == 1
    elsewhere = create_contact_center(cc.server, agents=1)
    foreign = create(403, serviceNumber=elsewhere.service_number)
    assert foreign["statusCode"] == 5 and "may not send from" in str(foreign["statusMessage"])
    elsewhere.close()

    opted_out = cc.customer_number()
    cc.sms(opted_out, "STOP")
    refused = create(403, phoneNumber=opted_out)
    assert refused["statusCode"] == 3 and "opted out" in str(refused["statusMessage"])
    time.sleep(0.3)
    assert cc.handset(opted_out) == []
