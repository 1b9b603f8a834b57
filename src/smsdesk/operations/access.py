"""The one place that decides who may see or touch what.

Everything is scoped to the caller's contact center (tenant): a session, user or queue of another
tenant is reported as not found, exactly like one that does not exist, so ids leak nothing.

Supervisors (role ``ROLE_SUPERVISOR``) act only on agents of the queues they supervise (the
``queue_supervisors`` relation, set with ``smsdesk queues supervise``); agents can do none of it.
"""

from __future__ import annotations

import msgspec

from smsdesk.domain import need_to_know
from smsdesk.domain.errors import DomainError, ErrorKind, not_found
from smsdesk.domain.model import Departure, PartyState, SessionRecord
from smsdesk.domain.userdata import UserDataValue
from smsdesk.operations.ports import ServiceNumber, Transaction, User

AGENT_ROLES = frozenset({"ROLE_AGENT", "ROLE_SUPERVISOR"})
SUPERVISOR_ROLE = "ROLE_SUPERVISOR"
ADMIN_ROLE = "ROLE_ADMIN"


def require_agent(user: User) -> None:
    if not AGENT_ROLES.intersection(user.roles):
        raise DomainError(ErrorKind.NO_PERMISSION, "The user is not an agent")


async def session_for_agent(tx: Transaction, user: User, session_id: str) -> SessionRecord:
    """A session the agent is (or was) a party of, in the agent's own tenant."""
    record = await tx.sessions.load(user.tenant_id, session_id)
    if record is None or user.id not in record.parties:
        raise not_found("SMS session not found")
    return record


async def departure_of(tx: Transaction, user: User, record: SessionRecord) -> Departure | None:
    """Where ``user`` left ``record``, if what they read must stop there (need-to-know). None for a
    party still in it, and for a supervisor of the session's queue: that queue is theirs to read."""
    party = record.parties.get(user.id)
    departure = party.departure if party is not None else None
    if departure is None or await _supervises_queue(tx, user, record.queue):
        return None
    return departure


async def as_seen_by(tx: Transaction, user: User, record: SessionRecord) -> SessionRecord:
    """The session as ``user`` may read it: whole, or for a former party as it stood when they left
    (``domain/need_to_know.py``)."""
    departure = await departure_of(tx, user, record)
    if departure is None:
        return record
    later = [
        e for e in await tx.user_data_audit.of_session(record.id) if e.version > departure.user_data_version
    ]
    user_data = need_to_know.user_data_before(
        record.user_data,
        ((e.key, None if e.old_value is None else _decode_value(e.old_value)) for e in reversed(later)),
    )
    comment = None
    if record.comment is not None and departure.last_index > 0:
        comment = need_to_know.comment_in(await tx.messages.read(record.id, 1, departure.last_index))
    return need_to_know.as_left(record, departure, user_data, comment)


_decode_value = msgspec.json.Decoder(UserDataValue).decode


async def _supervises_queue(tx: Transaction, user: User, queue: str) -> bool:
    return SUPERVISOR_ROLE in user.roles and queue in await tx.queues.supervised_by(user.tenant_id, user.id)


async def colleague(tx: Transaction, user: User, user_id_or_name: str) -> User:
    """Another agent of the same tenant, by id (or, as a convenience, by user name)."""
    target = await tx.users.by_id(user.tenant_id, user_id_or_name)
    if target is None:
        by_name = await tx.users.by_name(user_id_or_name)
        target = by_name if by_name is not None and by_name.tenant_id == user.tenant_id else None
    if target is None or not target.enabled:
        raise not_found(f"Target user not found: {user_id_or_name}")
    if not AGENT_ROLES.intersection(target.roles):
        raise DomainError(ErrorKind.INVALID_VALUE, "The target user is not an agent")
    return target


def require_supervisor(user: User) -> None:
    if SUPERVISOR_ROLE not in user.roles:
        raise DomainError(ErrorKind.NO_PERMISSION, "The user is not a supervisor")


