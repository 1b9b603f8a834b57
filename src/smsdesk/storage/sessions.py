"""SMS sessions and their message logs, in SQL both backends run.

The aggregate is stored whole as JSON (``sms_sessions.body``, msgspec-encoded dataclasses) next to
the indexed columns routing and lookups need; parties are mirrored in ``session_parties``; the log
is one row per entry. How a session is *locked* differs: one writer on SQLite, ``FOR UPDATE`` and an
advisory lock on PostgreSQL (``storage/postgres.py`` overrides :meth:`SessionsSql.load` and
:meth:`SessionsSql.open_for`).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from smsdesk.domain.model import Message, Phase, SessionRecord
from smsdesk.storage.connection import NO_LIMIT, Row, SqlRepository

encode = msgspec.json.encode
decode_session = msgspec.json.Decoder(SessionRecord).decode
decode_message = msgspec.json.Decoder(Message).decode

LIVE_PARTY_STATES = "('Invited', 'Chatting', 'LeftChat')"

OPEN_FOR_CUSTOMER = (
    "SELECT body FROM sms_sessions WHERE tenant_id = ? AND service_number = ? AND customer_number = ? "
    "AND customer_open = 1 AND phase != 'done' ORDER BY received_ms DESC LIMIT 1"
)


def session_of(row: Row | None) -> SessionRecord | None:
    return decode_session(row[0]) if row else None


class SessionsSql(SqlRepository):
    __slots__ = ()

    ARRIVAL = "rowid"
    """Sessions that arrived in the same millisecond, in the order they arrived: SQLite's rowid (one
    writer, kept by an upsert). PostgreSQL has no such column (``storage/postgres.py``)."""

    async def load(self, tenant_id: str, session_id: str) -> SessionRecord | None:
        # SQLite has one writer: the whole transaction is the lock.
        return session_of(
            await self.db.fetchone(
                "SELECT body FROM sms_sessions WHERE id = ? AND tenant_id = ?", (session_id, tenant_id)
            )
        )

    async def open_for(
        self, tenant_id: str, service_number: str, customer_number: str
    ) -> SessionRecord | None:
        return session_of(
            await self.db.fetchone(OPEN_FOR_CUSTOMER, (tenant_id, service_number, customer_number))
        )

    async def save(
        self, record: SessionRecord, next_deadline_ms: int | None, parties_changed: bool = True
    ) -> None:
        await self.db.execute(
            """
            INSERT INTO sms_sessions (id, tenant_id, service_number, customer_number, queue, phase, customer_open,
                                      received_ms, offer_deadline, body, waiting_replied)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET queue = excluded.queue, phase = excluded.phase,
                customer_open = excluded.customer_open, offer_deadline = excluded.offer_deadline, body = excluded.body,
                waiting_replied = excluded.waiting_replied
            """,
            (
                record.id,
                record.tenant_id,
                record.service_number,
                record.customer_number,
                record.queue,
                record.phase.value,
                int(record.customer_present),
                record.received_ms,
                next_deadline_ms,
                encode(record),
                int("waiting" in record.auto_replies or not record.customer_reachable),
            ),
        )
        if not parties_changed:
            return
        await self.db.executemany(
            "INSERT INTO session_parties (session_id, user_id, tenant_id, state) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, session_id) DO UPDATE SET state = excluded.state",
            [(record.id, p.user_id, record.tenant_id, p.state.value) for p in record.parties.values()],
        )

    async def of_user(self, tenant_id: str, user_id: str) -> list[SessionRecord]:
        rows = await self.db.fetchall(
            "SELECT s.body FROM session_parties p JOIN sms_sessions s ON s.id = p.session_id "
            f"WHERE p.user_id = ? AND p.tenant_id = ? AND p.state IN {LIVE_PARTY_STATES} "
            f"ORDER BY s.received_ms, s.{self.ARRIVAL}",
            (user_id, tenant_id),
        )
        return [decode_session(row[0]) for row in rows]

    async def waiting(self, tenant_id: str, queue: str | None) -> list[str]:
        if queue is None:
            rows = await self.db.fetchall(
                f"SELECT id FROM sms_sessions WHERE tenant_id = ? AND phase = ? ORDER BY received_ms, {self.ARRIVAL}",
                (tenant_id, Phase.WAITING.value),
            )
        else:
            rows = await self.db.fetchall(
                "SELECT id FROM sms_sessions WHERE tenant_id = ? AND phase = ? AND queue = ? "
                f"ORDER BY received_ms, {self.ARRIVAL}",
                (tenant_id, Phase.WAITING.value, queue),
            )
        return [str(row[0]) for row in rows]

    async def waiting_since(self, tenant_id: str, queue: str) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT body FROM sms_sessions WHERE tenant_id = ? AND phase = ? AND queue = ?",
            (tenant_id, Phase.WAITING.value, queue),
        )
        records = [decode_session(row[0]) for row in rows]
        return [record.waiting_since_ms or record.received_ms for record in records]

    async def unoffered(self, tenant_id: str) -> list[tuple[str, str]]:
        # offer_deadline is set exactly while an invitation is out (next_deadline_ms), so this
        # leaves out, without reading their bodies, the sessions routing has nothing to do for.
        rows = await self.db.fetchall(
            "SELECT id, queue FROM sms_sessions WHERE tenant_id = ? AND phase = ? AND offer_deadline IS NULL "
            f"ORDER BY received_ms, {self.ARRIVAL}",
            (tenant_id, Phase.WAITING.value),
        )
        return [(str(session_id), str(queue)) for session_id, queue in rows]

    async def offer_deadlines(self) -> list[tuple[str, str, int]]:
        rows = await self.db.fetchall(
            "SELECT tenant_id, id, offer_deadline FROM sms_sessions WHERE offer_deadline IS NOT NULL "
            "ORDER BY offer_deadline"
        )
        return [(str(t), str(i), int(d)) for t, i, d in rows]

    async def offers_to_absent(self, seen_before_ms: int) -> list[tuple[str, str, str]]:
        rows = await self.db.fetchall(
            """
            SELECT s.tenant_id, s.id, p.user_id
              FROM sms_sessions s
              JOIN session_parties p ON p.session_id = s.id AND p.state = 'Invited'
              LEFT JOIN agent_presence a ON a.user_id = p.user_id
             WHERE s.offer_deadline IS NOT NULL AND COALESCE(a.last_seen_ms, 0) < ?
            """,
            (seen_before_ms,),
        )
        return [(str(t), str(s), str(u)) for t, s, u in rows]

    async def live_counts(self, tenant_id: str) -> dict[str, int]:
        rows = await self.db.fetchall(
            f"SELECT user_id, COUNT(*) FROM session_parties WHERE tenant_id = ? AND state IN {LIVE_PARTY_STATES} "
            "GROUP BY user_id",
            (tenant_id,),
        )
        return {str(u): int(c) for u, c in rows}

    async def of_customer(
        self, tenant_id: str, customer_number: str, received_before_ms: int, offset: int, limit: int
    ) -> tuple[list[SessionRecord], int]:
        rows = await self.db.fetchall(
            "SELECT body FROM sms_sessions WHERE tenant_id = ? AND customer_number = ? AND received_ms < ? "
            f"ORDER BY received_ms DESC, {self.ARRIVAL} DESC LIMIT ? OFFSET ?",
            (tenant_id, customer_number, received_before_ms, limit, offset),
        )
        total = await self.db.fetchone(
            "SELECT COUNT(*) FROM sms_sessions WHERE tenant_id = ? AND customer_number = ? AND received_ms < ?",
            (tenant_id, customer_number, received_before_ms),
        )
        return [decode_session(row[0]) for row in rows], int(total[0]) if total else 0

    async def awaiting_waiting_reply(self, tenant_id: str, queue: str, received_before_ms: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT id FROM sms_sessions WHERE tenant_id = ? AND phase = ? AND queue = ? AND waiting_replied = 0 "
            f"AND received_ms < ? ORDER BY received_ms, {self.ARRIVAL}",
            (tenant_id, Phase.WAITING.value, queue, received_before_ms),
        )
        return [str(row[0]) for row in rows]


class MessagesSql(SqlRepository):
    __slots__ = ()

    async def append(self, session_id: str, messages: Sequence[Message]) -> None:
        await self.db.executemany(
            "INSERT INTO messages (session_id, idx, body) VALUES (?, ?, ?)",
            [(session_id, m.index, encode(m)) for m in messages],
        )

    async def read(self, session_id: str, start_index: int, count: int) -> list[Message]:
        limit = count if count > 0 else NO_LIMIT
        rows = await self.db.fetchall(
            "SELECT body FROM messages WHERE session_id = ? AND idx >= ? ORDER BY idx LIMIT ?",
            (session_id, start_index, limit),
        )
        return [decode_message(row[0]) for row in rows]
