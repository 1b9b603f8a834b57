"""Routing SMS sessions to agents, and withdrawing offers nobody answered.

Runs in the background, driven by events and deadlines rather than by polling: woken after any
commit that needs routing (new session, agent Ready, an agent back after an absence, rejected or
revoked offer, freed capacity, an offer made by an agent), at the deadline of the soonest offer
out, and by a slow sweep (``routing_sweep_ms``) that routes any session left waiting (for example
after a restart). An idle contact center costs a few statements per sweep.
"""

from __future__ import annotations

import logging
import time
from enum import Enum

from smsdesk.domain.clock import now_ms
from smsdesk.domain.model import OfferKind
from smsdesk.domain.routing import choose_agent
from smsdesk.domain.session import SmsSession
from smsdesk.operations import opening_hours
from smsdesk.operations.background import BackgroundLoop
from smsdesk.operations.notify import publish_session_change
from smsdesk.operations.services import Services

log = logging.getLogger("smsdesk.routing")


async def route_waiting(services: Services, tenant_id: str) -> int:
    """Offer every waiting session of the tenant to an eligible agent; returns how many were offered.

    One transaction per session: a transaction holding many sessions' locks while it takes agents'
    rows would deadlock with agents' own operations (which take their session, then their row).
    Sessions with an offer out are not even read, and once a queue has nobody to offer to, the rest
    of its sessions wait for the next pass: a backlog the agents cannot take yet costs one query per
    queue, not one per waiting customer (docs/architecture.md §5)."""
    offered = 0
    async with services.store.transaction() as tx:
        waiting = await tx.sessions.unoffered(tenant_id)
        # A closed queue's sessions wait for its opening (operations/opening_hours.py).
        closed = await opening_hours.closed_queues(tx, tenant_id, now_ms()) if waiting else set()
    unstaffed: set[str] = set(closed)
    for session_id, queue in waiting:
        if queue in unstaffed:
            continue
        outcome = await _route_one(services, tenant_id, session_id)
        if outcome is _Outcome.OFFERED:
            offered += 1
        elif outcome is _Outcome.NOBODY:
            unstaffed.add(queue)
    return offered


class _Outcome(Enum):
    OFFERED = "offered"
    NOT_NEEDED = "not needed"  # gone, answered meanwhile, or every eligible agent is in it already
    NOBODY = "nobody"  # no agent of the queue can take a session now


async def _route_one(services: Services, tenant_id: str, session_id: str) -> _Outcome:
    async with services.work() as work:
        record = await work.tx.sessions.load(tenant_id, session_id)
        if record is None:
            return _Outcome.NOT_NEEDED
        session = SmsSession(record)
        if not session.needs_agent():
            return _Outcome.NOT_NEEDED
        candidates = await work.tx.agents.routing_candidates(
            tenant_id,
            record.queue,
            services.settings.max_sessions_per_agent,
            # Only agents somebody is behind (operations/presence.py).
            now_ms() - services.settings.presence_offer_ms,
        )
        if choose_agent(candidates, ()) is None:
            return _Outcome.NOBODY
        chosen = choose_agent(
            [c for c in candidates if c.user_id not in _live_parties(session)], record.tried
        )
        if chosen is None:
            return _Outcome.NOT_NEEDED
        ctx = services.domain_context()
        session.offer(ctx, chosen, OfferKind.ROUTE)
        await work.tx.agents.note_offer(chosen, ctx.now_ms)
        await publish_session_change(services, work, session)
    log.info("offered SMS session %s (queue %s) to agent %s", record.id, record.queue, chosen)
    return _Outcome.OFFERED


def _live_parties(session: SmsSession) -> set[str]:
    return {party.user_id for party in session.live_parties()}


async def expire_offers(services: Services) -> float | None:
    """Revoke the offers past their deadline; returns the seconds until the next deadline (None:
    no offer is out)."""
    now = now_ms()
    async with services.store.transaction() as tx:
        offers = await tx.sessions.offer_deadlines()
    due = [(tenant_id, session_id) for tenant_id, session_id, deadline in offers if deadline <= now]
    later = [deadline for _, _, deadline in offers if deadline > now]
    for tenant_id, session_id in due:
        async with services.work() as work:  # one session per transaction, as in route_waiting
            record = await work.tx.sessions.load(tenant_id, session_id)
            if record is None:
                continue
            session = SmsSession(record)
            session.expire_offers(services.domain_context())
            if not session.effects:
                continue
            await publish_session_change(services, work, session)
        log.info("revoked an unanswered offer of SMS session %s", session_id)
    return (min(later) - now) / 1000 if later else None


class Router:
    def __init__(self, services: Services, sweep_interval_s: float = 30.0) -> None:
        self.services = services
        self.sweep_interval_s = sweep_interval_s
        self._pending: set[str] = set()
        self._known_tenants: set[str] = set()
        self._next_sweep = 0.0
        self._loop = BackgroundLoop("smsdesk-router", self._step, sweep_interval_s, log)
        services.on_routing_needed.append(self.wake)

    def wake(self, tenant_id: str) -> None:
        self._pending.add(tenant_id)
        self._known_tenants.add(tenant_id)
        self._loop.wake()

    def start(self, tenants: list[str]) -> None:
        self._known_tenants.update(tenants)
        self._pending.update(tenants)
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _step(self) -> float | None:
        next_deadline_s = await expire_offers(self.services)
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.sweep_interval_s
            self._pending.update(self._known_tenants)
        offered = 0
        while self._pending:
            offered += await route_waiting(self.services, self._pending.pop())
        if offered:  # the offers just made fall due after the offer timeout
            timeout_s = self.services.settings.offer_timeout_ms / 1000
            next_deadline_s = timeout_s if next_deadline_s is None else min(next_deadline_s, timeout_s)
        return next_deadline_s
