"""Live numbers for supervisors (an extension): per queue and per agent, from stored facts.

Facts are written in the transaction of the change that made them (``record_session_facts``,
``record_agent_state``); at the end of that transaction the numbers of every queue it touched are
recomputed from the facts table and pushed to the queue's supervisors on ``/v2/me/statistics``
(``publish_statistics``). ``GET /api/v2/me/statistics`` reads the same numbers. Nothing is kept
in memory, so every node of a cluster agrees and a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from smsdesk.domain.clock import now_ms
from smsdesk.domain.session import SmsSession
from smsdesk.domain.statistics import (
    AgentStatistics,
    FactKind,
    QueueStatistics,
    queue_statistics,
    session_facts,
)
from smsdesk.gws import notifications as payloads
from smsdesk.gws.representation import statistics_json
from smsdesk.operations import access
from smsdesk.operations.ports import Fact, Notification, Transaction, User
from smsdesk.operations.services import Services, Work

QueueView = tuple[QueueStatistics, list[AgentStatistics]]


def start_of_day_ms(at_ms: int) -> int:
    """Midnight of ``at_ms``'s day in the server's time zone: "today" for the counters."""
    moment = datetime.fromtimestamp(at_ms / 1000).astimezone()
    return int(moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


class StatisticsPush:
    """The queues one transaction touched: their fresh numbers go to their supervisors before it
    commits (a before-commit hook of the transaction, ``Work.before_commit``)."""

    def __init__(self, services: Services, work: Work) -> None:
        self.services = services
        self.work = work
        self.queues: set[tuple[str, str]] = set()

    @classmethod
    def of(cls, services: Services, work: Work) -> StatisticsPush:
        return work.before_commit(cls, lambda: cls(services, work))

    async def __call__(self) -> None:
        await publish_statistics(self.services, self.work, self.queues)


async def record_session_facts(services: Services, work: Work, session: SmsSession) -> None:
    now = now_ms()
    record = session.record
    facts = session_facts(session.loaded, record, now)
    if not facts:
        return
    await work.tx.facts.append(
        [
            Fact(record.tenant_id, f.queue, f.kind.value, now, record.id, f.user_id, None, f.duration_ms)
            for f in facts
        ]
    )
    StatisticsPush.of(services, work).queues.update((record.tenant_id, f.queue) for f in facts)


async def record_agent_state(services: Services, work: Work, user: User, state: str) -> None:
    """The agent's state on the SMS channel (Ready, NotReady, LoggedOut) changed."""
    await work.tx.facts.append(
        [Fact(user.tenant_id, "", FactKind.AGENT_STATE.value, now_ms(), user_id=user.id, detail=state)]
    )
    queues = StatisticsPush.of(services, work).queues
    for queue in await work.tx.queues.of_member(user.tenant_id, user.id):
        queues.add((user.tenant_id, queue))


async def queue_view(services: Services, tx: Transaction, tenant_id: str, queue: str, now: int) -> QueueView:
    since = start_of_day_ms(now)
    threshold = services.settings.service_level_threshold_ms
    totals = await tx.facts.queue_totals(tenant_id, queue, since, threshold)
    waiting_since = await tx.sessions.waiting_since(tenant_id, queue)
    stats = queue_statistics(queue, totals, waiting_since, now, threshold)
    members = await tx.queues.members(tenant_id, queue)
    states = {fact.user_id: fact for fact in await tx.facts.last_agent_states(tenant_id, members)}
    handled = await tx.facts.completed_counts(tenant_id, since)
    live = await tx.sessions.live_counts(tenant_id)
    agents = []
    for user_id in members:
        user = await tx.users.by_id(tenant_id, user_id)
        if user is None:
            continue
        last = states.get(user_id)
        agents.append(
            AgentStatistics(
                user_id=user_id,
                user_name=user.user_name,
                state=(last.detail or "LoggedOut") if last is not None else "LoggedOut",
                time_in_state_ms=now - last.at_ms if last is not None else None,
                live_sessions=live.get(user_id, 0),
                handled_today=handled.get(user_id, 0),
            )
        )
    return stats, agents


async def publish_statistics(services: Services, work: Work, queues: set[tuple[str, str]]) -> None:
    """Push the fresh numbers of each of these queues to its supervisors."""
    now = now_ms()
    for tenant_id, queue in sorted(queues):
        supervisors = await work.tx.queues.supervisors(tenant_id, queue)
        if not supervisors:
            continue
        stats, agents = await queue_view(services, work.tx, tenant_id, queue, now)
        payload = msgspec.json.encode(
            payloads.statistics_updated(statistics_json(stats, agents, start_of_day_ms(now), services.urls))
        )
        for supervisor_id in supervisors:
            work.notify(Notification(tenant_id, supervisor_id, payloads.STATISTICS_TOPIC, payload))


async def my_statistics(services: Services, user: User) -> tuple[list[QueueView], int]:
    """The numbers of every queue the supervisor supervises, and the start of the period."""
    access.require_supervisor(user)
    now = now_ms()
    async with services.store.transaction() as tx:
        views = [
            await queue_view(services, tx, user.tenant_id, queue, now)
            for queue in await tx.queues.supervised_by(user.tenant_id, user.id)
        ]
    return views, start_of_day_ms(now)


async def all_queue_views(services: Services) -> list[tuple[str, QueueView]]:
    """Every queue of every contact center, with its tenant (for ``GET /metrics``)."""
    now = now_ms()
    async with services.store.transaction() as tx:
        return [
            (tenant_id, await queue_view(services, tx, tenant_id, queue, now))
            for tenant_id, queue in await tx.queues.all()
        ]
