"""What administration keeps: the audit log of changes, and the customer's data as a whole (its
erasure, its retention, its export)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from smsdesk.domain.model import SessionRecord


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One administrative change: who (``actor_id`` None: the command line), what, when, and the
    target before and after, as JSON text (never a password)."""

    tenant_id: str
    at_ms: int
    actor_id: str | None
    actor_name: str
    action: str
    target_type: str
    target_id: str | None
    before: str | None
    after: str | None
    id: int = 0


class AdminAudit(Protocol):
    """``admin_audit``: append-only, read newest first."""

    async def record(self, entry: AuditEntry) -> None: ...
    async def newest(self, tenant_id: str, offset: int, limit: int) -> list[AuditEntry]:
        """Entries of one contact center, newest first, skipping ``offset``."""
        ...

    async def count(self, tenant_id: str) -> int: ...


@dataclass(frozen=True, slots=True)
class CustomerSession:
    id: str
    phase: str
    live_parties: int
    """How many agents are still offered, chatting in or wrapping up the session."""


@dataclass(frozen=True, slots=True)
class Erased:
    """What an erasure or a retention pass removed."""

    sessions: int = 0
    messages: int = 0
    notifications: int = 0

    def __add__(self, other: Erased) -> Erased:
        return Erased(
            self.sessions + other.sessions,
            self.messages + other.messages,
            self.notifications + other.notifications,
        )


class CustomerData(Protocol):
    """A customer's conversations as a whole, across the tables that hold them: the sessions, their
    message logs and parties, user-data audit trails, outbound SMS, the outbox's notifications and
    the simulator's handsets."""

    async def sessions_of(self, tenant_id: str, customer_number: str) -> list[CustomerSession]: ...
    async def delete_sessions(self, session_ids: Sequence[str]) -> Erased:
        """The sessions with everything recorded about them (facts stay: they hold no text)."""
        ...

    async def delete_notifications_mentioning(self, tenant_id: str, needles: Sequence[bytes]) -> int:
        """Outbox rows of the contact center whose payload contains any of ``needles``."""
        ...

    async def delete_handset_messages(self, number: str, before_ms: int | None = None) -> int:
        """The simulator's handset messages to or from ``number`` (received before ``before_ms``)."""
        ...

    async def erase_consent(self, customer_number: str, service_numbers: Sequence[str]) -> None:
        """The number leaves ``sms_consent`` for these service numbers; an opt-out survives as a keyed digest of the number
        (the key in ``cluster_secrets``), which the consent checks still find but nobody can read
        back as the number."""
        ...

    async def finished_before(
        self, tenant_id: str, before_ms: int, after: tuple[int, str] | None, limit: int
    ) -> list[tuple[str, int, int, str]]:
        """``(id, received_ms, last_activity_ms, customer_number)`` of finished sessions received
        before ``before_ms``, after the ``(received_ms, id)`` key, oldest first
        (``last_activity_ms``: the last log entry's time, or ``received_ms``)."""
        ...

    async def received_between(
        self, tenant_id: str | None, from_ms: int, to_ms: int, after: tuple[int, str] | None, limit: int
    ) -> list[SessionRecord]:
        """Sessions received in ``[from_ms, to_ms)`` (of one contact center, or all), oldest first,
        after the ``(received_ms, id)`` key."""
        ...

    async def count_received_between(self, tenant_id: str | None, from_ms: int, to_ms: int) -> int: ...
