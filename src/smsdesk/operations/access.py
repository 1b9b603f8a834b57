"""The one place that decides who may see or touch what.

Everything is scoped to the caller's contact center (tenant): a session, user or queue of another
tenant is reported as not found, exactly like one that does not exist, so ids leak nothing.
"""

from __future__ import annotations

from smsdesk.domain.errors import DomainError, ErrorKind, not_found
from smsdesk.domain.model import SessionRecord
from smsdesk.operations.ports import Transaction, User

AGENT_ROLES = frozenset({"ROLE_AGENT", "ROLE_SUPERVISOR"})


def require_agent(user: User) -> None:
    if not AGENT_ROLES.intersection(user.roles):
        raise DomainError(ErrorKind.NO_PERMISSION, "The user is not an agent")


async def session_for_agent(tx: Transaction, user: User, session_id: str) -> SessionRecord:
    """A session the agent is (or was) a party of, in the agent's own tenant."""
    record = await tx.load_session(user.tenant_id, session_id)
    if record is None or user.id not in record.parties:
        raise not_found("SMS session not found")
    return record


async def colleague(tx: Transaction, user: User, user_id_or_name: str) -> User:
    """Another agent of the same tenant, by id (or, as a convenience, by user name)."""
    target = await tx.user_by_id(user.tenant_id, user_id_or_name)
    if target is None:
        by_name = await tx.user_by_name(user_id_or_name)
        target = by_name if by_name is not None and by_name.tenant_id == user.tenant_id else None
    if target is None or not target.enabled:
        raise not_found(f"Target user not found: {user_id_or_name}")
    if not AGENT_ROLES.intersection(target.roles):
        raise DomainError(ErrorKind.INVALID_VALUE, "The target user is not an agent")
    return target
