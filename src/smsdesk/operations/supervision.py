"""Supervisor operations of the GWS SMS Session API, one function per operationName.

``POST /api/v2/users/{agentUserId}/channels/smssession``: Monitor, Coach, BargeIn,
CancelSupervisorMonitoring; ``POST /api/v2/users/{agentUserId}/smssessions/{id}``: Intrude.
(SwitchToMonitor / SwitchToCoach / SwitchToBargeIn act on the supervisor's own session and live
with the other session operations in ``smssessions.py``.)

Monitoring is stored, so it survives restarts and every node sees it: when the monitored agent
accepts a session, :func:`join_monitoring_supervisors` adds the supervisors in the same
transaction as the Accept.
"""

from __future__ import annotations

import logging

from smsdesk.domain.errors import invalid_state, invalid_value
from smsdesk.domain.model import LIVE_STATES, DomainContext, PartyState, SessionRecord, SupervisionMode
from smsdesk.domain.session import SmsSession
from smsdesk.gws import requests as rq
from smsdesk.operations import access
from smsdesk.operations.notify import publish_session_change
from smsdesk.operations.ports import Monitoring, Transaction, User
from smsdesk.operations.services import Services

log = logging.getLogger("smsdesk.supervision")

MONITORING_SCOPES = {"AllChats": False, "NextChat": True}  # supervisorMonitoringMode → next chat only
_MODE_OF_OPERATION = {
    rq.Monitor: SupervisionMode.MONITOR,
    rq.Coach: SupervisionMode.COACH,
    rq.BargeIn: SupervisionMode.BARGE_IN,
}


def _visibility_mode(value: str) -> SupervisionMode:
    try:
        return SupervisionMode(value)
    except ValueError:
        raise invalid_value(
            f"Invalid value for parameter supervisorVisibilityMode: {value} (Monitor, Coach or BargeIn)"
        ) from None


async def start_monitoring(
    services: Services, user: User, agent_id: str, operation: rq.Monitor | rq.Coach | rq.BargeIn
) -> int:
    """Monitor, Coach or BargeIn: join each session the agent accepts from now on (AllChats, the
    default) or only the next one (NextChat)."""
    mode = _MODE_OF_OPERATION[type(operation)]
    next_chat_only = MONITORING_SCOPES.get(operation.supervisorMonitoringMode)
    if next_chat_only is None:
        raise invalid_value(
            "Invalid value for parameter supervisorMonitoringMode: "
            f"{operation.supervisorMonitoringMode} (NextChat or AllChats)"
        )
    async with services.work() as work:
        agent = await access.supervised_agent(work.tx, user, agent_id)
        now = services.domain_context().now_ms
        await work.tx.supervision.save(
            Monitoring(user.tenant_id, agent.id, user.id, mode, next_chat_only, now, operation.nickname)
        )
        reference_id = await work.tx.reference_ids.next()
    log.info(
        "%s started %s of %s (%s)",
        user.user_name,
        mode.value,
        agent.user_name,
        operation.supervisorMonitoringMode,
    )
    return reference_id


async def monitor(services: Services, user: User, agent_id: str, operation: rq.Monitor) -> int:
    return await start_monitoring(services, user, agent_id, operation)


async def coach(services: Services, user: User, agent_id: str, operation: rq.Coach) -> int:
    return await start_monitoring(services, user, agent_id, operation)


async def barge_in(services: Services, user: User, agent_id: str, operation: rq.BargeIn) -> int:
    return await start_monitoring(services, user, agent_id, operation)


async def cancel_supervisor_monitoring(services: Services, user: User, agent_id: str) -> int:
    """Stop monitoring. Sessions the supervisor is in go on (the supervisor Leaves them)."""
    async with services.work() as work:
        agent = await access.supervised_agent(work.tx, user, agent_id)
        if not await work.tx.supervision.delete(agent.id, user.id):
            raise invalid_state(f"{user.user_name} is not monitoring {agent.user_name}")
        reference_id = await work.tx.reference_ids.next()
    log.info("%s stopped monitoring %s", user.user_name, agent.user_name)
    return reference_id


async def my_monitoring(services: Services, user: User) -> list[Monitoring]:
    """**Extension**: the supervisor's active monitorings of the agents they supervise, so that a
    desktop opened later (or reloaded) shows them; a NextChat one is gone once it has been used."""
    access.require_supervisor(user)
    async with services.store.transaction() as tx:
        agents: set[str] = set()
        for queue in await tx.queues.supervised_by(user.tenant_id, user.id):
            agents.update(await tx.queues.members(user.tenant_id, queue))
        return [
            monitoring
            for agent_id in sorted(agents)
            for monitoring in await tx.supervision.of_agent(agent_id)
            if monitoring.supervisor_id == user.id
        ]


async def agent_sessions(services: Services, user: User, agent_id: str) -> list[SessionRecord]:
    """**Extension**: the sessions a supervised agent is chatting in, which is what Intrude joins
    (GWS gives a supervisor no way to find them)."""
    async with services.store.transaction() as tx:
        agent = await access.supervised_agent(tx, user, agent_id)
        records = await tx.sessions.of_user(user.tenant_id, agent.id)
    return [r for r in records if r.parties[agent.id].state is PartyState.CHATTING]


async def intrude(
    services: Services, user: User, agent_id: str, session_id: str, operation: rq.Intrude
) -> int:
    """Join a session the agent is chatting in: the supervisor is offered it (Invited) and joins on
    Accept, in ``supervisorVisibilityMode`` or else the mode of their active monitoring."""
    async with services.work() as work:
        agent = await access.supervised_agent(work.tx, user, agent_id)
        record = await access.session_of_supervised_agent(work.tx, user, agent, session_id)
        if operation.supervisorVisibilityMode is not None:
            mode = _visibility_mode(operation.supervisorVisibilityMode)
        else:
            active = [m for m in await work.tx.supervision.of_agent(agent.id) if m.supervisor_id == user.id]
            if not active:
                raise invalid_state(
                    f"{user.user_name} is not monitoring {agent.user_name}: give supervisorVisibilityMode"
                )
            mode = active[0].mode
        session = SmsSession(record)
        session.invite_supervisor(services.domain_context(), user.id, mode)
        reference_id = await work.tx.reference_ids.next()
        await publish_session_change(services, work, session, requester=user.id, reference_id=reference_id)
    log.info("%s intruded on session %s of %s as %s", user.user_name, session_id, agent.user_name, mode.value)
    return reference_id


async def join_monitoring_supervisors(
    tx: Transaction, session: SmsSession, agent_id: str, ctx: DomainContext
) -> None:
    """The agent just accepted (or started) ``session``: every supervisor monitoring them joins it,
    with the history. A NextChat monitoring ends here."""
    record = session.record
    for monitoring in await tx.supervision.of_agent(agent_id):
        existing = record.parties.get(monitoring.supervisor_id)
        if existing is not None and existing.state in LIVE_STATES:
            continue
        supervisor = await tx.users.by_id(record.tenant_id, monitoring.supervisor_id)
        if supervisor is None or not await access.still_supervises(tx, supervisor, agent_id):
            continue
        nickname = monitoring.nickname or supervisor.user_name
        session.join_supervisor(ctx, supervisor.id, nickname, monitoring.mode)
        if monitoring.next_chat_only:
            await tx.supervision.delete(agent_id, supervisor.id)