async def supervised_agent(tx: Transaction, user: User, agent_id: str) -> User:
    """An agent the supervisor may monitor, coach, barge in on or intrude on: same tenant, and a
    member of a queue the supervisor supervises."""
    require_supervisor(user)
    agent = await tx.users.by_id(user.tenant_id, agent_id)
    if agent is None or not agent.enabled:
        raise not_found(f"User not found: {agent_id}")
    if agent.id == user.id:
        raise DomainError(ErrorKind.INVALID_VALUE, "A supervisor cannot supervise themselves")
    if not await tx.queues.supervises_agent(user.tenant_id, user.id, agent.id):
        raise DomainError(
            ErrorKind.NO_PERMISSION, f"{user.user_name} supervises no queue that {agent.user_name} serves"
        )
    return agent


async def still_supervises(tx: Transaction, supervisor: User, agent_id: str) -> bool:
    """Whether a stored monitoring may still be applied: the supervisor is enabled, still a
    supervisor, and still supervises a queue the agent serves (the relation may have changed)."""
    return (
        supervisor.enabled
        and SUPERVISOR_ROLE in supervisor.roles
        and await tx.queues.supervises_agent(supervisor.tenant_id, supervisor.id, agent_id)
    )


async def service_number_for_agent(tx: Transaction, user: User, requested: str | None) -> ServiceNumber:
    """The service number an agent may start a conversation from: one routed to a queue they serve
    (``requested``, or else the first such number)."""
    allowed = await tx.service_numbers.of_agent(user.tenant_id, user.id)
    if requested is None:
        if not allowed:
            raise DomainError(ErrorKind.NO_PERMISSION, "No service number is routed to a queue you serve")
        return allowed[0]
    for number in allowed:
        if number.number == requested:
            return number
    raise DomainError(
        ErrorKind.NO_PERMISSION,
        f"You may not send from service number {requested}: it is not routed to a queue you serve",
    )


async def session_of_supervised_agent(
    tx: Transaction, user: User, agent: User, session_id: str
) -> SessionRecord:
    """A session the (already checked) supervised agent is chatting in."""
    record = await tx.sessions.load(user.tenant_id, session_id)
    party = record.parties.get(agent.id) if record is not None else None
    if record is None or party is None or party.state is not PartyState.CHATTING:
        raise not_found("SMS session not found")
    return record


async def session_for_audit(tx: Transaction, user: User, session_id: str) -> SessionRecord:
    """A session whose user-data history the caller may read: one they are (or were) a party of,
    or, for a supervisor, any session of a queue they supervise."""
    require_agent(user)
    record = await tx.sessions.load(user.tenant_id, session_id)
    if record is None:
        raise not_found("SMS session not found")
    if user.id in record.parties or await _supervises_queue(tx, user, record.queue):
        return record
    raise not_found("SMS session not found")


def require_manager(user: User, what: str) -> None:
    """Supervisors and administrators manage a contact center's shared settings (standard
    responses, queues' hours and replies); agents only use them."""
    if SUPERVISOR_ROLE not in user.roles and ADMIN_ROLE not in user.roles:
        raise DomainError(ErrorKind.NO_PERMISSION, f"{what} are managed by supervisors and administrators")


async def managed_queues(tx: Transaction, user: User) -> list[str]:
    """The queues whose hours and replies ``user`` may read and change: every queue of their contact
    center for an administrator, the queues they supervise for a supervisor."""
    require_manager(user, "Queues' opening hours and automatic replies")
    if ADMIN_ROLE in user.roles:
        return sorted(queue for tenant_id, queue in await tx.queues.all() if tenant_id == user.tenant_id)
    return await tx.queues.supervised_by(user.tenant_id, user.id)


async def managed_queue(tx: Transaction, user: User, queue: str) -> str:
    """One queue ``user`` may manage: an unknown queue (or another contact center's) is not found; a
    supervisor's queue they do not supervise is refused."""
    require_manager(user, "Queues' opening hours and automatic replies")
    if not await tx.queues.exists(user.tenant_id, queue):
        raise not_found(f"Queue not found: {queue}")
    if ADMIN_ROLE not in user.roles and queue not in await tx.queues.supervised_by(user.tenant_id, user.id):
        raise DomainError(ErrorKind.NO_PERMISSION, f"{user.user_name} does not supervise queue {queue}")
    return queue
