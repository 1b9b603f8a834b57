"""Need-to-know: someone who was only offered a session, or who left it, reads it as it stood when
their part ended (the log, userData, comment, the audit trail), never what came after; nor do
notifications of it reach them, over long-polling or websocket. A supervisor of the session's queue
reads it whole."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from websockets.sync.client import ClientConnection, connect

from support.agents import PASSWORD, Agent, ContactCenter, create_supervisor

CARD = {"card": "4111-XXXX"}


def session_of(agent: Agent, session_id: str) -> dict[str, Any]:
    body: dict[str, Any] = agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]
    return body


def texts_of(agent: Agent, session_id: str, **params: Any) -> list[str]:
    messages = agent.get(f"/api/v2/me/smssessions/{session_id}/messages", **params)["messages"]
    return [m.get("text", m["type"]) for m in messages]


def audit_keys(agent: Agent, session_id: str) -> list[str]:
    return [e["key"] for e in agent.get(f"/api/v2/me/smssessions/{session_id}/userDataAudit")["entries"]]


def chatting(cc: ContactCenter, agent: Agent, first_text: str = "I need help") -> tuple[str, str]:
    """A customer routed to ``agent`` (the only Ready one), accepted."""
    customer = cc.customer_number()
    cc.sms(customer, first_text)
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname="First")
    agent.take(3)
    return session_id, customer


def after_they_left(cc: ContactCenter, agent: Agent, session_id: str, customer: str) -> None:
    """What a conversation goes on to hold: the agent's words, a card number in userData, a comment,
    and the customer's account number."""
    agent.op(session_id, "SendMessage", text="Let me check that card")
    agent.op(session_id, "UpdateUserData", userData=CARD)
    agent.op(session_id, "AddComment", comment="customer gave the card")
    cc.sms(customer, "my account number is 12345")
    for _ in range(50):  # the customer's SMS is stored by the time the agent can read it
        if "my account number is 12345" in texts_of(agent, session_id):
            return
        time.sleep(0.05)
    raise AssertionError("the customer's message never arrived")


def assert_sees_nothing_after(former: Agent, session_id: str, state: str, log: list[str]) -> None:
    session = session_of(former, session_id)
    assert session["state"] == state
    assert "card" not in session["userData"]
    assert "comment" not in session
    assert session["capabilities"] == [] and session["participants"] == []
    assert texts_of(former, session_id) == log
    assert texts_of(former, session_id, startIndex=len(log) + 1) == []  # reading ahead finds nothing
    assert "card" not in audit_keys(former, session_id)
    assert former.quiet() == []  # and not one notification of it


def websocket_listener(agent: Agent) -> ClientConnection:
    """A websocket Bayeux client of ``agent`` subscribed to everything it may hear."""
    token = base64.b64encode(f"{agent.user_name}:{PASSWORD}".encode()).decode()
    url = agent.server.base_url.replace("http://", "ws://") + "/api/v2/notifications"
    socket = connect(url, additional_headers={"Authorization": f"Basic {token}"}, legacy=True)
    socket.send(
        json.dumps(
            [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["websocket"]}]
        )
    )
    client_id = json.loads(socket.recv(5))[0]["clientId"]
    socket.send(
        json.dumps([{"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/**"}])
    )
    assert json.loads(socket.recv(5))[0]["successful"]
    socket.send(
        json.dumps([{"channel": "/meta/connect", "clientId": client_id, "connectionType": "websocket"}])
    )
    socket.client_id = client_id  # type: ignore[attr-defined]
    return socket


def websocket_heard_of(
    socket: ClientConnection, session_id: str, seconds: float = 1.5
) -> list[dict[str, Any]]:
    """The notifications about ``session_id`` that reach the websocket within ``seconds``."""
    heard: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = json.loads(socket.recv(left))
        except TimeoutError:
            break
        for message in frame:
            if message["channel"] == "/meta/connect":
                client_id = socket.client_id  # type: ignore[attr-defined]
                socket.send(
                    json.dumps(
                        [{"channel": "/meta/connect", "clientId": client_id, "connectionType": "websocket"}]
                    )
                )
            elif session_id in json.dumps(message.get("data", {})):
                heard.append(message)
    return heard


def test_an_agent_who_rejected_the_offer_reads_nothing_said_after(cc: ContactCenter) -> None:
    third = cc.agent(2).listen().log_in()
    customer = cc.customer_number()
    cc.sms(customer, "I need help")
    session_id = third.wait_invited()["id"]
    second = cc.agent(1).listen().log_in()
    third.op(session_id, "Reject")
    third.take(1)
    socket = websocket_listener(third)
    assert second.wait_invited()["id"] == session_id
    second.op(session_id, "Accept", nickname="Second")
    second.take(3)
    after_they_left(cc, second, session_id, customer)

    assert_sees_nothing_after(third, session_id, "Completed", ["ParticipantJoined", "I need help"])
    assert websocket_heard_of(socket, session_id) == []
    socket.close()
    # Those still in the conversation see all of it.
    assert session_of(second, session_id)["userData"]["card"] == "4111-XXXX"
    assert "my account number is 12345" in texts_of(second, session_id)


