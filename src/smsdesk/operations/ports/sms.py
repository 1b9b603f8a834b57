"""SMS: the outbound queue, customers' consent, and the inbound messages already taken in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutboundRecord:
    id: int
    tenant_id: str
    session_id: str
    message_index: int
    service_number: str
    customer_number: str
    text: str
    status: str
    attempts: int
    next_attempt_ms: int
    provider_message_id: str | None
    error: str | None
    encoding: str = "GSM-7"
    segments: int = 1
    error_code: str | None = None
    connector: str | None = None


class OutboundQueue(Protocol):
    """``sms_outbound``: what agents sent, queued in their operation's transaction and sent by the
    dispatcher outside any (docs/architecture.md §8)."""

    async def enqueue(
        self,
        tenant_id: str,
        session_id: str,
        message_index: int,
        service_number: str,
        customer_number: str,
        text: str,
        now_ms: int,
        encoding: str,
        segments: int,
    ) -> int: ...
    async def due(self, now_ms: int, limit: int) -> list[OutboundRecord]:
        """Pending messages whose next attempt is due, oldest first."""
        ...

    async def update(
        self,
        outbound_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_ms: int,
        provider_message_id: str | None,
        error: str | None,
        error_code: str | None = None,
        connector: str | None = None,
    ) -> None:
        """A provider id or connector already recorded is kept when None is given."""
        ...

    async def next_attempt_ms(self) -> int | None:
        """When the soonest pending message is due (None: nothing pending)."""
        ...

    async def get(self, outbound_id: int) -> OutboundRecord | None: ...
    async def by_provider_id(self, connector: str, provider_message_id: str) -> OutboundRecord | None: ...
    async def of_session(self, session_id: str) -> list[OutboundRecord]: ...


class Consent(Protocol):
    """``sms_consent``: whether a customer opted out of a service number (STOP and its kin)."""

    async def opted_out(self, service_number: str, customer_number: str) -> bool: ...
    async def set(
        self, service_number: str, customer_number: str, *, opted_out: bool, reason: str, now_ms: int
    ) -> None: ...


class InboundSeen(Protocol):
    """``sms_inbound_seen``: intake is idempotent on (connector, provider message id)."""

    async def record(self, connector: str, provider_message_id: str) -> bool:
        """True the first time this id is recorded, False for a repeat."""
        ...
