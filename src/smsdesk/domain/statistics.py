"""Live numbers for supervisors, from facts: what happened to a session, read off its change.

A change of a session is compared with the session as it was loaded; each thing a contact center
counts (a session entering a queue, an offer, its acceptance, rejection or withdrawal, a session
abandoned or completed) becomes a :class:`SessionFact`. Facts are stored with the change, so the
numbers computed from them agree on every node and survive restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smsdesk.domain.model import OfferKind, PartyState, Phase, SessionRecord


class FactKind(StrEnum):
    ENTERED = "entered"  # the session started waiting in the queue (new, or placed back)
    OFFERED = "offered"  # routing offered it to an agent
    ACCEPTED = "accepted"  # the agent accepted the offer; duration = time it had waited in the queue
    REJECTED = "rejected"  # the agent rejected the offer (or logged out with it pending)
    REVOKED = "revoked"  # the offer was withdrawn unanswered (offer timeout)
    ABANDONED = "abandoned"  # the session ended while waiting, never accepted (customer opted out)
    COMPLETED = "completed"  # the interaction ended; duration = handle time since it was answered
    AGENT_STATE = "agent_state"  # an agent's state on the SMS channel changed (detail = the state)
    CLOSED_REPLY = "closed_reply"  # the customer got the queue's automatic reply for closed hours
    WAITING_REPLY = "waiting_reply"  # the customer got the queue's automatic reply for a long wait


AUTO_REPLY_FACTS = {"closed": FactKind.CLOSED_REPLY, "waiting": FactKind.WAITING_REPLY}


@dataclass(frozen=True, slots=True)
class SessionFact:
    kind: FactKind
    queue: str
    user_id: str | None = None
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """What facts are derived from: the session as it was before a change."""

    phase: Phase
    queue: str
    owner: str | None
    answered_ms: int | None
    offers: dict[str, tuple[PartyState, OfferKind | None]]
    auto_replies: tuple[str, ...] = ()

    @classmethod
    def of(cls, record: SessionRecord) -> SessionSnapshot:
        return cls(
            record.phase,
            record.queue,
            record.owner,
            record.answered_ms,
            {uid: (party.state, party.offer) for uid, party in record.parties.items()},
            tuple(record.auto_replies),
        )


def session_facts(before: SessionSnapshot | None, after: SessionRecord, now_ms: int) -> list[SessionFact]:
    """The facts of one change (``before`` None: the session is new)."""
    facts: list[SessionFact] = []
    was = before.phase if before is not None else None
    if after.phase is Phase.WAITING and was is not Phase.WAITING:
        facts.append(SessionFact(FactKind.ENTERED, after.queue))
    earlier = before.offers if before is not None else {}
    for user_id, party in after.parties.items():
        old_state, old_offer = earlier.get(user_id, (None, None))
        was_routed_offer = old_state is PartyState.INVITED and old_offer is OfferKind.ROUTE
        if party.state is PartyState.INVITED and party.offer is OfferKind.ROUTE and not was_routed_offer:
            facts.append(SessionFact(FactKind.OFFERED, after.queue, user_id))
        elif was_routed_offer and party.state is PartyState.CHATTING:
            waited = now_ms - (after.waiting_since_ms or after.received_ms)
            facts.append(SessionFact(FactKind.ACCEPTED, after.queue, user_id, max(waited, 0)))
        elif was_routed_offer and party.state is PartyState.COMPLETED:
            facts.append(SessionFact(FactKind.REJECTED, after.queue, user_id))
        elif was_routed_offer and party.state is PartyState.REVOKED:
            facts.append(SessionFact(FactKind.REVOKED, after.queue, user_id))
    if after.phase is Phase.DONE and was is Phase.WAITING:
        facts.append(SessionFact(FactKind.ABANDONED, after.queue))
    if after.phase is Phase.DONE and before is not None and was is Phase.ACTIVE:
        handled = now_ms - before.answered_ms if before.answered_ms is not None else None
        facts.append(SessionFact(FactKind.COMPLETED, before.queue, before.owner, handled))
    replied_before = before.auto_replies if before is not None else ()
    for kind in after.auto_replies:
        if kind not in replied_before and kind in AUTO_REPLY_FACTS:
            facts.append(SessionFact(AUTO_REPLY_FACTS[kind], after.queue))
    return facts


@dataclass(frozen=True, slots=True)
class FactTotal:
    """Facts of one kind in a period: how many, their summed duration, and how many lasted at
    most the service-level threshold."""

    kind: str
    count: int
    duration_sum_ms: int
    within_threshold: int


@dataclass(frozen=True, slots=True)
class QueueStatistics:
    queue: str
    waiting: int
    longest_wait_ms: int
    entered: int
    offered: int
    accepted: int
    rejected: int
    revoked: int
    abandoned: int
    completed: int
    average_time_to_accept_ms: int | None
    average_handle_time_ms: int | None
    service_level: float | None  # accepted within the threshold / (accepted + abandoned)
    service_level_threshold_ms: int
    closed_replies: int = 0  # automatic replies sent because the queue was closed
    waiting_replies: int = 0  # automatic replies sent because a customer waited long


def queue_statistics(
    queue: str, totals: list[FactTotal], waiting_since_ms: list[int], now_ms: int, threshold_ms: int
) -> QueueStatistics:
    by_kind = {total.kind: total for total in totals}

    def count(kind: FactKind) -> int:
        total = by_kind.get(kind.value)
        return total.count if total else 0

    def average(kind: FactKind) -> int | None:
        total = by_kind.get(kind.value)
        return round(total.duration_sum_ms / total.count) if total and total.count else None

    accepted = count(FactKind.ACCEPTED)
    abandoned = count(FactKind.ABANDONED)
    accepted_total = by_kind.get(FactKind.ACCEPTED.value)
    within = accepted_total.within_threshold if accepted_total else 0
    return QueueStatistics(
        queue=queue,
        waiting=len(waiting_since_ms),
        longest_wait_ms=max((now_ms - since for since in waiting_since_ms), default=0),
        entered=count(FactKind.ENTERED),
        offered=count(FactKind.OFFERED),
        accepted=accepted,
        rejected=count(FactKind.REJECTED),
        revoked=count(FactKind.REVOKED),
        abandoned=abandoned,
        completed=count(FactKind.COMPLETED),
        average_time_to_accept_ms=average(FactKind.ACCEPTED),
        average_handle_time_ms=average(FactKind.COMPLETED),
        service_level=within / (accepted + abandoned) if accepted + abandoned else None,
        service_level_threshold_ms=threshold_ms,
        closed_replies=count(FactKind.CLOSED_REPLY),
        waiting_replies=count(FactKind.WAITING_REPLY),
    )


@dataclass(frozen=True, slots=True)
class AgentStatistics:
    user_id: str
    user_name: str
    state: str  # Ready, NotReady or LoggedOut (on the SMS channel)
    time_in_state_ms: int | None  # None: no state change was ever recorded
    live_sessions: int
    handled_today: int
