"""Supervisor monitoring end to end: Monitor, Coach, BargeIn, CancelSupervisorMonitoring, Intrude,
SwitchTo*, and what each party (handset, agent, supervisor, second supervisor) sees and does not see."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from support.agents import Agent, ContactCenter, create_contact_center, create_supervisor

pytestmark = pytest.mark.slow

MONITOR_CAPS = ["Leave", "SetInFocus", "SwitchToCoach", "SwitchToBargeIn"]


def supervise(
    supervisor: Agent, agent: Agent, operation: str, expect: int = 200, **params: Any
) -> dict[str, Any]:
    return supervisor.post(
        f"/api/v2/users/{agent.id}/channels/smssession", {"operationName": operation, **params}, expect
    )


def intrude(
    supervisor: Agent, agent: Agent, session_id: str, expect: int = 200, **params: Any
) -> dict[str, Any]:
    return supervisor.post(
        f"/api/v2/users/{agent.id}/smssessions/{session_id}", {"operationName": "Intrude", **params}, expect
    )


def routed_and_accepted(cc: ContactCenter, agent: Agent, text: str = "Hello, help please") -> tuple[str, str]:
    customer = cc.customer_number()
    cc.sms(customer, text)
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname="Alice")
    agent.take(3)
    return session_id, customer


def nicknames(session: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["nickname"], p["visibility"]) for p in session["participants"]]


def texts(cc: ContactCenter, customer: str, expected: int) -> list[str]:
    """What the handset received, once ``expected`` SMS arrived (sending is asynchronous); a little
    longer is waited so one too many would show."""
    deadline = time.monotonic() + 10
    received: list[str] = []
    while time.monotonic() < deadline:
        received = [m["text"] for m in cc.handset(customer)]
        if len(received) >= expected:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    return [m["text"] for m in cc.handset(customer)]


def test_monitor_sees_everything_and_is_seen_by_no_agent(cc: ContactCenter) -> None:
    boss = create_supervisor(cc).listen()
    agent = cc.agent(0).listen().log_in()
    assert supervise(boss, agent, "Monitor", nickname="Boss")["statusCode"] == 0

    session_id, customer = routed_and_accepted(cc, agent)
    status, participants, history = boss.take(3)
    assert status["notificationType"] == "StatusChange"
    assert status["smssession"]["state"] == "Chatting"
    assert status["smssession"]["capabilities"] == MONITOR_CAPS
    assert ("Boss", "Supervisors") in nicknames(status["smssession"])
    assert participants["notificationType"] == "ParticipantsUpdated"
    assert [m.get("text") for m in history["messages"] if m["type"] == "Text"] == ["Hello, help please"]
    assert agent.quiet() == []  # the agent hears nothing of the monitor

    agent_view = agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]
    assert [name for name, _ in nicknames(agent_view)] == [customer, "Alice"]
    assert "SendToAgents" not in agent_view["capabilities"]  # no visible colleague
    log = agent.get(f"/api/v2/me/smssessions/{session_id}/messages")["messages"]
    assert all(m["from"]["nickname"] != "Boss" for m in log)

    cc.sms(customer, "Order 42")
    agent.op(session_id, "SendMessage", text="Looking into it")
    assert [m["messages"][0]["text"] for m in boss.take(2)] == ["Order 42", "Looking into it"]
    refused = boss.op(session_id, "SendMessage", text="psst", expect=400)
    assert refused["statusCode"] == 2

    agent.op(session_id, "Complete")
    (revoked,) = boss.take(1)
    assert revoked["smssession"]["state"] == "Revoked"
    assert boss.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]["state"] == "Revoked"
    assert texts(cc, customer, 1) == ["Looking into it"]

    # AllChats (the default): the next session is monitored too.
    second_id, _ = routed_and_accepted(cc, agent)
    (joined, _, _) = boss.take(3)
    assert joined["smssession"]["id"] == second_id and joined["smssession"]["state"] == "Chatting"


def test_coach_is_seen_by_the_agent_only_and_next_chat_stops_after_one(cc: ContactCenter) -> None:
    coach = create_supervisor(cc).listen()
    agent = cc.agent(0).listen().log_in()
    assert coach.get("/api/v2/me/statistics")["monitoring"] == []
    supervise(coach, agent, "Coach", supervisorMonitoringMode="NextChat", nickname="Coach")
    # Readable (extension), so that a desktop opened later shows whom its supervisor is coaching.
    assert coach.get("/api/v2/me/statistics")["monitoring"] == [
        {
            "agentId": agent.id,
            "agentUri": f"{cc.server.base_url}/api/v2/users/{agent.id}",
            "mode": "Coach",
            "supervisorMonitoringMode": "NextChat",
        }
    ]
    session_id, customer = routed_and_accepted(cc, agent)
    assert coach.get("/api/v2/me/statistics")["monitoring"] == []  # NextChat: used up by this session
    status, _, _ = coach.take(3)
    caps = status["smssession"]["capabilities"]
    assert "SwitchToMonitor" in caps and "SwitchToBargeIn" in caps and "SwitchToCoach" not in caps
    assert "Complete" not in caps and "Transfer" not in caps and "SendToAgents" in caps

    # The coach joined in the agent's Accept: the agent's history already had the coach's arrival.
    (participants,) = agent.take(1)
    assert ("Coach", "Agents") in nicknames(participants["smssession"])
    joined = agent.get(f"/api/v2/me/smssessions/{session_id}/messages")["messages"][-1]
    assert (joined["type"], joined["from"]["nickname"], joined["visibility"]) == (
        "ParticipantJoined",
        "Coach",
        "Agents",
    )
    assert "SendToAgents" in participants["smssession"]["capabilities"]

    coach.op(session_id, "SendMessage", text="Offer the refund")
    (tip,) = agent.take(1)
    assert tip["messages"][0]["text"] == "Offer the refund" and tip["messages"][0]["visibility"] == "Agents"
    agent.op(session_id, "SendMessage", text="We will refund you")
    coach.take(2)  # its own tip, then the agent's message
    assert texts(cc, customer, 1) == ["We will refund you"]  # the coach's words never reach the handset

    agent.op(session_id, "Complete")
    assert coach.take(1)[0]["smssession"]["state"] == "Revoked"
    routed_and_accepted(cc, agent)  # NextChat: no more monitoring
    assert coach.quiet() == []
    assert supervise(coach, agent, "CancelSupervisorMonitoring", expect=400)["statusCode"] == 2


def test_barge_in_reaches_the_handset_and_switching_changes_who_sees_the_supervisor(
    cc: ContactCenter,
) -> None:
    boss = create_supervisor(cc).listen()
    agent = cc.agent(0).listen().log_in()
    supervise(boss, agent, "BargeIn", nickname="Boss")
    session_id, customer = routed_and_accepted(cc, agent)
    status, _, _ = boss.take(3)
    assert ("Boss", "All") in nicknames(status["smssession"])
    assert "SendMessage" in status["smssession"]["capabilities"]
    agent.take(1)  # ParticipantsUpdated (the ParticipantJoined entry came with the history)

    boss.op(session_id, "SendMessage", text="Hi, I am the manager")
    (said,) = agent.take(1)
    assert said["messages"][0]["visibility"] == "All"
    boss.take(1)
    assert texts(cc, customer, 1) == ["Hi, I am the manager"]

    boss.op(session_id, "SwitchToMonitor")
    switched, entry = boss.take(2)
    assert switched["notificationType"] == "ParticipantsUpdated"
    assert ("Boss", "Supervisors") in nicknames(switched["smssession"])
    assert entry["messages"][0]["type"] == "ParticipantLeft"
    # To the agent, a barging supervisor who switches to Monitor has left.
    agent_sees, gone = agent.take(2)
    assert agent_sees["notificationType"] == "ParticipantsUpdated"
    assert "Boss" not in [name for name, _ in nicknames(agent_sees["smssession"])]
    assert gone["messages"][0]["type"] == "ParticipantLeft" and gone["messages"][0]["visibility"] == "All"
    fresh = boss.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]
    assert fresh["capabilities"] == MONITOR_CAPS

    boss.op(session_id, "SwitchToCoach")
    boss.take(2)
    participants, joined = agent.take(2)
    assert ("Boss", "Agents") in nicknames(participants["smssession"])
    assert joined["messages"][0]["type"] == "ParticipantJoined"
    assert boss.op(session_id, "SwitchToCoach", expect=400)["statusCode"] == 2


def test_intrude_invites_the_supervisor_who_is_revoked_when_the_session_is_requeued(
    cc: ContactCenter,
) -> None:
    boss = create_supervisor(cc).listen()
    agent = cc.agent(0).listen().log_in()
    session_id, customer = routed_and_accepted(cc, agent)
    # Where to intrude (extension): the sessions the agent is chatting in.
    (listed,) = boss.get(f"/api/v2/users/{agent.id}/smssessions")["smssessions"]
    assert (listed["id"], listed["customerNumber"], listed["queue"]) == (session_id, customer, cc.queue)
    assert listed["path"] == f"/smssessions/{session_id}" and "capabilities" not in listed
    assert intrude(boss, agent, session_id, expect=400)["statusCode"] == 2  # no monitoring, no mode
    assert intrude(boss, agent, session_id, supervisorVisibilityMode="Nosy", expect=400)["statusCode"] == 10
    assert (
        intrude(boss, agent, "NOSUCHSESSION", supervisorVisibilityMode="Coach", expect=404)["statusCode"] == 6
    )

    reply = intrude(boss, agent, session_id, supervisorVisibilityMode="Coach")
    invited = boss.wait_invited()
    assert invited["id"] == session_id and invited["userData"]["CustomerNumber"]
    assert invited["capabilities"] == ["Accept", "Reject", "SetInFocus"]
    assert reply["referenceId"] > 0
    boss.op(session_id, "Accept", nickname="Boss")
    status, _, history = boss.take(3)
    assert status["smssession"]["state"] == "Chatting" and ("Boss", "Agents") in nicknames(
        status["smssession"]
    )
    assert history["messages"][0]["type"] == "ParticipantJoined"
    agent.take(2)

    agent.op(session_id, "Complete", queueName=cc.queue)
    assert boss.take(1)[0]["smssession"]["state"] == "Revoked"
    assert boss.get(f"/api/v2/users/{agent.id}/smssessions")["smssessions"] == []


def test_two_supervisors_see_each_other_and_monitoring_continues_while_another_agent_stays(
    cc: ContactCenter,
) -> None:
    boss = create_supervisor(cc).listen()
    deputy = create_supervisor(cc).listen()
    first = cc.agent(0).listen().log_in()
    second = cc.agent(1).listen().log_in(ready=False)
    supervise(boss, first, "Monitor", nickname="Boss")
    supervise(deputy, first, "Monitor", nickname="Deputy")
    session_id, _ = routed_and_accepted(cc, first)
    boss_status, _, boss_history = boss.take(3)
    joins = [m["from"]["nickname"] for m in boss_history["messages"] if m["type"] == "ParticipantJoined"]
    assert joins.count("Boss") == 1 and joins.count("Deputy") == 1
    deputy_status, _, _ = deputy.take(3)
    assert ("Deputy", "Supervisors") in nicknames(deputy_status["smssession"])
    assert ("Boss", "Supervisors") in nicknames(deputy_status["smssession"])
    # Both joined in the same change: each has the other's arrival in its history, once.
    (boss_hears_deputy,) = boss.take(1)
    assert ("Deputy", "Supervisors") in nicknames(boss_hears_deputy["smssession"])
    assert boss.quiet() == [] and deputy.quiet() == []
    assert first.quiet() == []

    first.op(session_id, "Invite", targetUri=second.uri)
    second.wait_invited()
    second.op(session_id, "Accept", nickname="Bob")
    second.take(3)
    first.take(2)
    boss.take(2)
    deputy.take(2)
    first.op(session_id, "Leave")
    boss.take(2)
    deputy.take(2)
    second.take(2)
    assert boss.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]["state"] == "Chatting"

    deputy.op(session_id, "Leave")
    (left,) = deputy.take(1)
    assert left["smssession"]["state"] == "Completed"
    participants, _ = boss.take(2)
    assert "Deputy" not in [name for name, _ in nicknames(participants["smssession"])]
    assert second.quiet() == []  # the monitors come and go unseen

    second.op(session_id, "Complete")
    assert boss.take(1)[0]["smssession"]["state"] == "Revoked"
    assert boss_status["smssession"]["id"] == session_id


# ----- who may do what -------------------------------------------------------------------------------


def test_every_supervisor_operation_against_every_kind_of_caller(cc: ContactCenter) -> None:
    # Everyone is provisioned before the agent's desktop connects (slow password hashing must not
    # outlast the Bayeux session's idle limit).
    own = create_supervisor(cc)
    other_queue = create_supervisor(cc, queue="other-queue")
    elsewhere = create_contact_center(cc.server, agents=1)
    stranger = create_supervisor(elsewhere)
    colleague = cc.agent(1)
    agent = cc.agent(0).listen().log_in()
    session_id, _ = routed_and_accepted(cc, agent)

    channel = f"/api/v2/users/{agent.id}/channels/smssession"
    on_session = f"/api/v2/users/{agent.id}/smssessions/{session_id}"
    operations = [
        (channel, {"operationName": "Monitor"}),
        (channel, {"operationName": "Coach", "supervisorMonitoringMode": "NextChat"}),
        (channel, {"operationName": "BargeIn"}),
        (on_session, {"operationName": "Intrude", "supervisorVisibilityMode": "Monitor"}),
        (channel, {"operationName": "CancelSupervisorMonitoring"}),
    ]
    refused = {colleague: (403, 5), other_queue: (403, 5), stranger: (404, 6)}
    for path, body in operations:
        for caller, (http_status, status_code) in refused.items():
            answer = caller.post(path, body, expect=http_status)
            assert answer["statusCode"] == status_code, (caller.user_name, body)
        anonymous = httpx.post(cc.server.base_url + path, json=body, timeout=10)
        assert anonymous.status_code == 401 and anonymous.json()["statusCode"] == 20
        assert own.post(path, body)["statusCode"] == 0, body
    listing = f"/api/v2/users/{agent.id}/smssessions"
    for caller, (http_status, status_code) in refused.items():
        assert caller.get(listing, expect=http_status)["statusCode"] == status_code, caller.user_name
    assert httpx.get(cc.server.base_url + listing, timeout=10).status_code == 401
    assert [s["id"] for s in own.get(listing)["smssessions"]] == [session_id]

    own.op(session_id, "Accept")
    for switch in ("SwitchToCoach", "SwitchToBargeIn", "SwitchToMonitor"):
        for caller in (colleague, other_queue, stranger):
            assert caller.op(session_id, switch, expect=404)["statusCode"] == 6
        assert agent.op(session_id, switch, expect=400)["statusCode"] == 2  # an agent has no such capability
        anonymous = httpx.post(
            f"{cc.server.base_url}/api/v2/me/smssessions/{session_id}",
            json={"operationName": switch},
            timeout=10,
        )
        assert anonymous.status_code == 401
        assert own.op(session_id, switch)["statusCode"] == 0
    elsewhere.close()
