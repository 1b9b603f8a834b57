"""The audit log of administrative changes, and a customer's data as a whole (erasure, retention,
export), in SQL both backends run."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from smsdesk.domain.model import LIVE_STATES, Message, SessionRecord
from smsdesk.operations.ports import AuditEntry, CustomerSession, Erased
from smsdesk.storage.connection import Row, SqlRepository
from smsdesk.storage.digests import erased_form, erased_key

decode_session = msgspec.json.Decoder(SessionRecord).decode
decode_message = msgspec.json.Decoder(Message).decode

_AUDIT_COLUMNS = (
    "tenant_id, at_ms, actor_id, actor_name, action, target_type, target_id, before_json, after_json"
)


def _entry(row: Row) -> AuditEntry:
    tenant, at, actor_id, actor_name, action, target_type, target_id, before, after, entry_id = row
    return AuditEntry(
        str(tenant),
        int(at),
        None if actor_id is None else str(actor_id),
        str(actor_name),
        str(action),
        str(target_type),
        None if target_id is None else str(target_id),
        None if before is None else str(before),
        None if after is None else str(after),
        int(entry_id),
    )


class AdminAuditSql(SqlRepository):
    __slots__ = ()

    async def record(self, entry: AuditEntry) -> None:
        await self.db.execute(
            f"INSERT INTO admin_audit ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.tenant_id,
                entry.at_ms,
                entry.actor_id,
                entry.actor_name,
                entry.action,
                entry.target_type,
                entry.target_id,
                entry.before,
                entry.after,
            ),
        )

    async def newest(self, tenant_id: str, offset: int, limit: int) -> list[AuditEntry]:
        rows = await self.db.fetchall(
            f"SELECT {_AUDIT_COLUMNS}, id FROM admin_audit WHERE tenant_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (tenant_id, limit, offset),
        )
        return [_entry(row) for row in rows]

    async def count(self, tenant_id: str) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM admin_audit WHERE tenant_id = ?", (tenant_id,))
        return int(row[0]) if row else 0


_SESSION_TABLES = (
    # Children first: messages and parties reference the session row.
    "DELETE FROM user_data_audit WHERE session_id = ?",
    "DELETE FROM sms_outbound WHERE session_id = ?",
)


class CustomerDataSql(SqlRepository):
    __slots__ = ()

    async def sessions_of(self, tenant_id: str, customer_number: str) -> list[CustomerSession]:
        rows = await self.db.fetchall(
            "SELECT body FROM sms_sessions WHERE tenant_id = ? AND customer_number = ? ORDER BY received_ms, id",
            (tenant_id, customer_number),
        )
        found = []
        for (body,) in rows:
            record = decode_session(body)
            live = sum(1 for party in record.parties.values() if party.state in LIVE_STATES)
            found.append(CustomerSession(record.id, record.phase.value, live))
        return found

    async def delete_sessions(self, session_ids: Sequence[str]) -> Erased:
        messages = 0
        for session_id in session_ids:
            row = await self.db.fetchone("SELECT body FROM sms_sessions WHERE id = ?", (session_id,))
            if row is None:
                continue
            parties = list(decode_session(row[0]).parties)
            count = await self.db.fetchone(
                "SELECT COUNT(*) FROM messages WHERE session_id = ?", (session_id,)
            )
            messages += int(count[0]) if count else 0
            await self.db.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            # By the parties' primary key (user, session): no index on the session alone needed.
            await self.db.executemany(
                "DELETE FROM session_parties WHERE user_id = ? AND session_id = ?",
                [(user_id, session_id) for user_id in parties],
            )
            for statement in _SESSION_TABLES:
                await self.db.execute(statement, (session_id,))
            await self.db.execute("DELETE FROM sms_sessions WHERE id = ?", (session_id,))
        return Erased(sessions=len(session_ids), messages=messages)

    async def delete_notifications_mentioning(self, tenant_id: str, needles: Sequence[bytes]) -> int:
        if not needles:
            return 0
        # The outbox keeps notification_retention_s of notifications (minutes): a scan of one
        # contact center's rows, matched here, is cheap and needs no backend's own byte functions.
        rows = await self.db.fetchall(
            "SELECT position, payload FROM outbox WHERE tenant_id = ?", (tenant_id,)
        )
        doomed = [
            int(position) for position, payload in rows if any(needle in bytes(payload) for needle in needles)
        ]
        await self.db.executemany("DELETE FROM outbox WHERE position = ?", [(p,) for p in doomed])
        return len(doomed)

    async def delete_handset_messages(self, number: str, before_ms: int | None = None) -> int:
        before = before_ms if before_ms is not None else 2**62
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM simulator_handsets WHERE (recipient = ? OR sender = ?) AND received_ms < ?",
            (number, number, before),
        )
        await self.db.execute(
            "DELETE FROM simulator_handsets WHERE (recipient = ? OR sender = ?) AND received_ms < ?",
            (number, number, before),
        )
        if before_ms is None:
            await self.db.execute("DELETE FROM simulator_failures WHERE number = ?", (number,))
        return int(row[0]) if row else 0

    async def erase_consent(self, customer_number: str, service_numbers: Sequence[str]) -> None:
        rows = []
        for service_number in service_numbers:  # by the primary key, one number at a time
            row = await self.db.fetchone(
                "SELECT service_number, opted_out, reason, updated_ms FROM sms_consent "
                "WHERE service_number = ? AND customer_number = ?",
                (service_number, customer_number),
            )
            if row is not None:
                rows.append(row)
        if not rows:
            return
        key = await erased_key(self.db, create=True)
        assert key is not None
        digest = erased_form(key, customer_number)
        for service_number, opted_out, reason, updated_ms in rows:
            await self.db.execute(
                "DELETE FROM sms_consent WHERE service_number = ? AND customer_number = ?",
                (service_number, customer_number),
            )
            if opted_out:
                await self.db.execute(
                    "INSERT INTO erased_opt_outs (service_number, digest, reason, updated_ms) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (service_number, digest) DO UPDATE SET reason = excluded.reason, "
                    "updated_ms = excluded.updated_ms",
                    (service_number, digest, str(reason), int(updated_ms)),
                )
            else:  # opted back in since an earlier erasure: that erasure's opt-out is over
                await self.db.execute(
                    "DELETE FROM erased_opt_outs WHERE service_number = ? AND digest = ?",
                    (service_number, digest),
                )

    async def finished_before(
        self, tenant_id: str, before_ms: int, after: tuple[int, str] | None, limit: int
    ) -> list[tuple[str, int, int, str]]:
        received, last_id = after if after is not None else (-1, "")
        rows = await self.db.fetchall(
            "SELECT s.id, s.received_ms, s.customer_number, (SELECT m.body FROM messages m WHERE m.session_id = s.id "
            "ORDER BY m.idx DESC LIMIT 1) FROM sms_sessions s "
            "WHERE s.tenant_id = ? AND s.phase = 'done' AND s.received_ms < ? "
            "AND (s.received_ms > ? OR (s.received_ms = ? AND s.id > ?)) "
            "ORDER BY s.received_ms, s.id LIMIT ?",
            (tenant_id, before_ms, received, received, last_id, limit),
        )
        found = []
        for session_id, received_ms, customer, last in rows:
            activity = decode_message(last).timestamp_ms if last is not None else int(received_ms)
            found.append((str(session_id), int(received_ms), max(activity, int(received_ms)), str(customer)))
        return found

    async def received_between(
        self, tenant_id: str | None, from_ms: int, to_ms: int, after: tuple[int, str] | None, limit: int
    ) -> list[SessionRecord]:
        received, last_id = after if after is not None else (from_ms - 1, "")
        tenant_clause = "tenant_id = ? AND " if tenant_id is not None else ""
        params: tuple[object, ...] = (tenant_id,) if tenant_id is not None else ()
        rows = await self.db.fetchall(
            f"SELECT body FROM sms_sessions WHERE {tenant_clause}received_ms >= ? AND received_ms < ? "
            "AND (received_ms > ? OR (received_ms = ? AND id > ?)) ORDER BY received_ms, id LIMIT ?",
            (*params, from_ms, to_ms, received, received, last_id, limit),
        )
        return [decode_session(row[0]) for row in rows]

    async def count_received_between(self, tenant_id: str | None, from_ms: int, to_ms: int) -> int:
        tenant_clause = "tenant_id = ? AND " if tenant_id is not None else ""
        params: tuple[object, ...] = (tenant_id,) if tenant_id is not None else ()
        row = await self.db.fetchone(
            f"SELECT COUNT(*) FROM sms_sessions WHERE {tenant_clause}received_ms >= ? AND received_ms < ?",
            (*params, from_ms, to_ms),
        )
        return int(row[0]) if row else 0
