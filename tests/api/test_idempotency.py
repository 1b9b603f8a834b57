"""``Idempotency-Key`` (an extension): a session operation repeated with the key it was first sent
with is answered with its first outcome and not done again; the same key with another request is
refused; a malformed key is refused before anything runs."""

from __future__ import annotations

import secrets

from reliability.listener import chatting
from support.agents import ContactCenter


def test_a_repeated_request_is_done_once_and_answered_with_its_first_reference_id(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    key = secrets.token_hex(8)
    body = {"operationName": "UpdateUserData", "userData": {"Order": 1}}
    answers = [
        agent.http.post(f"/api/v2/me/smssessions/{session_id}", json=body, headers={"Idempotency-Key": key})
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len({a.json()["referenceId"] for a in answers}) == 1
    notified = agent.take(1)
    assert notified[0]["referenceId"] == answers[0].json()["referenceId"]
    assert agent.quiet() == [], "the repeated request was done again"
    audit = agent.get(f"/api/v2/me/smssessions/{session_id}/userDataAudit")
    assert len([e for e in audit["entries"] if e["key"] == "Order"]) == 1

    other = agent.http.post(
        f"/api/v2/me/smssessions/{session_id}",
        json={"operationName": "UpdateUserData", "userData": {"Order": 2}},
        headers={"Idempotency-Key": key},
    )
    assert other.status_code == 409 and other.json()["statusCode"] == 19, other.text
    assert "Idempotency-Key" in other.json()["statusMessage"]

    fresh = agent.http.post(
        f"/api/v2/me/smssessions/{session_id}", json=body, headers={"Idempotency-Key": secrets.token_hex(8)}
    )
    assert fresh.status_code == 200 and fresh.json()["referenceId"] != answers[0].json()["referenceId"]


def test_a_malformed_key_is_refused(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    for key in ("x" * 256, "with space"):
        answer = agent.http.post(
            f"/api/v2/me/smssessions/{session_id}",
            json={"operationName": "UpdateUserData", "userData": {"Order": 3}},
            headers={"Idempotency-Key": key},
        )
        assert answer.status_code == 400 and answer.json()["statusCode"] == 10, answer.text
