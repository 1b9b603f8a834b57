"""**Extension**: a customer's earlier conversations, beside the live one.

``GET /api/v2/me/smssessions/{id}/history``: the sessions of the same customer number in the same
contact center received before this one, newest first, each with its transcript as the caller may
see it. Readable by whoever may read session ``{id}`` (a party of it, or a supervisor of its
queue): what an agent about to answer a customer needs is what was said to them before.
"""

from __future__ import annotations

from dataclasses import dataclass

from smsdesk.domain.errors import invalid_value
from smsdesk.domain.model import Message, SessionRecord, Visibility
from smsdesk.operations import access
from smsdesk.operations.ports import User
from smsdesk.operations.services import Services

HISTORY_DEFAULT_COUNT = 20
HISTORY_MAX_COUNT = 100
"""At most this many earlier sessions per answer (each carries its transcript); page with startIndex."""


@dataclass(frozen=True, slots=True)
class EarlierSession:
    record: SessionRecord
    messages: list[Message]
    agents: list[str]  # user names of those who accepted it, in the order they joined


async def customer_history(
    services: Services, user: User, session_id: str, start_index: int, count: int
) -> tuple[list[EarlierSession], int]:
    """The page of earlier sessions (``start_index`` 1-based, newest first) and how many there are."""
    access.require_agent(user)
    if not 1 <= count <= HISTORY_MAX_COUNT:
        raise invalid_value(f"Invalid value for parameter count: {count} (from 1 to {HISTORY_MAX_COUNT})")
    offset = max(start_index, 1) - 1
    async with services.store.transaction() as tx:
        current = await access.session_for_audit(tx, user, session_id)
        records, total = await tx.sessions.of_customer(
            user.tenant_id, current.customer_number, current.received_ms, offset, count
        )
        supervised = (
            set(await tx.queues.supervised_by(user.tenant_id, user.id))
            if access.SUPERVISOR_ROLE in user.roles
            else set()
        )
        names = {u.id: u.user_name for u in await tx.users.all(user.tenant_id)}
        earlier = []
        for record in records:
            # Entries only supervisors see (a monitoring supervisor's comings and goings) stay theirs:
            # shown to a supervisor of that session's queue, never to an agent.
            supervisor = record.queue in supervised
            messages = [
                m
                for m in await tx.messages.read(record.id, 1, 0)
                if m.visibility is not Visibility.SUPERVISORS or supervisor
            ]
            agents = [
                names.get(party.user_id, party.user_id)
                for party in record.parties.values()
                if party.participant_id is not None and party.supervision is None
            ]
            earlier.append(EarlierSession(record, messages, agents))
    return earlier, total
