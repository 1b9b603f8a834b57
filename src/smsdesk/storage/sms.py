"""The outbound SMS queue, consent, and inbound idempotency, in SQL both backends run."""

from __future__ import annotations

from smsdesk.domain.clock import now_ms as _now_ms
from smsdesk.operations.ports import OutboundRecord
from smsdesk.storage.connection import SqlRepository
from smsdesk.storage.digests import erased_form, erased_key

_COLUMNS = (
    "id, tenant_id, session_id, message_index, service_number, customer_number, text, status, attempts, "
    "next_attempt_ms, provider_message_id, error, encoding, segments, error_code, connector"
)


class OutboundQueueSql(SqlRepository):
    __slots__ = ()

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
    ) -> int:
        row = await self.db.fetchone(
            "INSERT INTO sms_outbound (tenant_id, session_id, message_index, service_number, customer_number, text, "
            "status, next_attempt_ms, created_ms, updated_ms, encoding, segments) "
            "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) RETURNING id",
            (
                tenant_id,
                session_id,
                message_index,
                service_number,
                customer_number,
                text,
                now_ms,
                now_ms,
                now_ms,
                encoding,
                segments,
            ),
        )
        assert row is not None
        return int(row[0])

    async def due(self, now_ms: int, limit: int) -> list[OutboundRecord]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM sms_outbound WHERE status = 'pending' AND next_attempt_ms <= ? "
            "ORDER BY id LIMIT ?",
            (now_ms, limit),
        )
        return [OutboundRecord(*row) for row in rows]

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
        await self.db.execute(
            "UPDATE sms_outbound SET status = ?, attempts = ?, next_attempt_ms = ?, "
            "provider_message_id = COALESCE(?, provider_message_id), error = ?, error_code = ?, "
            "connector = COALESCE(?, connector), updated_ms = ? WHERE id = ?",
            (
                status,
                attempts,
                next_attempt_ms,
                provider_message_id,
                error,
                error_code,
                connector,
                _now_ms(),
                outbound_id,
            ),
        )

    async def next_attempt_ms(self) -> int | None:
        row = await self.db.fetchone("SELECT MIN(next_attempt_ms) FROM sms_outbound WHERE status = 'pending'")
        return None if row is None or row[0] is None else int(row[0])

    async def get(self, outbound_id: int) -> OutboundRecord | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM sms_outbound WHERE id = ?", (outbound_id,))
        return OutboundRecord(*row) if row else None

    async def by_provider_id(self, connector: str, provider_message_id: str) -> OutboundRecord | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM sms_outbound WHERE provider_message_id = ? AND connector = ? "
            "ORDER BY id DESC LIMIT 1",
            (provider_message_id, connector),
        )
        return OutboundRecord(*row) if row else None

    async def of_session(self, session_id: str) -> list[OutboundRecord]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM sms_outbound WHERE session_id = ? ORDER BY message_index", (session_id,)
        )
        return [OutboundRecord(*row) for row in rows]


class ConsentSql(SqlRepository):
    __slots__ = ()

    async def opted_out(self, service_number: str, customer_number: str) -> bool:
        # One statement, as before erasure existed, unless this number has no row of its own and
        # an erased customer's opt-out of this service number is kept (as a digest).
        row = await self.db.fetchone(
            "SELECT (SELECT opted_out FROM sms_consent WHERE service_number = ? AND customer_number = ?), "
            "EXISTS (SELECT 1 FROM erased_opt_outs WHERE service_number = ?)",
            (service_number, customer_number, service_number),
        )
        if row is None:
            return False
        own, erased_exist = row
        if own is not None:
            return bool(own)
        if not erased_exist:
            return False
        key = await erased_key(self.db, create=False)
        if key is None:
            return False
        kept = await self.db.fetchone(
            "SELECT 1 FROM erased_opt_outs WHERE service_number = ? AND digest = ?",
            (service_number, erased_form(key, customer_number)),
        )
        return kept is not None

    async def set(
        self, service_number: str, customer_number: str, *, opted_out: bool, reason: str, now_ms: int
    ) -> None:
        await self.db.execute(
            "INSERT INTO sms_consent (service_number, customer_number, opted_out, reason, updated_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (service_number, customer_number) DO UPDATE SET "
            "opted_out = excluded.opted_out, reason = excluded.reason, updated_ms = excluded.updated_ms",
            (service_number, customer_number, int(opted_out), reason, now_ms),
        )


class InboundSeenSql(SqlRepository):
    __slots__ = ()

    async def record(self, connector: str, provider_message_id: str) -> bool:
        row = await self.db.fetchone(
            "INSERT INTO sms_inbound_seen (connector, provider_message_id) VALUES (?, ?) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (connector, provider_message_id),
        )
        return row is not None
