"""PostgreSQL fails over under load: two smsdesk nodes behind nginx on a pg_auto_failover pair (a
monitor and two nodes with synchronous replication, on loopback, as ``postgres``), the primary killed
with ``kill -9`` in the middle of a stream of operations.

What must hold (docs/reliability.md, "When the database fails over"): every request is answered,
the outage with 503 + statusCode 4 + ``Retry-After`` (never a 500, never a traceback); a request
repeated with its ``Idempotency-Key`` is done once; every notification committed before and after
the failover reaches each ack desktop exactly once and in order, without a new handshake; routing
and SMS sending carry on; the log says once that the database went and once that it came back.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

import support.server
from local_services import FailoverPair, Nginx
from support.agents import PASSWORD, ContactCenter, create_contact_center
from support.official_client import OfficialClient
from support.server import RunningServer

pytestmark = pytest.mark.slow

ENV = {
    "SMSDESK_SIMULATOR": "true",
    "SMSDESK_OFFER_TIMEOUT_MS": "5000",
    "SMSDESK_BAYEUX_TIMEOUT_MS": "5000",
    "SMSDESK_ROUTING_SWEEP_MS": "1000",
    "SMSDESK_SMS_RETRY_INITIAL_MS": "200",
    "SMSDESK_DATABASE_IN_DOUBT_WAIT_S": "30",
}


class FailoverCluster:
    """Two nodes on the pair's multi-host URL, behind nginx round-robin."""

    def __init__(self, directory: Path, pair: FailoverPair) -> None:
        self.pair = pair
        previous, support.server.backend = support.server.backend, "sqlite"
        try:  # the nodes' database is the pair's, not the suite's throwaway PostgreSQL
            self.nodes = [RunningServer(directory / f"node{i}.db", ENV, demo=(i == 0)) for i in range(2)]
        finally:
            support.server.backend = previous
        for index, node in enumerate(self.nodes):
            node.database_url = pair.url()
            node.log_path = directory / f"node{index}.log"
        self.nginx = Nginx(directory / "nginx", [node.port for node in self.nodes])
        self.base_url = self.nginx.base_url
        self.database_url = pair.url()
        self.port = self.nginx.port

    def start(self) -> FailoverCluster:
        self.nodes[0].start()
        self.nodes[1].start()
        self.nginx.start()
        return self

    def stop(self) -> None:
        self.nginx.stop()
        for node in self.nodes:
            node.stop()


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FailoverCluster]:
    # FAILOVER_DEFAULT_TIMEOUTS=1: pg_auto_failover's own timeouts (about 50 s), for measuring.
    tuned = os.environ.get("FAILOVER_DEFAULT_TIMEOUTS") != "1"
    pair = FailoverPair(tuned=tuned).start()  # its own directory: the postgres account must reach it
    cluster = FailoverCluster(tmp_path_factory.mktemp("ha"), pair).start()
    yield cluster
    cluster.stop()
    pair.stop()


