"""R2: kill -9 the server and restart it on the same database, between and during operations.

On SQLite the server keeps Bayeux clients in memory: after a restart clients re-handshake with their
resume position, and every operation answered ``statusCode: 0`` has its notification delivered,
exactly once, in commit order. On PostgreSQL clients are kept in the database and simply carry on
with the same ``clientId`` (no re-handshake): with the ack extension, exactly once and in order;
without it, only a connect reply that was in flight when the process died can be missing
(docs/architecture.md §9), and nothing is repeated or reordered."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from support.agents import PASSWORD, ContactCenter

from .listener import Background, Listener, assert_exactly_once_in_order, chatting, wait_until

pytestmark = pytest.mark.slow


class Operations:
    """UpdateUserData in a loop; records the referenceId of every operation that got statusCode 0.
    Requests cut by the kill are simply not counted (the client does not know their outcome)."""

    def __init__(self, cc: ContactCenter, session_id: str, user_name: str) -> None:
        self.http = httpx.Client(base_url=cc.server.base_url, auth=(user_name, PASSWORD), timeout=5)
        self.path = f"/api/v2/me/smssessions/{session_id}"
        self.acknowledged: list[int] = []
        self.failed = 0
        self.count = 0

    def one(self) -> None:
        self.count += 1
        body = {"operationName": "UpdateUserData", "userData": {"n": self.count}}
        try:
            response = self.http.post(self.path, json=body)
        except httpx.HTTPError:
            self.failed += 1
            time.sleep(0.02)
            return
        if response.status_code == 200 and response.json().get("statusCode") == 0:
            self.acknowledged.append(int(response.json()["referenceId"]))
        else:
            self.failed += 1

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.one()


@pytest.mark.parametrize("ack", [True, False], ids=["ack", "no-ack"])
def test_kill_9_between_and_during_operations_loses_nothing(
    cc: ContactCenter, ack: bool, backend: str
) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    listener = Listener(cc.server, (agent.user_name, PASSWORD), ack=ack)
    listener.handshake()
    ops = Operations(cc, session_id, agent.user_name)
    with Background(listener):
        for _ in range(20):
            ops.one()
        # Between operations: nothing in flight when the process dies.
        cc.server.restart(kill=True)
        for _ in range(20):
            ops.one()
        # During operations: a writer keeps posting while the server is killed twice.
        stop = threading.Event()
        writer = threading.Thread(target=ops.loop, args=(stop,), daemon=True)
        writer.start()
        for _ in range(2):
            time.sleep(0.4)
            cc.server.restart(kill=True, pause_s=0.2)
        time.sleep(0.4)
        stop.set()
        writer.join(10)
        for _ in range(10):
            ops.one()
        wanted = set(ops.acknowledged)
        if backend == "postgres" and not ack:
            # Everything acknowledged after the last kill arrives; before it, a reply in flight may not.
            wanted = set(ops.acknowledged[-10:])
        wait_until(lambda: wanted <= set(listener.reference_ids()), what="every acknowledged notification")
    assert len(ops.acknowledged) >= 50
    if backend == "sqlite":
        assert listener.handshakes >= 3  # restarts were noticed: the resume token did the work
        assert_exactly_once_in_order(listener, ops.acknowledged)
    elif ack:
        assert listener.handshakes == 1  # the client carried on across three kills
        assert_exactly_once_in_order(listener, ops.acknowledged)
    else:
        assert listener.handshakes == 1
        positions = listener.positions()
        assert positions == sorted(set(positions)), "duplicated or reordered"
        lost = set(ops.acknowledged) - set(listener.reference_ids())
        assert len(lost) <= 3 * 10, f"more lost than three in-flight replies could hold: {sorted(lost)}"
    ops.http.close()
    listener.close()
