"""SMS sessions (the aggregate, stored whole) and their message logs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from smsdesk.domain.model import Message, SessionRecord


class Sessions(Protocol):
    """``sms_sessions`` and the ``session_parties`` mirror ("my sessions", routing load)."""

    async def load(self, tenant_id: str, session_id: str) -> SessionRecord | None:
        """The session, to be changed: its row stays locked until the transaction ends, so two
        operations on one session (on any nodes) run one after the other and neither overwrites
        the other."""
        ...

    async def open_for(
        self, tenant_id: str, service_number: str, customer_number: str
    ) -> SessionRecord | None:
        """The customer's open conversation with this number, if any. Locks the (contact center,
        number, customer) triple until the transaction ends, so two messages of one customer
        arriving at once find or create one session, not two."""
        ...

    async def save(
        self, record: SessionRecord, next_deadline_ms: int | None, parties_changed: bool = True
    ) -> None:
        """Insert or replace the session; ``next_deadline_ms`` is its pending offer's deadline
        (routing and expiry read it without the body). The parties' mirror is written only when
        ``parties_changed``."""
        ...

    async def of_user(self, tenant_id: str, user_id: str) -> list[SessionRecord]:
        """The sessions the user is a live party of (invited, chatting, wrapping up), oldest first."""
        ...

    async def waiting(self, tenant_id: str, queue: str | None) -> list[str]: ...
    async def waiting_since(self, tenant_id: str, queue: str) -> list[int]:
        """Since when each session waiting in the queue has waited; locks nothing."""
        ...

    async def unoffered(self, tenant_id: str) -> list[tuple[str, str]]:
        """(id, queue) of the waiting sessions with no invitation out, oldest first."""
        ...

    async def offer_deadlines(self) -> list[tuple[str, str, int]]:
        """(tenant_id, id, deadline) of the sessions with an offer out, soonest first."""
        ...

    async def offers_to_absent(self, seen_before_ms: int) -> list[tuple[str, str, str]]:
        """``(tenant_id, session_id, user_id)`` of offers waiting for agents not seen since then."""
        ...

    async def live_counts(self, tenant_id: str) -> dict[str, int]:
        """Per user, how many sessions they are a live party of."""
        ...

    async def of_customer(
        self, tenant_id: str, customer_number: str, received_before_ms: int, offset: int, limit: int
    ) -> tuple[list[SessionRecord], int]:
        """The customer's sessions received before ``received_before_ms`` in the contact center,
        newest first (``offset``, at most ``limit``), and how many there are in all. Locks nothing."""
        ...

    async def awaiting_waiting_reply(self, tenant_id: str, queue: str, received_before_ms: int) -> list[str]:
        """Ids of the queue's waiting sessions received before then that have not had their waiting
        reply (nor been ruled out of one), oldest first."""
        ...


class Messages(Protocol):
    """Each session's message log, one row per entry, append-only."""

    async def append(self, session_id: str, messages: Sequence[Message]) -> None: ...
    async def read(self, session_id: str, start_index: int, count: int) -> list[Message]:
        """Entries from ``start_index`` on, at most ``count`` (0: all), in order."""
        ...
