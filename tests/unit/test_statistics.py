"""Live statistics against a scripted day: facts derived from each change, stored through the real
SQL, then the numbers, all exact."""

from __future__ import annotations

import asyncio

from builders import QUEUE, SERVICE_NUMBER, World, fresh

from smsdesk.domain.model import OfferKind
from smsdesk.domain.session import SmsSession
from smsdesk.domain.statistics import QueueStatistics, SessionFact, queue_statistics, session_facts
from smsdesk.operations.ports import Fact
from smsdesk.storage.sqlite import SqliteStore

SECOND = 1_000


class Day:
    """Runs each step on a freshly loaded session, as a request would, and keeps its facts."""

    def __init__(self) -> None:
        self.world = World()
        self.facts: list[tuple[int, SessionFact]] = []

    def arrive(self, session_id: str, customer: str) -> SmsSession:
        session = SmsSession.open_inbound(
            self.world.ctx(),
            session_id=session_id,
            tenant_id="T1",
            queue=QUEUE,
            service_number=SERVICE_NUMBER,
            customer_number=customer,
            text="Hello",
            user_data={},
        )
        self._keep(session)
        return fresh(session)

    def step(self, session: SmsSession, after_s: float, action: str, agent: str = "") -> SmsSession:
        self.world.advance(int(after_s * SECOND))
        ctx = self.world.ctx()
        session = fresh(session)
        if action == "offer":
            session.offer(ctx, agent, OfferKind.ROUTE)
        elif action == "accept":
            session.accept(ctx, agent, agent.title())
        elif action == "reject":
            session.reject(agent)
        elif action == "expire":
            session.expire_offers(ctx)
        elif action == "complete":
            session.complete(ctx, agent, None)
        elif action == "abandon":
            session.abandon()
        self._keep(session)
        return fresh(session)

    def _keep(self, session: SmsSession) -> None:
        for fact in session_facts(session.loaded, session.record, self.world.now_ms):
            self.facts.append((self.world.now_ms, fact))


def test_a_scripted_day_gives_exact_numbers() -> None:
    day = Day()
    start = day.world.now_ms
    a = day.arrive("A", "+15550000001")
    a = day.step(a, 10, "offer", "alice")
    a = day.step(a, 5, "reject", "alice")
    a = day.step(a, 0, "offer", "bob")
    a = day.step(a, 25, "accept", "bob")  # waited 40 s: within the 60 s threshold
    a = day.step(a, 300, "complete", "bob")  # handled 300 s

    b = day.arrive("B", "+15550000002")
    b = day.step(b, 0, "offer", "alice")
    b = day.step(b, 30, "expire")  # alice never answered: revoked
    b = day.step(b, 0, "offer", "bob")
    b = day.step(b, 60, "accept", "bob")  # waited 90 s: outside the threshold
    b = day.step(b, 600, "complete", "bob")  # handled 600 s

    c = day.arrive("C", "+15550000003")
    day.step(c, 20, "abandon")  # the customer opted out while waiting

    day.arrive("D", "+15550000004")  # still waiting at the end of the day
    day.world.advance(45 * SECOND)
    now = day.world.now_ms

    store = SqliteStore(":memory:")
    store.migrate()

    async def numbers() -> QueueStatistics:
        async with store.transaction() as tx:
            await tx.facts.append(
                [
                    Fact("T1", f.queue, f.kind.value, at, None, f.user_id, None, f.duration_ms)
                    for at, f in day.facts
                ]
            )
            totals = await tx.facts.queue_totals("T1", QUEUE, start, 60 * SECOND)
            handled = await tx.facts.completed_counts("T1", start)
        assert handled == {"bob": 2}
        return queue_statistics(QUEUE, totals, [now - 45 * SECOND], now, 60 * SECOND)

    stats = asyncio.run(numbers())
    store.close()
    assert stats == QueueStatistics(
        queue=QUEUE,
        waiting=1,
        longest_wait_ms=45_000,
        entered=4,
        offered=4,
        accepted=2,
        rejected=1,
        revoked=1,
        abandoned=1,
        completed=2,
        average_time_to_accept_ms=65_000,
        average_handle_time_ms=450_000,
        service_level=1 / 3,
        service_level_threshold_ms=60_000,
    )


def test_a_quiet_queue_has_no_averages_and_no_service_level() -> None:
    stats = queue_statistics("q", [], [], 0, 60_000)
    assert (stats.waiting, stats.accepted, stats.average_time_to_accept_ms, stats.service_level) == (
        0,
        0,
        None,
        None,
    )


def test_a_requeued_session_enters_again_and_is_not_completed() -> None:
    world = World()
    session = SmsSession.open_inbound(
        world.ctx(),
        session_id="S",
        tenant_id="T1",
        queue=QUEUE,
        service_number=SERVICE_NUMBER,
        customer_number="+15550000009",
        text="Hi",
        user_data={},
    )
    session = fresh(session)
    session.offer(world.ctx(), "alice", OfferKind.ROUTE)
    session = fresh(session)
    session.accept(world.ctx(), "alice", "Alice")
    session = fresh(session)
    session.complete(world.ctx(), "alice", "billing")
    kinds = [(f.kind.value, f.queue) for f in session_facts(session.loaded, session.record, world.now_ms)]
    assert kinds == [("entered", "billing")]
