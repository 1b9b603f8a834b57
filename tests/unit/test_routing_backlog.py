"""Routing a backlog: customers waiting while no agent can take them cost one query per queue per
pass, not one per customer (operations/routing.py), and are offered as soon as an agent can."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smsdesk.domain.agents import SMS_CHANNEL, ChannelState
from smsdesk.domain.routing import AgentAvailability
from smsdesk.gws.representation import Urls
from smsdesk.operations import admin, agent
from smsdesk.operations.intake import SmsIntake
from smsdesk.operations.routing import route_waiting
from smsdesk.operations.services import OperationSettings, Services
from smsdesk.operations.sms_ports import InboundSms
from smsdesk.storage.agents import AgentsSql
from smsdesk.storage.sqlite import SqliteStore

SERVICE_NUMBER = "+18885550100"


def test_a_backlog_nobody_can_take_costs_one_candidate_query_per_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(str(tmp_path / "backlog.db"))
    store.migrate()
    services = Services(store, Urls("http://test"), OperationSettings(max_sessions_per_agent=2))
    queries = 0
    original = AgentsSql.routing_candidates

    async def counted(
        self: AgentsSql, tenant_id: str, queue: str, capacity: int, seen_since_ms: int
    ) -> list[AgentAvailability]:
        nonlocal queries
        queries += 1
        return await original(self, tenant_id, queue, capacity, seen_since_ms)

    monkeypatch.setattr(AgentsSql, "routing_candidates", counted)

    async def scenario() -> None:
        nonlocal queries
        alice = await admin.add_user(services, "alice", "long-password", tenant="t", queues=("q",))
        await admin.add_service_number(services, SERVICE_NUMBER, queue="q", tenant="t", connector="simulator")
        intake = SmsIntake(services)
        for customer in range(30):
            await intake.inbound(InboundSms(SERVICE_NUMBER, f"+1555000{customer:04d}", "hello", "simulator"))

        # Nobody is Ready: one query finds that, and the other 29 customers are not even read.
        queries = 0
        assert await route_waiting(services, "t") == 0
        assert queries == 1

        await agent.start_contact_center_session(services, alice, [SMS_CHANNEL])
        await agent.set_state(services, alice, ChannelState.READY)
        queries = 0
        assert await route_waiting(services, "t") == 2  # up to her capacity, oldest customers first
        assert queries == 3  # two offers, then the query that finds her full

        # Offers out are not routed again, and the full queue is found full once.
        queries = 0
        assert await route_waiting(services, "t") == 0
        assert queries == 1
        async with store.transaction() as tx:
            unoffered = await tx.sessions.unoffered("t")
            invited = await tx.sessions.of_user("t", alice.id)
        assert len(unoffered) == 28 and len(invited) == 2
        assert [s.customer_number for s in invited] == ["+15550000000", "+15550000001"]

    try:
        asyncio.run(scenario())
    finally:
        store.close()
