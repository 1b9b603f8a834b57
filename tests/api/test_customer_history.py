"""**Extension** customer history: GET /api/v2/me/smssessions/{id}/history, the customer's earlier
sessions in the contact center, newest first, with their transcripts as the reader may see them."""

from __future__ import annotations

import re

import pytest

from support.agents import ContactCenter, create_contact_center, create_supervisor

pytestmark = pytest.mark.slow

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_earlier_conversations_newest_first_with_outcome_agents_and_transcript(cc: ContactCenter) -> None:
    boss = create_supervisor(cc).listen()
    agent = cc.agent(0).listen().log_in()
    # Monitored: the supervisor's hidden comings and goings are in the first transcript.
    boss.post(f"/api/v2/users/{agent.id}/channels/smssession", operationName="Monitor")
    customer = cc.customer_number()

    cc.sms(customer, "My parcel is late")
    first = agent.wait_invited()["id"]
    agent.op(first, "Accept", nickname="Alice")
    agent.op(first, "SendMessage", text="It leaves today")
    agent.op(first, "AddComment", comment="Promised delivery today")
    agent.op(first, "SetDisposition", disposition="Resolved")
    agent.op(first, "Complete")

    second = agent.post(
        "/api/v2/me/smssessions", operationName="Create", phoneNumber=customer, text="Did it arrive?"
    )["id"]
    agent.op(second, "Complete")

    # The same number in another contact center: never mixed in.
    other_center = create_contact_center(cc.server, agents=1)
    other_center.sms(customer, "Same number, other contact center")

    cc.sms(customer, "Me again")
    live = agent.wait_invited()["id"]

    # Offered, not yet accepted: the agent about to answer reads it already.
    answer = agent.get(f"/api/v2/me/smssessions/{live}/history")
    assert answer["statusCode"] == 0 and answer["total"] == 2
    newest, oldest = answer["history"]
    assert (newest["id"], oldest["id"]) == (second, first)
    assert newest["chatType"] == "Outbound" and newest["disposition"] is None
    assert oldest["state"] == "Completed" and oldest["disposition"] == "Resolved"
    assert oldest["agents"] == [agent.user_name]
    assert ISO_UTC.match(oldest["receivedAt"]) and ISO_UTC.match(oldest["completedAt"])
    assert oldest["receivedAt"] <= oldest["completedAt"] <= newest["receivedAt"]
    assert oldest["userData"]["CustomerNumber"] == customer
    assert oldest["uri"].endswith(f"/smssessions/{first}")
    texts = [m.get("text") for m in oldest["messages"] if m["type"] in ("Text", "Comment")]
    assert texts == ["My parcel is late", "It leaves today", "Promised delivery today"]
    # The comment is the agents' (an agent reads it); the monitoring supervisor's entries are not.
    assert any(m["type"] == "Comment" and m["visibility"] == "Agents" for m in oldest["messages"])
    assert all(m["visibility"] != "Supervisors" for m in oldest["messages"])
    assert [m["text"] for m in newest["messages"] if m["type"] == "Text"] == ["Did it arrive?"]

    # A supervisor of the queue reads it whole, party or not.
    supervised = boss.get(f"/api/v2/me/smssessions/{live}/history")["history"]
    assert any(m["visibility"] == "Supervisors" for m in supervised[1]["messages"])

    # Paging: count and startIndex (1-based, newest first).
    page = agent.get(f"/api/v2/me/smssessions/{live}/history", count=1, startIndex=2)
    assert [h["id"] for h in page["history"]] == [first] and page["total"] == 2
    assert agent.get(f"/api/v2/me/smssessions/{live}/history", startIndex=3)["history"] == []
    # The first conversation had none before it; a former party reads its history too.
    assert agent.get(f"/api/v2/me/smssessions/{first}/history") == {
        "statusCode": 0,
        "history": [],
        "total": 0,
    }


def test_history_is_refused_to_whoever_may_not_read_the_session(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    cc.sms(customer, "Hello")
    session_id = agent.wait_invited()["id"]
    path = f"/api/v2/me/smssessions/{session_id}/history"

    colleague = cc.agent(1)
    assert colleague.get(path, expect=404) == {"statusCode": 6, "statusMessage": "SMS session not found"}
    elsewhere = create_supervisor(cc, queue="another-queue")
    assert elsewhere.get(path, expect=404)["statusCode"] == 6
    stranger = create_contact_center(cc.server, agents=1).agent(0)
    assert stranger.get(path, expect=404)["statusCode"] == 6
    assert agent.get("/api/v2/me/smssessions/0000000000000000/history", expect=404)["statusCode"] == 6

    for bad in ({"count": 0}, {"count": 101}, {"count": "ten"}, {"startIndex": -1}):
        refused = agent.get(path, expect=400, **bad)
        assert refused["statusCode"] == 10, refused
        assert next(iter(bad)) in refused["statusMessage"]
    assert agent.get(path, count=100)["statusCode"] == 0