class Operator(threading.Thread):
    """One agent's stream of UpdateUserData through nginx, as the desktop sends them: each with an
    ``Idempotency-Key``, repeated with the same key after a 503 (after its ``Retry-After``) until
    it is answered. Records every answer's HTTP status, and each operation's referenceId."""

    def __init__(self, base_url: str, auth: tuple[str, str], session_id: str, count: int) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=base_url, auth=auth, timeout=60)
        self.session_id = session_id
        self.count = count
        self.statuses: list[int] = []
        self.unknown_outcomes = 0
        self.references: list[int] = []
        self.done_at: list[float] = []
        self.failure: BaseException | None = None
        self.started = threading.Event()
        self.go_on = threading.Event()
        self.go_on.set()

    def run(self) -> None:
        try:
            for n in range(self.count):
                self.go_on.wait()
                self.references.append(self._one(n))
                self.done_at.append(time.monotonic())
                if n == 0:
                    self.started.set()
        except BaseException as error:  # reported by the test
            self.failure = error
        finally:
            self.started.set()

    def _one(self, n: int) -> int:
        key = secrets.token_hex(12)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                response = self.http.post(
                    f"/api/v2/me/smssessions/{self.session_id}",
                    json={"operationName": "UpdateUserData", "userData": {"n": n}},
                    headers={"Idempotency-Key": key},
                )
            except httpx.HTTPError:
                time.sleep(0.2)  # the answer was lost: the same key again
                continue
            self.statuses.append(response.status_code)
            body = response.json()
            if response.status_code == 200:
                assert body["statusCode"] == 0, body
                return int(body["referenceId"])
            assert response.status_code == 503, f"{response.status_code} {response.text}"
            assert body["statusCode"] == 4 and body["statusMessage"], body
            assert response.headers.get("Retry-After"), response.headers
            if response.headers.get("X-Smsdesk-Outcome") == "unknown":
                self.unknown_outcomes += 1
            time.sleep(min(float(response.headers["Retry-After"]), 0.5))
        raise AssertionError(f"operation {n} never answered 200")


class Arrivals(threading.Thread):
    """When each notification reached a desktop (polled every 20 ms): the longest pause is the
    outage the desktop saw."""

    def __init__(self, desktop: OfficialClient) -> None:
        super().__init__(daemon=True)
        self.desktop = desktop
        self.times: list[float] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        seen = 0
        while not self.stopped.is_set():
            count = len(self.desktop.reference_ids())
            if count > seen:
                self.times.extend([time.monotonic()] * (count - seen))
                seen = count
            time.sleep(0.02)

    def longest_pause_s(self) -> float:
        return max((b - a for a, b in itertools.pairwise(self.times)), default=0.0)


class Prober(threading.Thread):
    """``/readyz`` and ``/healthz`` of one node, every 200 ms, until stopped."""

    def __init__(self, node: RunningServer) -> None:
        super().__init__(daemon=True)
        self.node = node
        self.readyz: list[int] = []
        self.healthz: list[int] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.node.base_url, timeout=10) as http:
            while not self.stopped.is_set():
                try:
                    self.readyz.append(http.get("/readyz").status_code)
                    self.healthz.append(http.get("/healthz").status_code)
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)


