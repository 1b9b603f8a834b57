"""Conditional userData writes (``userDataVersion``) and the per-key audit trail, end to end."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from support.agents import Agent, ContactCenter, create_contact_center, create_supervisor

pytestmark = pytest.mark.slow


def conference(cc: ContactCenter) -> tuple[Agent, Agent, str]:
    first = cc.agent(0).listen().log_in()
    second = cc.agent(1).listen().log_in(ready=False)
    cc.sms(cc.customer_number(), "Where is my parcel?")
    session_id = first.wait_invited()["id"]
    first.op(session_id, "Accept", nickname="Alice")
    first.take(3)
    first.op(session_id, "Invite", targetUri=second.uri)
    second.wait_invited()
    second.op(session_id, "Accept", nickname="Bob")
    second.take(3)
    first.take(2)
    return first, second, session_id


def version_of(agent: Agent, session_id: str) -> int:
    version: int = agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]["userDataVersion"]
    return version


def test_two_agents_racing_on_the_same_version_one_wins_the_other_is_told(cc: ContactCenter) -> None:
    first, second, session_id = conference(cc)
    version = version_of(first, session_id)
    assert version == version_of(second, session_id) == 0
    answers: dict[str, Any] = {}
    start = threading.Barrier(2)

    def write(agent: Agent, promise: str) -> None:
        start.wait()
        response = agent.http.post(
            f"/api/v2/me/smssessions/{session_id}",
            json={
                "operationName": "UpdateUserData",
                "userData": {"Promise": promise},
                "userDataVersion": version,
            },
        )
        answers[agent.user_name] = (response.status_code, response.json())

    threads = [
        threading.Thread(target=write, args=(first, "refund")),
        threading.Thread(target=write, args=(second, "replacement")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(status for status, _ in answers.values())
    assert outcomes == [200, 409], answers
    (loser_name,) = [name for name, (status, _) in answers.items() if status == 409]
    (winner_name,) = [name for name, (status, _) in answers.items() if status == 200]
    refused = answers[loser_name][1]
    assert refused == {
        "statusCode": 21,
        "statusMessage": "userData changed since version 0: it is now at version 1; read it again",
    }
    session = first.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]
    winner_value = "refund" if winner_name == first.user_name else "replacement"
    assert session["userData"]["Promise"] == winner_value and session["userDataVersion"] == 1

    # The loser reads again and writes on the current version; without a version it is plain GWS.
    loser = first if loser_name == first.user_name else second
    loser.op(session_id, "UpdateUserData", userData={"Promise": "both"}, userDataVersion=1)
    loser.op(session_id, "DeleteUserData", keys=["Promise"])
    assert version_of(second, session_id) == 3
    first.take(3)  # three PropertiesUpdated, each with the version it made
    updates = second.take(3)
    assert [u["smssession"]["userDataVersion"] for u in updates] == [1, 2, 3]
    stale = first.op(session_id, "AttachUserData", expect=409, userData={"X": "y"}, userDataVersion=2)
    assert stale["statusCode"] == 21
    assert first.quiet() == [] and second.quiet() == []  # a refused write notifies nobody


def test_the_audit_trail_entry_by_entry_and_who_may_read_it(cc: ContactCenter) -> None:
    first, second, session_id = conference(cc)
    first.op(session_id, "AttachUserData", userData={"Order": 1234, "Topic": "parcel"})
    second.op(session_id, "UpdateUserData", userData={"Order": 1235, "Extra": {"Depot": "North"}})
    first.op(session_id, "DeleteUserData", keys=["Topic", "NeverThere"])
    second.op(session_id, "UpdateUserData", userData={"Order": 1235})  # no change: no entry
    first.op(session_id, "SetDisposition", disposition="Resolved")

    boss = create_supervisor(cc)  # supervises the queue, never joined the session
    for reader in (first, second, boss):
        audit = reader.get(f"/api/v2/me/smssessions/{session_id}/userDataAudit")
        assert audit["statusCode"] == 0 and audit["userDataVersion"] == 4
        rows = [
            (e["version"], e["key"], e["operation"], e["user"]["userName"], e["oldValue"], e["newValue"])
            for e in audit["entries"]
        ]
        assert rows == [
            (1, "Order", "AttachUserData", first.user_name, None, 1234),
            (1, "Topic", "AttachUserData", first.user_name, None, "parcel"),
            (2, "Order", "UpdateUserData", second.user_name, 1234, 1235),
            (2, "Extra", "UpdateUserData", second.user_name, None, {"Depot": "North"}),
            (3, "Topic", "DeleteUserData", first.user_name, "parcel", None),
            (4, "DispositionCode", "SetDisposition", first.user_name, None, "Resolved"),
        ]
        entry = audit["entries"][0]
        assert entry["user"]["uri"].endswith(f"/users/{first.id}") and entry["timestampMs"] > 0

    outsider = cc.agent(2)
    other_queue = create_supervisor(cc, queue="elsewhere")
    elsewhere = create_contact_center(cc.server, agents=1)
    stranger = create_supervisor(elsewhere)
    for reader in (outsider, other_queue, stranger):
        refused = reader.get(f"/api/v2/me/smssessions/{session_id}/userDataAudit", expect=404)
        assert refused["statusCode"] == 6
    elsewhere.close()
