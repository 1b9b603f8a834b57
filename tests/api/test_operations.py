"""Every remaining SMS session operation over the real API: HTTP reply, exact notifications, fresh GET."""

from __future__ import annotations

import time
from typing import Any

import pytest

from support.agents import Agent, ContactCenter


@pytest.fixture
def chat(cc: ContactCenter) -> tuple[Agent, str, str]:
    agent = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    cc.sms(customer, "hello")
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname="Alice")
    agent.take(3)
    return agent, session_id, customer


def handset_texts(cc: ContactCenter, number: str, expected: int) -> list[str]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        texts = [m["text"] for m in cc.handset(number)]
        if len(texts) >= expected:
            return texts
        time.sleep(0.05)
    return [m["text"] for m in cc.handset(number)]


def single_entry(notification: dict[str, Any]) -> dict[str, Any]:
    assert notification["messageType"] == "MessageLogUpdated"
    (entry,) = notification["messages"]
    return dict(entry)


def test_send_url_and_custom_notice_reach_the_handset(
    cc: ContactCenter, chat: tuple[Agent, str, str]
) -> None:
    agent, session_id, customer = chat
    reply = agent.op(session_id, "SendUrl", url="https://example.com/track/1234")
    (log,) = agent.take(1)
    assert log["referenceId"] == reply["referenceId"]
    entry = single_entry(log)
    assert (entry["type"], entry["url"], entry["visibility"]) == (
        "PushUrl",
        "https://example.com/track/1234",
        "All",
    )
    agent.op(session_id, "SendCustomNotice", noticeText="Your ticket is #77")
    entry = single_entry(agent.take(1)[0])
    assert (entry["type"], entry["noticeText"], entry["visibility"]) == (
        "CustomNotice",
        "Your ticket is #77",
        "All",
    )
    assert handset_texts(cc, customer, 2) == ["https://example.com/track/1234", "Your ticket is #77"]


def test_typing_is_logged_for_agents_but_never_sent_as_sms(
    cc: ContactCenter, chat: tuple[Agent, str, str]
) -> None:
    agent, session_id, customer = chat
    agent.op(session_id, "SendStartTypingNotification")
    agent.op(session_id, "SendStopTypingNotification")
    started, stopped = (single_entry(n) for n in agent.take(2))
    assert (started["type"], started["visibility"]) == ("TypingStarted", "All")
    assert (stopped["type"], stopped["visibility"]) == ("TypingStopped", "All")
    agent.op(session_id, "SendMessage", text="real text")
    agent.take(1)
    assert handset_texts(cc, customer, 1) == ["real text"]


def test_agents_only_operations_need_another_agent(chat: tuple[Agent, str, str]) -> None:
    agent, session_id, _ = chat
    for operation, params in (
        ("SendToAgents", {"text": "x"}),
        ("SendCustomNoticeToAgents", {"noticeText": "x"}),
        ("SendStartTypingToAgentsNotification", {}),
        ("SendStopTypingToAgentsNotification", {}),
    ):
        body = agent.op(session_id, operation, expect=400, **params)
        assert body["statusCode"] == 2
    assert agent.quiet() == []


def test_custom_notice_to_agents_in_a_conference(cc: ContactCenter, chat: tuple[Agent, str, str]) -> None:
    agent, session_id, customer = chat
    other = cc.agent(1).listen().log_in(ready=False)
    agent.op(session_id, "Invite", targetUri=other.uri)
    other.wait_invited()
    other.op(session_id, "Accept")
    other.take(3)
    agent.take(2)
    agent.op(session_id, "SendCustomNoticeToAgents", noticeText="VIP customer")
    mine, theirs = single_entry(agent.take(1)[0]), single_entry(other.take(1)[0])
    assert mine == theirs
    assert (mine["type"], mine["visibility"], mine["noticeText"]) == (
        "CustomNotice",
        "Agents",
        "VIP customer",
    )
    time.sleep(0.3)
    assert cc.handset(customer) == []


def test_set_in_focus_changes_nothing_and_notifies_nobody(chat: tuple[Agent, str, str]) -> None:
    agent, session_id, _ = chat
    before = agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]
    reply = agent.op(session_id, "SetInFocus")
    assert reply["statusCode"] == 0 and reply["referenceId"] > 0
    agent.op(session_id, "InFocus")
    assert agent.quiet() == []
    assert agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"] == before


def test_attach_update_delete_user_data_semantics(chat: tuple[Agent, str, str]) -> None:
    agent, session_id, _ = chat
    agent.op(session_id, "AttachUserData", userData={"A": "1", "B": 2, "Nested": {"x": "y", "n": 3}})
    agent.op(session_id, "AttachUserData", userData={"A": "overwritten"})
    agent.op(session_id, "UpdateUserData", userData={"B": 20, "C": "new"})
    agent.op(session_id, "DeleteUserData", keys=["C", "NotThere"])
    agent.op(session_id, "DeleteUserData", key="B")
    data = [n["smssession"]["userData"] for n in agent.take(5)]
    assert all(n for n in data)
    final = agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]["userData"]
    assert final == data[-1]
    assert final["A"] == "overwritten"
    assert final["Nested"] == {"x": "y", "n": 3}
    assert "B" not in final and "C" not in final
    assert data[2]["B"] == 20 and type(data[2]["B"]) is int and data[2]["C"] == "new"


