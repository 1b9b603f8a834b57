"""Live statistics over HTTP and Bayeux: a supervisor reads them and gets them pushed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from support.agents import Agent, ContactCenter, create_supervisor

pytestmark = pytest.mark.slow


def pushed_until(
    supervisor: Agent, wanted: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> dict[str, Any]:
    """The first pushed StatisticsUpdated that satisfies ``wanted`` (waiting for it)."""

    def statistics(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [m["data"]["statistics"] for m in received if m["channel"] == "/v2/me/statistics"]

    supervisor.bayeux.wait_for(lambda received: any(wanted(s) for s in statistics(received)), timeout)
    for message in supervisor.bayeux.received:
        assert (
            message["channel"] != "/v2/me/statistics" or message["data"]["messageType"] == "StatisticsUpdated"
        )
    match = next(s for s in statistics(supervisor.bayeux.received) if wanted(s))
    supervisor.bayeux.received.clear()
    return match


def agent_row(statistics: dict[str, Any], user_name: str) -> dict[str, Any]:
    row: dict[str, Any] = next(a for a in statistics["agents"] if a["userName"] == user_name)
    return row


def test_a_supervisor_reads_and_is_pushed_the_live_numbers(cc: ContactCenter) -> None:
    boss = create_supervisor(cc).listen()
    agent = cc.agent(0).listen().log_in()
    pushed_until(boss, lambda s: agent_row(s, agent.user_name)["state"] == "Ready")

    first = cc.customer_number()
    cc.sms(first, "One")
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept")
    agent.op(session_id, "Complete")

    second = cc.customer_number()
    cc.sms(second, "Two")
    offered = agent.wait_invited()["id"]
    agent.op(offered, "Reject")
    assert agent.wait_invited()["id"] == offered  # the only Ready agent gets it again
    agent.op(offered, "Accept")
    agent.op(offered, "Complete")

    expected = {
        "queue": cc.queue,
        "waiting": 0,
        "longestWaitMs": 0,
        "entered": 2,
        "offered": 3,
        "accepted": 2,
        "rejected": 1,
        "revoked": 0,
        "abandoned": 0,
        "completed": 2,
        "serviceLevel": 1.0,
        "serviceLevelThresholdMs": 60_000,
    }
    (read,) = boss.get("/api/v2/me/statistics")["statistics"]
    assert {key: read[key] for key in expected} == expected
    assert read["averageTimeToAcceptMs"] > 0 and read["averageHandleTimeMs"] >= 0
    by_name = {a["userName"]: a for a in read["agents"]}
    me = by_name[agent.user_name]
    assert (me["state"], me["liveSessions"], me["handledToday"]) == ("Ready", 0, 2)
    assert me["timeInStateMs"] >= 0
    assert by_name[cc.agent_names[1]]["state"] == "LoggedOut"

    latest = pushed_until(boss, lambda s: s["completed"] == 2)
    assert {key: latest[key] for key in expected} == expected
    assert agent_row(latest, agent.user_name)["handledToday"] == 2

    refused = agent.get("/api/v2/me/statistics", expect=403)
    assert refused["statusCode"] == 5
