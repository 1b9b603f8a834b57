"""A resume token older than the retention window gets an explicit gap signal, then live traffic."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.agents import PASSWORD, ContactCenter
from support.server import RunningServer

from .conftest import ENV
from .listener import Listener, chatting, position


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[RunningServer]:
    env = {**ENV, "SMSDESK_NOTIFICATION_RETENTION_S": "1", "SMSDESK_NOTIFICATION_PRUNE_INTERVAL_S": "0.2"}
    running = RunningServer(Path(tmp_path_factory.mktemp("retention")) / "smsdesk.db", env).start()
    yield running
    running.stop()


def test_resume_older_than_retention_gets_a_gap_signal(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    listener = Listener(cc.server, (agent.user_name, PASSWORD), ack=False)
    listener.handshake()
    agent.op(session_id, "UpdateUserData", userData={"n": 0})
    listener.until(lambda: len(listener.reference_ids()) == 1)
    stale = listener.last
    assert stale is not None
    # Gone longer than the retention window while notifications kept coming: they get pruned.
    for n in range(1, 4):
        agent.op(session_id, "UpdateUserData", userData={"n": n})
    time.sleep(1.8)
    agent.op(session_id, "UpdateUserData", userData={"n": 4})
    time.sleep(0.5)
    listener.received.clear()
    listener.client_id = None
    listener.poll()  # re-handshake with the stale token
    listener.until(lambda: bool(listener.received))
    gaps = [m for m in listener.received if m["data"].get("messageType") == "NotificationGap"]
    assert {m["channel"] for m in gaps} == {"/v2/me/smssessions", "/v2/me/channels"}
    data = gaps[0]["data"]
    assert data["resumeFrom"] == stale and data["reason"] == "retention"
    assert data["oldestAvailable"] > stale + 1
    after_gap = position(gaps[0])
    assert [m for m in listener.received if m not in gaps] == []  # nothing pruned-era replayed
    # Live notifications continue after the gap, with positions past it.
    reply = agent.op(session_id, "UpdateUserData", userData={"n": 5})
    listener.until(lambda: int(reply["referenceId"]) in listener.reference_ids())
    assert all(position(m) > after_gap for m in listener.received if m not in gaps)
    listener.close()


def test_resume_within_retention_replays(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    listener = Listener(cc.server, (agent.user_name, PASSWORD), ack=False)
    listener.handshake()
    replies = [agent.op(session_id, "UpdateUserData", userData={"n": n}) for n in range(3)]
    listener.client_id = None
    listener.poll()
    listener.until(lambda: len(listener.reference_ids()) >= 3)
    assert listener.reference_ids() == [int(r["referenceId"]) for r in replies]
    assert not [m for m in listener.received if m["data"].get("messageType") == "NotificationGap"]
    listener.close()


def test_a_token_beyond_this_database_gets_a_gap_then_live_notifications(cc: ContactCenter) -> None:
    """E.g. a restored database, or commits lost to a power failure: positions will be reused, so
    the client must re-read its state rather than wait for a position it already saw."""
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    listener = Listener(cc.server, (agent.user_name, PASSWORD), ack=False)
    listener.last = 10**9
    listener.handshake()
    listener.until(lambda: bool(listener.received))
    (gap, *_) = listener.received
    assert gap["data"]["messageType"] == "NotificationGap"
    assert (gap["data"]["reason"], gap["data"]["resumeFrom"]) == ("unknown_position", 10**9)
    reply = agent.op(session_id, "UpdateUserData", userData={"n": 1})
    listener.until(lambda: int(reply["referenceId"]) in listener.reference_ids())
    listener.close()
