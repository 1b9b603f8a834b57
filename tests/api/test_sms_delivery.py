"""Delivery status, encoding and segments, and the opt-out gate, over the real API with the simulator."""

from __future__ import annotations

import pytest

from support.agents import Agent, ContactCenter


@pytest.fixture
def chat(cc: ContactCenter) -> tuple[Agent, str, str]:
    agent = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    cc.sms(customer, "hello")
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept")
    agent.take(3)
    return agent, session_id, customer


def test_agent_message_delivery_is_pushed_and_readable(chat: tuple[Agent, str, str]) -> None:
    agent, session_id, _ = chat
    agent.op(session_id, "SendMessage", text="Your parcel ships today")
    (log,) = agent.take(1)
    (entry,) = log["messages"]
    assert entry["delivery"] == {
        "status": "pending",
        "encoding": "GSM-7",
        "segments": 1,
        "attempts": 0,
        "errorCode": None,
        "reason": None,
    }
    accepted, delivered = agent.take(2, delivery=True)
    for update in (accepted, delivered):
        assert update["notificationType"] == "DeliveryStatus"
        assert update["smssessionPath"] == f"/smssessions/{session_id}"
        assert [m["index"] for m in update["messages"]] == [entry["index"]]
    assert accepted["messages"][0]["delivery"]["status"] == "accepted"
    assert delivered["messages"][0]["delivery"]["status"] == "delivered"
    assert delivered["messages"][0]["delivery"]["attempts"] == 1
    messages = agent.get(f"/api/v2/me/smssessions/{session_id}/messages")["messages"]
    sent = next(m for m in messages if m["index"] == entry["index"])
    assert sent["delivery"]["status"] == "delivered"
    assert all("delivery" not in m for m in messages if m["from"]["type"] == "Customer")


def test_long_and_unicode_messages_record_encoding_and_segments(chat: tuple[Agent, str, str]) -> None:
    agent, session_id, _ = chat
    agent.op(session_id, "SendMessage", text="x" * 161)
    agent.op(session_id, "SendMessage", text="Merci 🙂")
    long_entry, emoji_entry = (n["messages"][0]["delivery"] for n in agent.take(2))
    assert (long_entry["encoding"], long_entry["segments"]) == ("GSM-7", 2)
    assert (emoji_entry["encoding"], emoji_entry["segments"]) == ("UCS-2", 1)


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("€" * 80, "GSM-7", 1),
        ("你好", "UCS-2", 1),
        ("é" * 71, "GSM-7", 1),
    ],
)
def test_preview_tells_encoding_and_segments_before_sending(
    cc: ContactCenter, text: str, encoding: str, segments: int
) -> None:
    agent = cc.agent(0)
    preview = agent.get("/api/v2/sms/preview", text=text)
    assert (preview["encoding"], preview["segments"], preview["characters"]) == (
        encoding,
        segments,
        len(text),
    )


def test_stop_blocks_sends_until_start(cc: ContactCenter, chat: tuple[Agent, str, str]) -> None:
    agent, session_id, customer = chat
    cc.sms(customer, "Stop")
    text, properties, notice = agent.take(3)
    assert text["messages"][0]["text"] == "Stop"
    assert properties["notificationType"] == "PropertiesUpdated"
    caps = properties["smssession"]["capabilities"]
    assert "SendMessage" not in caps and "SendUrl" not in caps and "Complete" in caps
    (entry,) = notice["messages"]
    assert entry["type"] == "Notice" and entry["visibility"] == "Agents" and "START" in entry["text"]

    refused = agent.op(session_id, "SendMessage", text="please come back", expect=403)
    assert refused["statusCode"] == 3 and "opted out" in refused["statusMessage"]
    assert agent.quiet() == []
    before = len(cc.handset(customer))

    cc.sms(customer, "START")
    _text, properties, notice = agent.take(3)
    assert "SendMessage" in properties["smssession"]["capabilities"]
    assert "opted back in" in notice["messages"][0]["text"]
    agent.op(session_id, "SendMessage", text="welcome back")
    agent.take(1)
    assert len(cc.handset(customer)) >= before  # the refused message was never sent


