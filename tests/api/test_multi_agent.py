"""Transfer, consult and conference between agents, and routing's offer timeout."""

from __future__ import annotations

from typing import Any

from support.agents import Agent, ContactCenter


def chatting(cc: ContactCenter, agent: Agent, nickname: str = "First") -> tuple[str, str]:
    """Route a new customer to ``agent`` (the only Ready one) and accept it."""
    customer = cc.customer_number()
    cc.sms(customer, "I need help")
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname=nickname)
    agent.take(3)
    return session_id, customer


def kinds(notifications: list[dict[str, Any]]) -> list[str]:
    return [n.get("notificationType", "") for n in notifications]


def test_transfer_to_an_agent_completes_the_originator_when_the_target_accepts(cc: ContactCenter) -> None:
    first = cc.agent(0).listen().log_in()
    second = cc.agent(1).listen().log_in(ready=False)
    session_id, _ = chatting(cc, first)

    reply = first.op(session_id, "Transfer", targetUri=second.uri, text="Passing you to a colleague")
    assert reply["statusCode"] == 0
    offer = second.wait_invited()
    assert offer["id"] == session_id and offer["capabilities"][:2] == ["Accept", "Reject"]
    (log,) = first.take(1)
    assert log["messages"][0]["text"] == "Passing you to a colleague"

    second.op(session_id, "Accept", nickname="Second")
    status, participants, history = second.take(3)
    assert status["smssession"]["state"] == "Chatting" and "Complete" in status["smssession"]["capabilities"]
    assert [(p["type"], p["nickname"]) for p in participants["smssession"]["participants"]][1:] == [
        ("Agent", "Second")
    ]
    assert history["messages"][-1]["type"] == "ParticipantJoined"
    (done,) = first.take(1)
    assert done["notificationType"] == "StatusChange" and done["smssession"]["state"] == "Completed"


def test_transfer_rejected_by_the_target_sends_an_error_and_keeps_the_originator_chatting(
    cc: ContactCenter,
) -> None:
    first = cc.agent(0).listen().log_in()
    second = cc.agent(1).listen().log_in(ready=False)
    session_id, _ = chatting(cc, first)
    first.op(session_id, "Transfer", targetPath=f"/users/{second.id}")
    second.wait_invited()
    second.op(session_id, "Reject")
    (rejected,) = second.take(1)
    assert rejected["smssession"]["state"] == "Completed"
    (error,) = first.take(1)
    assert error["notificationType"] == "Error" and "rejected" in error["errorMessage"]
    assert error["smssession"]["state"] == "Chatting" and "Transfer" in error["smssession"]["capabilities"]


def test_transfer_to_a_queue_completes_now_and_offers_it_to_the_next_agent(cc: ContactCenter) -> None:
    first = cc.agent(0).listen().log_in()
    session_id, _ = chatting(cc, first)
    first.post("/api/v2/me/channels/smssession", operationName="NotReady")
    second = cc.agent(1).listen().log_in()
    first.op(session_id, "Transfer", queueName=cc.queue)
    (done,) = first.take(1)
    assert done["smssession"]["state"] == "Completed"
    offer = second.wait_invited()
    assert offer["id"] == session_id


def test_conference_invite_then_agents_only_messages_stay_off_the_handset(cc: ContactCenter) -> None:
    first = cc.agent(0).listen().log_in()
    second = cc.agent(1).listen().log_in(ready=False)
    session_id, customer = chatting(cc, first)

    reply = first.op(session_id, "Invite", targetUri=second.uri)
    assert reply["referenceId"] > 0
    second.wait_invited()
    second.op(session_id, "Accept", nickname="Second")
    second.take(3)
    participants, joined = first.take(2)
    assert participants["notificationType"] == "ParticipantsUpdated"
    assert len(participants["smssession"]["participants"]) == 3
    assert "SendToAgents" in participants["smssession"]["capabilities"]
    assert joined["messages"][0]["type"] == "ParticipantJoined"
    assert joined["messages"][0]["from"]["nickname"] == "Second"

    second.op(session_id, "SendToAgents", text="Is this the VIP?")
    (mine,) = second.take(1)
    (theirs,) = first.take(1)
    assert mine["messages"] == theirs["messages"]
    assert theirs["messages"][0]["visibility"] == "Agents"
    first.op(session_id, "SendStartTypingToAgentsNotification")
    first.op(session_id, "SendStopTypingToAgentNotification")  # the documented singular spelling
    assert [m["messages"][0]["type"] for m in second.take(2)] == ["TypingStarted", "TypingStopped"]
    first.take(2)
    assert cc.handset(customer) == []

    # The owner leaves the conference: Completed for them, the session stays with the other agent.
    first.op(session_id, "Leave")
    (left,) = first.take(1)
    assert left["smssession"]["state"] == "Completed"
    participants, log = second.take(2)
    assert [p["nickname"] for p in participants["smssession"]["participants"]][-1] == "Second"
    assert "Complete" in participants["smssession"]["capabilities"]
    assert log["messages"][0]["type"] == "ParticipantLeft"