def test_an_agent_whose_offer_timed_out_reads_nothing_said_after(cc: ContactCenter) -> None:
    third = cc.agent(2).listen().log_in()
    customer = cc.customer_number()
    cc.sms(customer, "Hello?")
    session_id = third.wait_invited()["id"]
    third.post("/api/v2/me/channels/smssession", operationName="NotReady")
    second = cc.agent(1).listen().log_in()
    (revoked,) = third.take(1, timeout=15)  # offer_timeout_ms is 2 s in these tests
    assert revoked["smssession"]["state"] == "Revoked"
    assert second.wait_invited()["id"] == session_id
    second.op(session_id, "Accept", nickname="Second")
    second.take(3)
    after_they_left(cc, second, session_id, customer)

    assert_sees_nothing_after(third, session_id, "Revoked", ["ParticipantJoined", "Hello?"])


def test_a_consultant_whose_offer_was_withdrawn_reads_nothing_said_after(cc: ContactCenter) -> None:
    first = cc.agent(0).listen().log_in()
    consultant = cc.agent(2).listen().log_in(ready=False)
    session_id, customer = chatting(cc, first)
    first.op(session_id, "Consult", targetUri=consultant.uri)
    consultant.wait_invited()
    first.op(session_id, "CancelConsult")
    (revoked,) = consultant.take(1)
    assert revoked["smssession"]["state"] == "Revoked"
    first.take(1)  # the requester's PropertiesUpdated (its capabilities changed)
    after_they_left(cc, first, session_id, customer)

    assert_sees_nothing_after(
        consultant, session_id, "Revoked", ["ParticipantJoined", "I need help", "ParticipantJoined"]
    )


def test_an_agent_who_left_a_conference_keeps_the_transcript_up_to_their_leaving(cc: ContactCenter) -> None:
    first = cc.agent(0).listen().log_in()
    second = cc.agent(1).listen().log_in(ready=False)
    session_id, customer = chatting(cc, first)
    first.op(session_id, "Invite", targetUri=second.uri)
    second.wait_invited()
    second.op(session_id, "Accept", nickname="Second")
    second.take(3)
    first.op(session_id, "UpdateUserData", userData={"topic": "billing"})
    first.op(session_id, "SendMessage", text="My colleague joins us")
    second.take(2)
    second.op(session_id, "Leave")
    second.take(1)
    after_they_left(cc, first, session_id, customer)

    log = ["ParticipantJoined", "I need help", "ParticipantJoined", "ParticipantJoined"]
    log += ["My colleague joins us", "ParticipantLeft"]
    assert_sees_nothing_after(second, session_id, "Completed", log)
    # What they saw while in it stays theirs: userData as it was, its audit trail up to then.
    session = session_of(second, session_id)
    assert session["userData"]["topic"] == "billing"
    assert audit_keys(second, session_id) == ["topic"]
    assert session["userDataVersion"] == 1
    assert session_of(first, session_id)["userDataVersion"] == 2


def test_an_agent_who_completed_into_a_queue_reads_nothing_of_the_next_agent(cc: ContactCenter) -> None:
    first = cc.agent(0).listen().log_in()
    session_id, customer = chatting(cc, first)
    first.post("/api/v2/me/channels/smssession", operationName="NotReady")
    second = cc.agent(1).listen().log_in()
    first.op(session_id, "Complete", queueName=cc.queue)
    first.take(1)
    assert second.wait_invited()["id"] == session_id
    second.op(session_id, "Accept", nickname="Second")
    second.take(3)
    after_they_left(cc, second, session_id, customer)

    log = ["ParticipantJoined", "I need help", "ParticipantJoined", "ParticipantLeft"]
    assert_sees_nothing_after(first, session_id, "Completed", log)


def test_a_supervisor_of_the_queue_reads_the_session_whole_after_leaving_it(cc: ContactCenter) -> None:
    boss = create_supervisor(cc).listen()
    agent = cc.agent(0).listen().log_in()
    boss.post(f"/api/v2/users/{agent.id}/channels/smssession", {"operationName": "Monitor"})
    session_id, customer = chatting(cc, agent)
    boss.take(3)
    boss.op(session_id, "Leave")
    boss.take(1)
    after_they_left(cc, agent, session_id, customer)

    session = session_of(boss, session_id)
    assert session["state"] == "Completed"
    assert session["userData"]["card"] == "4111-XXXX" and session["comment"] == "customer gave the card"
    assert "my account number is 12345" in texts_of(boss, session_id)
    assert "card" in audit_keys(boss, session_id)
    assert boss.quiet() == []  # reading is theirs; live notifications are for those in it
