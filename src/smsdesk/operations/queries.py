"""Reads: the agent's sessions, one session, its message log, the agent's channels."""

from __future__ import annotations

from smsdesk.domain.errors import invalid_value
from smsdesk.domain.model import LIVE_STATES, Message, SessionRecord, visible_to
from smsdesk.operations import access
from smsdesk.operations.ports import AgentChannel, OutboundRecord, User, UserDataAuditEntry
from smsdesk.operations.services import Services


async def my_sessions(services: Services, user: User) -> list[SessionRecord]:
    """The agent's live sessions (offered, chatting, or left and awaiting completion)."""
    async with services.store.transaction() as tx:
        records = await tx.sessions.of_user(user.tenant_id, user.id)
    return [r for r in records if r.parties[user.id].state in LIVE_STATES]


async def my_session(services: Services, user: User, session_id: str) -> SessionRecord:
    """The session as the caller may read it (a former party: as it stood when they left)."""
    async with services.store.transaction() as tx:
        return await access.as_seen_by(tx, user, await access.session_for_agent(tx, user, session_id))


async def session_messages(
    services: Services, user: User, session_id: str, start_index: int, count: int
) -> tuple[list[Message], dict[int, OutboundRecord]]:
    """The log entries, and the outbound SMS behind the agents' customer-visible ones (by index)."""
    if start_index < 0 or count < 0:
        raise invalid_value("startIndex and count must be zero or positive integers")
    start_index = max(start_index, 1)
    async with services.store.transaction() as tx:
        record = await access.session_for_agent(tx, user, session_id)
        viewer = record.parties[user.id]
        departure = await access.departure_of(tx, user, record)
        if departure is not None:
            # A former party reads up to the entry that ended its part, never what came after.
            readable = departure.last_index - start_index + 1
            if readable <= 0:
                return [], {}
            count = readable if count == 0 else min(count, readable)
        # Entries only supervisors may see are skipped for agents (indexes keep their gaps).
        messages = [
            m
            for m in await tx.messages.read(session_id, start_index, count)
            if visible_to(m.visibility, viewer)
        ]
        outbound = {record.message_index: record for record in await tx.outbound.of_session(session_id)}
    return messages, outbound


async def my_channels(services: Services, user: User) -> list[AgentChannel]:
    async with services.store.transaction() as tx:
        return await tx.agents.channels(user.id)


async def colleagues(services: Services, user: User) -> list[User]:
    async with services.store.transaction() as tx:
        return [u for u in await tx.users.all(user.tenant_id) if u.enabled]


async def user_data_audit(
    services: Services, user: User, session_id: str
) -> tuple[SessionRecord, list[UserDataAuditEntry], dict[str, User]]:
    """**Extension**: every userData key change of a session, oldest first, with the users who made
    them (by id). Readable by the session's parties and the supervisors of its queue."""
    async with services.store.transaction() as tx:
        record = await access.as_seen_by(tx, user, await access.session_for_audit(tx, user, session_id))
        # A former party's record stops at the version it left at (need-to-know).
        entries = [
            e for e in await tx.user_data_audit.of_session(record.id) if e.version <= record.user_data_version
        ]
        authors = {u.id: u for u in await tx.users.all(user.tenant_id)}
    return record, entries, authors


async def colleagues_with_channels(services: Services, user: User) -> list[tuple[User, list[AgentChannel]]]:
    """The colleagues and their channel states, so a desktop can show who is Ready before a hand-over."""
    async with services.store.transaction() as tx:
        return [(u, await tx.agents.channels(u.id)) for u in await tx.users.all(user.tenant_id) if u.enabled]