def test_user_data_while_invited_reaches_the_invited_agent(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    cc.sms(cc.customer_number(), "hi")
    session_id = agent.wait_invited()["id"]
    reply = agent.op(session_id, "UpdateUserData", userData={"Priority": 1})
    (props,) = agent.take(1)
    assert props["referenceId"] == reply["referenceId"]
    assert props["smssession"]["state"] == "Invited" and props["smssession"]["userData"]["Priority"] == 1


def test_leave_and_complete_alone_ends_everything_in_one_step(
    cc: ContactCenter, chat: tuple[Agent, str, str]
) -> None:
    agent, session_id, customer = chat
    reply = agent.op(session_id, "LeaveAndComplete")
    (done,) = agent.take(1)
    assert done["referenceId"] == reply["referenceId"]
    assert done["smssession"]["state"] == "Completed"
    assert agent.quiet() == []
    cc.sms(customer, "new question")
    assert agent.wait_invited()["id"] != session_id


def test_reject_sends_the_offer_to_another_agent(cc: ContactCenter) -> None:
    first = cc.agent(0).listen().log_in()
    second = cc.agent(1).listen().log_in()
    cc.sms(cc.customer_number(), "hi")
    deadline = time.monotonic() + 10
    offered_to = None
    while offered_to is None and time.monotonic() < deadline:
        for agent in (first, second):
            agent.bayeux.connect()
            if any(
                m["data"].get("smssession", {}).get("state") == "Invited" for m in agent.session_messages()
            ):
                offered_to = agent
    assert offered_to is not None
    other = second if offered_to is first else first
    session_id = offered_to.wait_invited()["id"]
    reply = offered_to.op(session_id, "Reject")
    (rejected,) = offered_to.take(1)
    assert rejected["referenceId"] == reply["referenceId"]
    assert rejected["smssession"]["state"] == "Completed" and rejected["smssession"]["capabilities"] == []
    assert other.wait_invited()["id"] == session_id


def test_inbound_sms_for_an_unknown_number_is_refused(cc: ContactCenter) -> None:
    import httpx

    response = httpx.post(
        cc.server.base_url + "/simulator/sms",
        json={"from": "+15550000001", "to": "+19999999999", "text": "x"},
    )
    assert response.status_code == 404 and response.json()["statusCode"] == 6


def test_duplicate_provider_message_is_ignored(cc: ContactCenter, chat: tuple[Agent, str, str]) -> None:
    agent, session_id, customer = chat
    cc.sms(customer, "once", message_id="carrier-42")
    cc.sms(customer, "once", message_id="carrier-42")
    (log,) = agent.take(1)
    assert single_entry(log)["text"] == "once"
    assert agent.quiet() == []
    texts = [
        m["text"]
        for m in agent.get(f"/api/v2/me/smssessions/{session_id}/messages")["messages"]
        if "text" in m
    ]
    assert texts.count("once") == 1


def test_add_comment_sets_the_comment_notifies_and_is_kept_in_the_transcript(
    cc: ContactCenter, chat: tuple[Agent, str, str]
) -> None:
    agent, session_id, customer = chat
    reply = agent.op(session_id, "AddComment", comment="Some chat comment text")
    assert reply["statusCode"] == 0 and isinstance(reply["referenceId"], int)
    properties, log = agent.take(2)
    # As on the GWS page: PropertiesUpdated, with the referenceId, whose smssession carries the comment.
    assert (properties["messageType"], properties["notificationType"]) == (
        "SMSsessionStateChangeMessage",
        "PropertiesUpdated",
    )
    assert properties["referenceId"] == reply["referenceId"]
    assert properties["smssession"]["comment"] == "Some chat comment text"
    assert "AddComment" in properties["smssession"]["capabilities"]
    entry = single_entry(log)
    assert (entry["type"], entry["text"], entry["visibility"], entry["from"]["nickname"]) == (
        "Comment",
        "Some chat comment text",
        "Agents",
        "Alice",
    )
    # A second comment replaces the first in the resource; both stay in the transcript.
    agent.op(session_id, "AddComment", comment="Second thought")
    agent.take(2)
    assert agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]["comment"] == "Second thought"
    history = agent.get(f"/api/v2/me/smssessions/{session_id}/messages")["messages"]
    assert [m["text"] for m in history if m["type"] == "Comment"] == [
        "Some chat comment text",
        "Second thought",
    ]
    # A comment is the contact center's note: it never reaches the handset.
    agent.op(session_id, "SendMessage", text="visible")
    agent.take(1)
    assert handset_texts(cc, customer, 1) == ["visible"]
    assert agent.op(session_id, "AddComment", comment="", expect=400)["statusCode"] == 1


def test_add_comment_in_wrap_up_but_not_on_an_offer(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    cc.sms(cc.customer_number(), "hi")
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "AddComment", comment="too early", expect=400)
    agent.op(session_id, "Accept")
    agent.take(3)
    agent.op(session_id, "Leave")
    agent.take(1)
    agent.op(session_id, "AddComment", comment="wrap-up note")
    (properties,) = [n for n in agent.take(1) if n.get("notificationType") == "PropertiesUpdated"]
    assert properties["smssession"]["comment"] == "wrap-up note"
