"""Live statistics over HTTP and Bayeux: a supervisor reads them and gets them pushed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.agents import Agent, ContactCenter, create_supervisor
from support.server import QUICK_TIMEOUTS, RunningServer

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


def test_a_customer_who_opts_out_while_waiting_abandons(cc: ContactCenter) -> None:
    boss = create_supervisor(cc)
    cc.agent(0).log_in(ready=False)  # nobody Ready: the session waits
    customer = cc.customer_number()
    cc.sms(customer, "Anyone there?")
    (waiting,) = boss.get("/api/v2/me/statistics")["statistics"]
    assert (waiting["waiting"], waiting["entered"], waiting["abandoned"]) == (1, 1, 0)
    cc.sms(customer, "STOP")
    (after,) = boss.get("/api/v2/me/statistics")["statistics"]
    assert (after["waiting"], after["entered"], after["abandoned"], after["serviceLevel"]) == (0, 1, 1, 0.0)


def test_the_numbers_survive_a_restart(tmp_path: Path) -> None:
    running = RunningServer(tmp_path / "restart.db", QUICK_TIMEOUTS).start()  # the demo contact center
    try:
        agent = Agent(running, "agent1", "password").listen().log_in()
        httpx.post(
            running.base_url + "/simulator/sms",
            json={"from": "+15551231111", "to": "+15550100", "text": "Hello"},
            timeout=10,
        )
        session_id = agent.wait_invited()["id"]
        agent.op(session_id, "Accept")
        agent.op(session_id, "Complete")
        agent.close()
        boss = httpx.Client(base_url=running.base_url, auth=("supervisor1", "password"), timeout=10)
        (before,) = boss.get("/api/v2/me/statistics").json()["statistics"]
        assert (before["offered"], before["accepted"], before["completed"]) == (1, 1, 1)
        running.restart(kill=True)
        (after,) = boss.get("/api/v2/me/statistics").json()["statistics"]
        counters = (
            "entered",
            "offered",
            "accepted",
            "completed",
            "averageTimeToAcceptMs",
            "averageHandleTimeMs",
        )
        assert {k: after[k] for k in counters} == {k: before[k] for k in counters}
        agent_row_after = next(a for a in after["agents"] if a["userName"] == "agent1")
        assert (agent_row_after["state"], agent_row_after["handledToday"]) == ("Ready", 1)
        boss.close()
    finally:
        running.stop()
