"""The customer's data: erasure on request, retention per contact center, and export.

- **Erasure** (``erase_customer``): every session of the number in the contact center, with its
  messages, parties, user-data audit trail and outbound SMS, the notifications that mention it and
  the simulator's handset, removed in one transaction; an opt-out (STOP) survives as a keyed digest
  (``storage/digests.py``). Then the store makes the deleted bytes unreadable in its files before
  the request is answered (SQLite: ``secure_delete`` zeroes them as they go, and the write-ahead log,
  whose old frames still hold them, is checkpointed and truncated). The audit log records the
  erasure without the number.
- **Retention** (``apply_retention``): finished sessions whose last activity is older than the
  contact center's ``retention_days`` are deleted the same way, in bounded batches, by the
  cluster's background work (``RetentionSweep``).
- **Export** (``transcripts``): sessions received in a period with their transcript, user data and
  disposition, read in pages, for ``smsdesk export``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from smsdesk.domain.clock import now_ms
from smsdesk.domain.errors import DomainError, ErrorKind, invalid_value, not_found
from smsdesk.domain.model import Message, SessionRecord
from smsdesk.operations import phone_numbers
from smsdesk.operations.audit import record_change
from smsdesk.operations.background import BackgroundLoop
from smsdesk.operations.ports import Erased, User
from smsdesk.operations.services import Services

log = logging.getLogger("smsdesk.customers")

Scrub = Callable[[], Awaitable[str]]
"""Makes deleted rows unreadable in the database files now (SQLite: checkpoint and truncate the
write-ahead log); returns what it did."""

POSTGRES_NOTE = (
    "rows deleted; PostgreSQL keeps the bytes of deleted rows in its table files until (auto)vacuum "
    "frees the space and new rows overwrite it, and in its write-ahead log until those segments are "
    "recycled (docs/reliability.md, Erasure)"
)
RETENTION_BATCH = 200
"""Sessions one retention transaction deletes at most: a large backlog is worked off in steps that
never hold the database for long."""
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class ErasureReport:
    sessions: int
    messages: int
    notifications: int
    opt_out_kept: bool
    storage: str
    """What the database did to leave no readable trace (SQLite's checkpoint), or what it will do."""


CUSTOMER_NUMBER = re.compile(r"\+?[0-9]{3,15}")


def _number(services: Services, number: str) -> str:
    if not number.strip():
        raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: phoneNumber")
    try:
        normalised = phone_numbers.normalise(number, services.settings.default_region)
    except phone_numbers.InvalidPhoneNumber as error:
        raise invalid_value(str(error)) from None
    if not CUSTOMER_NUMBER.fullmatch(normalised):
        raise invalid_value(
            f"Invalid phone number {number[:40]!r}: a customer's number in E.164, e.g. +15551230000"
        )
    return normalised


async def erase_customer(
    services: Services, tenant: str, number: str, actor: User | None, scrub: Scrub | None
) -> ErasureReport:
    """Erase everything the contact center ``tenant`` (id or name) holds about the customer
    ``number``. Refused while an agent still has one of their sessions (offered, chatting or in
    wrap-up): ending it first is the agents' call."""
    customer = _number(services, number)
    async with services.work() as work:
        tx = work.tx
        tenant_id = await tx.tenants.by_name(tenant)
        if tenant_id is None:
            raise not_found(f"Contact center not found: {tenant}")
        sessions = await tx.customer_data.sessions_of(tenant_id, customer)
        live = [s.id for s in sessions if s.phase != "done" or s.live_parties]
        if live:
            raise DomainError(
                ErrorKind.IN_USE,
                f"The customer has {len(live)} conversation(s) in progress (SMS session {live[0]}): "
                "complete them first; nothing was erased",
            )
        ids = [s.id for s in sessions]
        erased = await tx.customer_data.delete_sessions(ids)
        needles = [f'"{customer}"'.encode(), *(f"/smssessions/{i}".encode() for i in ids)]
        notifications = await tx.customer_data.delete_notifications_mentioning(tenant_id, needles)
        await tx.customer_data.delete_handset_messages(customer)
        own_numbers = [n.number for n in await tx.service_numbers.of_tenant(tenant_id)]
        opted_out = False
        for service_number in own_numbers:
            opted_out = opted_out or await tx.consent.opted_out(service_number, customer)
        await tx.customer_data.erase_consent(customer, own_numbers)
        # The record says that an erasure happened and how much it removed, never whose.
        await record_change(
            tx,
            tenant_id,
            actor,
            "customer.erase",
            "customer",
            None,
            None,
            {
                "sessions": erased.sessions,
                "messages": erased.messages,
                "notifications": notifications,
                "optOutKept": opted_out,
            },
        )
    storage = await scrub() if scrub is not None else POSTGRES_NOTE
    log.info(
        "erased a customer of %s on request: %d session(s), %d message(s), %d notification(s); %s",
        tenant_id,
        erased.sessions,
        erased.messages,
        notifications,
        storage,
    )
    return ErasureReport(erased.sessions, erased.messages, notifications, opted_out, storage)


async def apply_retention(
    services: Services, scrub: Scrub | None = None, batch: int = RETENTION_BATCH
) -> Erased:
    """One pass over every contact center with a retention period: finished sessions whose last
    activity is older than it are deleted with everything recorded about them, ``batch`` at a time."""
    total = Erased()
    async with services.store.transaction() as tx:
        centers = await tx.tenants.with_retention()
    for center in centers:
        assert center.retention_days is not None
        cutoff = now_ms() - center.retention_days * DAY_MS
        after: tuple[int, str] | None = None
        while True:
            async with services.work() as work:
                tx = work.tx
                found = await tx.customer_data.finished_before(center.id, cutoff, after, batch)
                if not found:
                    break
                after = (found[-1][1], found[-1][0])
                # A conversation that started long ago but ended lately waits for its own turn.
                doomed = [(session_id, customer) for session_id, _, last, customer in found if last < cutoff]
                if doomed:
                    erased = await tx.customer_data.delete_sessions([i for i, _ in doomed])
                    notes = await tx.customer_data.delete_notifications_mentioning(
                        center.id, [f"/smssessions/{i}".encode() for i, _ in doomed]
                    )
                    # The simulator's record of these conversations goes with them (a test tool's
                    # handsets; a real customer's phone is theirs).
                    for customer in {c for _, c in doomed}:
                        await tx.customer_data.delete_handset_messages(customer, cutoff)
                    total = total + erased + Erased(notifications=notes)
            if len(found) < batch:
                break
    if total.sessions:
        storage = await scrub() if scrub is not None else POSTGRES_NOTE
        log.info(
            "retention: deleted %d finished session(s) (%d message(s)); %s",
            total.sessions,
            total.messages,
            storage,
        )
    return total


class RetentionSweep:
    """The cluster's background work: ``apply_retention`` every ``interval_s``."""

    def __init__(self, services: Services, interval_s: float, scrub: Scrub | None = None) -> None:
        self.services = services
        self.scrub = scrub
        self.loop = BackgroundLoop("smsdesk-retention", self.sweep, interval_s, log)

    async def sweep(self) -> None:
        await apply_retention(self.services, self.scrub)


def _message_json(message: Message) -> dict[str, Any]:
    return {
        "index": message.index,
        "type": message.type.value,
        "from": message.sender.nickname,
        "participantType": message.sender.type,
        "visibility": message.visibility.value,
        "timestampMs": message.timestamp_ms,
        "text": message.text if message.text is not None else message.notice_text or message.url,
    }


def transcript_json(record: SessionRecord, messages: list[Message]) -> dict[str, Any]:
    """One exported conversation: what it was, its user data (the disposition among them) and its
    transcript."""
    return {
        "id": record.id,
        "contactCenter": record.tenant_id,
        "queue": record.queue,
        "serviceNumber": record.service_number,
        "customerNumber": record.customer_number,
        "chatType": record.chat_type,
        "receivedMs": record.received_ms,
        "phase": record.phase.value,
        "disposition": record.user_data.get("DispositionCode"),
        "comment": record.comment,
        "userData": record.user_data,
        "messages": [_message_json(m) for m in messages],
    }


async def count_transcripts(services: Services, tenant: str | None, from_ms: int, to_ms: int) -> int:
    async with services.store.transaction() as tx:
        tenant_id = await _tenant_id(tx.tenants.by_name, tenant)
        return await tx.customer_data.count_received_between(tenant_id, from_ms, to_ms)


async def _tenant_id(by_name: Callable[[str], Awaitable[str | None]], tenant: str | None) -> str | None:
    if tenant is None:
        return None
    tenant_id = await by_name(tenant)
    if tenant_id is None:
        raise not_found(f"Contact center not found: {tenant}")
    return tenant_id


async def transcripts(
    services: Services, tenant: str | None, from_ms: int, to_ms: int, page: int = 100
) -> AsyncIterator[dict[str, Any]]:
    """Sessions received in ``[from_ms, to_ms)``, oldest first, read ``page`` at a time (each page in
    a short transaction of its own, so an export never holds the database)."""
    after: tuple[int, str] | None = None
    async with services.store.transaction() as tx:
        tenant_id = await _tenant_id(tx.tenants.by_name, tenant)
    while True:
        async with services.store.transaction() as tx:
            records = await tx.customer_data.received_between(tenant_id, from_ms, to_ms, after, page)
            pages = [(r, await tx.messages.read(r.id, 1, 0)) for r in records]
        for record, messages in pages:
            yield transcript_json(record, messages)
        if len(records) < page:
            return
        after = (records[-1].received_ms, records[-1].id)
