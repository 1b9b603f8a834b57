"""Builders for domain-level tests: a controllable clock, and sessions in the usual situations.

Each builder returns a *fresh* :class:`SmsSession` wrapper (empty ``effects`` and ``new_messages``)
around the record, the way the operations layer loads a session for each request, so a test sees
only the effects of the step it is checking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

from smsdesk.domain.model import (
    DomainContext,
    Message,
    OfferKind,
    Participant,
    Party,
    PartyState,
    SessionRecord,
)
from smsdesk.domain.session import SmsSession
from smsdesk.domain.userdata import UserData

QUEUE = "sms-support"
SERVICE_NUMBER = "+15550001111"
CUSTOMER_NUMBER = "+15551230000"
OFFER_TIMEOUT_MS = 30_000


@dataclass
class World:
    """The outside of the domain: a clock that only moves when told to, and participant ids."""

    now_ms: int = 1_700_000_000_000
    offer_timeout_ms: int = OFFER_TIMEOUT_MS
    _ids: count[int] = field(default_factory=lambda: count(1))

    def ctx(self) -> DomainContext:
        return DomainContext(
            now_ms=self.now_ms,
            new_participant_id=lambda: f"P{next(self._ids):015X}",
            offer_timeout_ms=self.offer_timeout_ms,
        )

    def advance(self, ms: int) -> None:
        self.now_ms += ms


def fresh(session: SmsSession) -> SmsSession:
    """The same record in a new wrapper, as the next request would load it."""
    return SmsSession(session.record)


def inbound(world: World, text: str = "Hello, I need help", user_data: UserData | None = None) -> SmsSession:
    return SmsSession.open_inbound(
        world.ctx(),
        session_id="S0001",
        tenant_id="T1",
        queue=QUEUE,
        service_number=SERVICE_NUMBER,
        customer_number=CUSTOMER_NUMBER,
        text=text,
        user_data=user_data if user_data is not None else {"Subject": "Customer support"},
    )


def offered(world: World, agent: str = "alice") -> SmsSession:
    """A new session routed to ``agent``, who has not answered yet."""
    session = fresh(inbound(world))
    session.offer(world.ctx(), agent, OfferKind.ROUTE)
    return fresh(session)


def owned_by(world: World, agent: str = "alice") -> SmsSession:
    """A session the routed ``agent`` accepted: sole owner, Chatting."""
    session = offered(world, agent)
    session.accept(world.ctx(), agent, agent.title())
    return fresh(session)


def joined(world: World, session: SmsSession, by: str, target: str, kind: OfferKind) -> SmsSession:
    """``by`` offers ``target`` a transfer/invite/consult and ``target`` accepts."""
    session = fresh(session)
    session.offer_to_agent(world.ctx(), by, target, kind)
    session = fresh(session)
    session.accept(world.ctx(), target, target.title())
    return fresh(session)


def conference(world: World, owner: str = "alice", invitee: str = "bob") -> SmsSession:
    return joined(world, owned_by(world, owner), owner, invitee, OfferKind.INVITE)


def consultation(world: World, owner: str = "alice", consultant: str = "bob") -> SmsSession:
    return joined(world, owned_by(world, owner), owner, consultant, OfferKind.CONSULT)


def pending(world: World, kind: OfferKind, owner: str = "alice", target: str = "bob") -> SmsSession:
    session = owned_by(world, owner)
    session.offer_to_agent(world.ctx(), owner, target, kind)
    return fresh(session)


def participant_of(record: SessionRecord, user_id: str) -> Participant:
    party = record.parties[user_id]
    matches = [p for p in record.participants if p.participant_id == party.participant_id]
    assert len(matches) == 1, f"{user_id} should have exactly one participant"
    return matches[0]


def state_of(session: SmsSession, user_id: str) -> PartyState:
    party: Party = session.record.parties[user_id]
    return party.state


def last_entry(session: SmsSession) -> Message:
    return session.new_messages[-1]