async def _committed_xid(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            xid: str = await conn.fetchval("SELECT pg_current_xact_id()::text")
        return xid
    finally:
        await conn.close()


async def _xact_status(url: str, xid: str) -> str | None:
    conn = await asyncpg.connect(url)
    try:
        status: str | None = await conn.fetchval("SELECT pg_xact_status($1::text::xid8)", xid)
        return status
    finally:
        await conn.close()


def test_the_primary_dies_under_load_and_nothing_acknowledged_is_lost_nor_notified_twice(
    ha: FailoverCluster,
) -> None:
    cc: ContactCenter = create_contact_center(ha)  # type: ignore[arg-type]
    try:
        _run(ha, cc)
    finally:
        cc.close()


def _run(ha: FailoverCluster, cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    from reliability.listener import chatting

    session_id = chatting(agent, cc.sms, cc.customer_number())
    desktops = [
        OfficialClient(ha.base_url, (agent.user_name, PASSWORD), transport, ack=True)
        for transport in ("long-polling", "websocket")
    ]
    probers = [Prober(node) for node in ha.nodes]
    arrivals = [Arrivals(desktop) for desktop in desktops]
    try:
        for desktop in desktops:
            desktop.wait(
                lambda d=desktop: any(e["event"] == "subscribed" for e in d.events), what="subscribed"
            )
        before_kill = asyncio.run(_committed_xid(ha.pair.url("postgres")))
        for prober in probers:
            prober.start()
        for watcher in arrivals:
            watcher.start()
        operator = Operator(ha.base_url, (agent.user_name, PASSWORD), session_id, 120)
        operator.start()
        assert operator.started.wait(30)
        while len(operator.references) < 40 and operator.failure is None:
            time.sleep(0.05)
        killed_at = time.monotonic()
        victim = ha.pair.kill_primary()
        operator.join(240)
        assert not operator.is_alive(), "the operations did not finish"
        assert operator.failure is None, operator.failure
        survivor = "node2" if victim == "node1" else "node1"
        ha.pair.wait_state({survivor: "wait_primary"}, timeout=60)
        # The database's own answer, on the new primary, for a transaction committed on the old one.
        assert asyncio.run(_xact_status(ha.pair.url("postgres"), before_kill)) == "committed"

        acknowledged = operator.references
        assert len(acknowledged) == len(set(acknowledged)) == 120
        for desktop in desktops:
            desktop.wait(
                lambda d=desktop: set(acknowledged) <= set(d.reference_ids()), timeout=90, what="all"
            )
        around = [killed_at, *(t for t in operator.done_at if t > killed_at)]
        outage_s = max((b - a for a, b in itertools.pairwise(around)), default=0.0)
        pauses = ", ".join(f"{w.longest_pause_s():.1f} s" for w in arrivals)
        print(
            f"\nfailover ({'tuned' if ha.pair.tuned else 'default'} timeouts): longest wait for an operation's "
            f"answer after the kill {outage_s:.1f} s; longest pause between notifications (long-polling, "
            f"websocket): {pauses}; answers {_counts(operator.statuses)}; unknown outcomes "
            f"{operator.unknown_outcomes}; node logs: "
            + "; ".join(_lines(node.logs(), "the database is back after").strip() for node in ha.nodes)
        )

        # Background work on the new primary: a new customer is routed and offered, and what the
        # agent texts reaches the customer's handset.
        customer = cc.customer_number()
        assert cc.sms(customer, "after the failover").status_code == 200
        offered = _wait_offer(agent, customer)
        agent.http.post(
            f"/api/v2/me/smssessions/{offered}", json={"operationName": "Accept"}
        ).raise_for_status()
        reply = agent.http.post(
            f"/api/v2/me/smssessions/{offered}", json={"operationName": "SendMessage", "text": "still here"}
        )
        assert reply.status_code == 200, reply.text
        cc.wait_handset(customer, ["still here"], timeout=30)
    finally:
        for prober in probers:
            prober.stopped.set()
        for watcher in arrivals:
            watcher.stopped.set()
        for desktop in desktops:
            desktop.close()

    for desktop in desktops:
        got = [r for r in desktop.reference_ids() if r >= acknowledged[0]]
        assert [r for r in got if r in set(acknowledged)] == acknowledged, "lost, duplicated or reordered"
        assert sum(1 for e in desktop.events if e["event"] == "handshake") == 1, "the desktop handshook again"
    assert 500 not in operator.statuses
    assert set(operator.statuses) <= {200, 503}, _counts(operator.statuses)
    for prober in probers:
        assert set(prober.healthz) == {200}, _counts(prober.healthz)
        assert 503 in prober.readyz and prober.readyz[-1] == 200, _counts(prober.readyz)
    for node in ha.nodes:
        logs = node.logs()
        assert "Traceback" not in logs, logs[logs.index("Traceback") - 2000 :][:6000]
        assert logs.count("the database is unavailable (") == 1, _lines(logs, "the database is")
        assert logs.count("the database is back after") == 1, _lines(logs, "the database is")


def _wait_offer(agent: Any, customer: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sessions = agent.get("/api/v2/me", subresources="smssessions")["user"].get("smssessions", [])
        for session in sessions:
            if session.get("state") == "Invited":
                return str(session["id"])
        time.sleep(0.2)
    raise AssertionError(f"no offer for {customer}")


def _counts(values: list[int]) -> dict[int, int]:
    return {value: sum(1 for _ in group) for value, group in itertools.groupby(sorted(values))}


def _lines(text: str, needle: str) -> str:
    return "\n".join(line for line in text.splitlines() if needle in line)