def test_consult_is_hidden_from_the_customer_and_can_be_cancelled_before_accept(cc: ContactCenter) -> None:
    first = cc.agent(0).listen().log_in()
    second = cc.agent(1).listen().log_in(ready=False)
    third = cc.agent(2).listen().log_in(ready=False)
    session_id, customer = chatting(cc, first)

    first.op(session_id, "Consult", targetUri=second.uri)
    second.wait_invited()
    reply = first.op(session_id, "CancelConsult")
    (props,) = first.take(1)
    assert props["referenceId"] == reply["referenceId"]
    assert "CancelConsult" not in props["smssession"]["capabilities"]
    assert "Consult" in props["smssession"]["capabilities"]
    (revoked,) = second.take(1)
    assert revoked["smssession"]["state"] == "Revoked"

    first.op(session_id, "Consult", targetUri=third.uri)
    pending = first.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]
    assert "CancelConsult" in pending["capabilities"] and "Transfer" not in pending["capabilities"]
    third.wait_invited()
    third.op(session_id, "Accept", nickname="Expert")
    third.take(3)
    participants, joined = first.take(2)
    consultant = participants["smssession"]["participants"][-1]
    assert consultant["nickname"] == "Expert" and consultant["visibility"] == "Agents"
    assert joined["messages"][0]["visibility"] == "Agents"

    third.op(session_id, "SendMessage", text="Offer a refund")  # a consultant's message: agents only
    (log,) = first.take(1)
    assert log["messages"][0]["visibility"] == "Agents"
    third.take(1)
    first.op(session_id, "SendMessage", text="We will refund you")
    first.take(1)
    third.take(1)
    cc.wait_handset(customer, ["We will refund you"])


def test_unanswered_offer_is_revoked_and_routed_to_the_next_agent(cc: ContactCenter) -> None:
    first = cc.agent(0).listen().log_in()
    cc.sms(cc.customer_number(), "anyone?")
    offer = first.wait_invited()
    second = cc.agent(1).listen().log_in()
    (revoked,) = first.take(1, timeout=10)
    assert revoked["notificationType"] == "StatusChange" and revoked["smssession"]["state"] == "Revoked"
    assert revoked["smssession"]["id"] == offer["id"]
    assert second.wait_invited()["id"] == offer["id"]
    first.op(offer["id"], "Accept", expect=400)


def test_leave_alone_keeps_wrap_up_then_complete(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id, customer = chatting(cc, agent)
    agent.op(session_id, "Leave")
    (left,) = agent.take(1)
    assert left["smssession"]["state"] == "LeftChat"
    assert left["smssession"]["capabilities"] == [
        "SetInFocus",
        "SetDisposition",
        "AddComment",
        "AttachUserData",
        "DeleteUserData",
        "UpdateUserData",
        "Complete",
    ]
    agent.op(session_id, "SendMessage", text="late", expect=400)
    agent.op(session_id, "SetDisposition", disposition="NoAnswer", dispositionKey="DISP_KEY")
    (props,) = agent.take(1)
    assert props["smssession"]["userData"]["DISP_KEY"] == "NoAnswer"
    agent.op(session_id, "Complete")
    assert agent.take(1)[0]["smssession"]["state"] == "Completed"
    # The customer's session was closed by Leave: a new SMS opens a new session.
    cc.sms(customer, "hello again")
    assert agent.wait_invited()["id"] != session_id


def test_complete_with_queue_name_routes_the_session_on(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id, _ = chatting(cc, agent)
    agent.post("/api/v2/me/channels/smssession", operationName="NotReady")
    other = cc.agent(1).listen().log_in()
    agent.op(session_id, "Complete", queueName=cc.queue)
    assert agent.take(1)[0]["smssession"]["state"] == "Completed"
    assert other.wait_invited()["id"] == session_id
    agent.op(session_id, "Complete", queueName="no-such-queue", expect=400)
