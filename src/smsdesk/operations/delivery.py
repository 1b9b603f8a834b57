"""Delivery status of agents' messages: telling the session's agents how each SMS fared."""

from __future__ import annotations

import msgspec

from smsdesk.domain.model import PartyState
from smsdesk.gws import notifications as payloads
from smsdesk.gws.representation import delivery_json
from smsdesk.operations.ports import Notification, OutboundRecord
from smsdesk.operations.services import Services, Work

_AUDIENCE = (PartyState.CHATTING, PartyState.LEFT_CHAT)


def delivery_of(record: OutboundRecord) -> dict[str, object]:
    return delivery_json(
        record.status,
        encoding=record.encoding,
        segments=record.segments,
        attempts=record.attempts,
        error_code=record.error_code,
        reason=record.error,
    )


async def publish_delivery(services: Services, work: Work, record: OutboundRecord) -> None:
    session = await work.tx.sessions.load(record.tenant_id, record.session_id)
    if session is None:
        return
    data = payloads.message_delivery_updated(
        [{"index": record.message_index, "delivery": delivery_of(record)}],
        services.urls.session(session.id),
        f"/smssessions/{session.id}",
    )
    payload = msgspec.json.encode(data)
    for party in session.parties.values():
        if party.state in _AUDIENCE:
            work.notify(Notification(record.tenant_id, party.user_id, payloads.SMS_TOPIC, payload))


async def record_delivery(
    services: Services,
    work: Work,
    record: OutboundRecord,
    *,
    status: str,
    attempts: int | None = None,
    next_attempt_ms: int = 0,
    provider_message_id: str | None = None,
    connector: str | None = None,
    error: str | None = None,
    error_code: str | None = None,
) -> OutboundRecord:
    """Store a new delivery state; agents are told only when the status they see changes."""
    await work.tx.outbound.update(
        record.id,
        status=status,
        attempts=record.attempts if attempts is None else attempts,
        next_attempt_ms=next_attempt_ms,
        provider_message_id=provider_message_id,
        error=error,
        error_code=error_code,
        connector=connector,
    )
    updated = await work.tx.outbound.get(record.id)
    assert updated is not None
    if updated.status != record.status or updated.error != record.error:
        await publish_delivery(services, work, updated)
    return updated