def test_a_new_session_from_an_opted_out_customer_starts_without_customer_sends(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    cc.sms(customer, "STOP")
    offer = agent.wait_invited()
    assert offer["state"] == "Invited"
    agent.op(offer["id"], "Accept")
    status, _participants, history = agent.take(3)
    assert "SendMessage" not in status["smssession"]["capabilities"]
    assert [m["type"] for m in history["messages"]][:3] == ["ParticipantJoined", "Text", "Notice"]
    agent.op(offer["id"], "Complete")
    agent.take(1)
    cc.sms(customer, "what about my order?")  # still opted out: not a keyword
    second = agent.wait_invited()
    agent.op(second["id"], "Accept")
    status, _participants, _history = agent.take(3)
    assert "SendMessage" not in status["smssession"]["capabilities"]


def _handset(cc: ContactCenter, number: str, failure: str) -> None:
    import httpx

    response = httpx.post(
        cc.server.base_url + "/simulator/handsets", json={"number": number, "failure": failure}
    )
    assert response.json() == {"statusCode": 0}


def test_transient_failures_are_retried_until_the_message_goes(
    cc: ContactCenter, chat: tuple[Agent, str, str]
) -> None:
    agent, session_id, customer = chat
    _handset(cc, customer, "transient")
    agent.op(session_id, "SendMessage", text="are you there?")
    (entry,) = agent.take(1)[0]["messages"]
    (retrying,) = agent.take(1, delivery=True)
    delivery = retrying["messages"][0]["delivery"]
    assert (delivery["status"], delivery["reason"]) == ("pending", "simulated carrier timeout")
    _handset(cc, customer, "none")
    statuses: list[str] = []
    while "delivered" not in statuses:
        statuses += [u["messages"][0]["delivery"]["status"] for u in agent.take(1, delivery=True)]
    final = next(
        m
        for m in agent.get(f"/api/v2/me/smssessions/{session_id}/messages")["messages"]
        if m["index"] == entry["index"]
    )
    assert final["delivery"]["status"] == "delivered" and final["delivery"]["attempts"] >= 2
    assert [m["text"] for m in cc.handset(customer)] == ["are you there?"]


def test_a_message_that_cannot_go_is_marked_failed_with_the_reason(
    cc: ContactCenter, chat: tuple[Agent, str, str]
) -> None:
    agent, session_id, customer = chat
    _handset(cc, customer, "permanent")
    agent.op(session_id, "SendMessage", text="hello?")
    agent.take(1)
    (failed,) = agent.take(1, delivery=True)
    delivery = failed["messages"][0]["delivery"]
    assert (delivery["status"], delivery["errorCode"]) == ("failed", "30003")
    assert delivery["reason"] == "simulated unreachable handset"


def test_retries_give_up_after_the_named_limit(cc: ContactCenter, chat: tuple[Agent, str, str]) -> None:
    agent, session_id, customer = chat
    _handset(cc, customer, "transient")
    agent.op(session_id, "SendMessage", text="hello?")
    agent.take(1)
    updates = [agent.take(1, delivery=True)[0]["messages"][0]["delivery"] for _ in range(2)]
    while updates[-1]["status"] != "failed":
        updates.append(agent.take(1, delivery=True)[0]["messages"][0]["delivery"])
    assert updates[-1]["attempts"] == 4 and updates[-1]["reason"] == "simulated carrier timeout"


def test_a_carrier_block_is_an_opt_out(cc: ContactCenter, chat: tuple[Agent, str, str]) -> None:
    agent, session_id, customer = chat
    _handset(cc, customer, "blocked")
    agent.op(session_id, "SendMessage", text="hello?")
    agent.take(1)
    properties, notice = agent.take(2)
    assert "SendMessage" not in properties["smssession"]["capabilities"]
    assert notice["messages"][0]["type"] == "Notice"
    (failed,) = agent.take(1, delivery=True)
    assert failed["messages"][0]["delivery"]["errorCode"] == "21610"
    assert agent.op(session_id, "SendMessage", text="again", expect=403)["statusCode"] == 3
