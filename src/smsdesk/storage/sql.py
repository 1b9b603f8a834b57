"""The queries both backends share: portable SQL over a small async connection interface.

Written once with ``?`` placeholders and SQL that SQLite (3.35+) and PostgreSQL both run
(``ON CONFLICT``, ``RETURNING``); each backend adapts its driver to :class:`SqlConnection` and adds
what cannot be shared, the outbox append (how positions are made commit-ordered differs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeAlias

import msgspec

from smsdesk.domain.agents import SMS_CHANNEL, ChannelState
from smsdesk.domain.model import Message, Phase, SessionRecord
from smsdesk.domain.routing import AgentAvailability
from smsdesk.gws.representation import now_ms as _now_ms
from smsdesk.operations.ports import (
    AgentChannel,
    OutboundRecord,
    ServiceNumber,
    StoredHttpSession,
    StoredNotification,
    User,
)
from smsdesk.storage.supervision_sql import SupervisionSql

encode = msgspec.json.encode
decode_session = msgspec.json.Decoder(SessionRecord).decode
decode_message = msgspec.json.Decoder(Message).decode

Row: TypeAlias = Any
"""A result row: a tuple from sqlite3, a Record from asyncpg; both index and unpack alike."""

_NO_LIMIT = 2**62  # "all rows": SQLite's LIMIT -1 is an error in PostgreSQL

_USER_COLUMNS = "id, tenant_id, user_name, first_name, last_name, roles, enabled, password_hash"
_OUTBOUND_COLUMNS = (
    "id, tenant_id, session_id, message_index, service_number, customer_number, text, status, attempts, "
    "next_attempt_ms, provider_message_id, error, encoding, segments, error_code, connector"
)


class SqlConnection(Protocol):
    """What the shared queries need from a driver, inside the current transaction."""

    async def execute(self, sql: str, params: Sequence[object] = ()) -> None: ...
    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...
    async def fetchone(self, sql: str, params: Sequence[object] = ()) -> Row | None: ...
    async def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...


def _user(row: Row | None) -> User | None:
    if row is None:
        return None
    uid, tenant, name, first, last, roles, enabled, password_hash = row
    return User(
        str(uid),
        str(tenant),
        str(name),
        str(first),
        str(last),
        tuple(json.loads(str(roles))),
        bool(enabled),
        str(password_hash),
    )


def prune_boundary(rows: Iterable[Row], created_before_ms: int) -> int | None:
    """The last position of the oldest run of ``(position, created_ms)`` rows created before the
    cut-off: what a prune may delete up to (a prefix only, so ``oldest_position`` stays exact)."""
    boundary = None
    for position, created in rows:
        if int(created) >= created_before_ms:
            break
        boundary = int(position)
    return boundary


def stored_notifications(rows: Iterable[Row]) -> list[StoredNotification]:
    return [StoredNotification(int(p), str(u), str(c), bytes(b)) for p, u, c, b in rows]


class SqlTransaction(SupervisionSql):
    """Every query of the ``Transaction`` Protocol but the outbox append, in SQL both backends run."""

    def __init__(self, db: SqlConnection) -> None:
        self.db = db

    # ----- users and tenants -----

    async def user_by_name(self, user_name: str) -> User | None:
        return _user(
            await self.db.fetchone(f"SELECT {_USER_COLUMNS} FROM users WHERE user_name = ?", (user_name,))
        )

    async def user_by_id(self, tenant_id: str, user_id: str) -> User | None:
        return _user(
            await self.db.fetchone(
                f"SELECT {_USER_COLUMNS} FROM users WHERE id = ? AND tenant_id = ?", (user_id, tenant_id)
            )
        )

    async def users(self, tenant_id: str | None = None) -> list[User]:
        if tenant_id is None:
            rows = await self.db.fetchall(f"SELECT {_USER_COLUMNS} FROM users ORDER BY user_name")
        else:
            rows = await self.db.fetchall(
                f"SELECT {_USER_COLUMNS} FROM users WHERE tenant_id = ? ORDER BY user_name", (tenant_id,)
            )
        return [u for u in map(_user, rows) if u is not None]

    async def insert_user(self, user: User) -> None:
        await self.db.execute(
            f"INSERT INTO users ({_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user.id,
                user.tenant_id,
                user.user_name,
                user.first_name,
                user.last_name,
                json.dumps(list(user.roles)),
                int(user.enabled),
                user.password_hash,
            ),
        )

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self.db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    async def ensure_tenant(self, tenant_id: str, name: str) -> None:
        await self.db.execute(
            "INSERT INTO tenants (id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", (tenant_id, name)
        )

    async def tenant_by_name(self, name: str) -> str | None:
        row = await self.db.fetchone("SELECT id FROM tenants WHERE id = ? OR name = ?", (name, name))
        return str(row[0]) if row else None

    async def next_reference_id(self, user_id: str) -> int:
        row = await self.db.fetchone(
            "UPDATE users SET last_reference_id = last_reference_id + 1 WHERE id = ? RETURNING last_reference_id",
            (user_id,),
        )
        assert row is not None, f"no user {user_id}"
        return int(row[0])

    # ----- queues and numbers -----

    async def queue_exists(self, tenant_id: str, name: str) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM queues WHERE tenant_id = ? AND name = ?", (tenant_id, name)
        )
        return row is not None

    async def ensure_queue(self, tenant_id: str, name: str, members: Sequence[str]) -> None:
        await self.db.execute(
            "INSERT INTO queues (tenant_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", (tenant_id, name)
        )
        await self.db.executemany(
            "INSERT INTO queue_members (tenant_id, queue, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(tenant_id, name, member) for member in members],
        )

    async def service_number(self, number: str) -> ServiceNumber | None:
        row = await self.db.fetchone(
            "SELECT tenant_id, number, queue, connector FROM service_numbers WHERE number = ?", (number,)
        )
        return ServiceNumber(*map(str, row)) if row else None

    async def ensure_service_number(self, number: ServiceNumber) -> None:
        await self.db.execute(
            "INSERT INTO service_numbers (number, tenant_id, queue, connector) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (number.number, number.tenant_id, number.queue, number.connector),
        )

    # ----- agent channels -----

    async def agent_channels(self, user_id: str) -> list[AgentChannel]:
        rows = await self.db.fetchall(
            "SELECT channel, state, reason FROM agent_channels WHERE user_id = ? ORDER BY channel", (user_id,)
        )
        return [AgentChannel(str(c), ChannelState(str(s)), None if r is None else str(r)) for c, s, r in rows]

    async def set_agent_channel(
        self, tenant_id: str, user_id: str, channel: str, state: ChannelState, reason: str | None = None
    ) -> None:
        await self.db.execute(
            "INSERT INTO agent_channels (user_id, tenant_id, channel, state, reason) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (user_id, channel) DO UPDATE SET state = excluded.state, reason = excluded.reason",
            (user_id, tenant_id, channel, state.value, reason),
        )

    async def clear_agent_channels(self, user_id: str) -> None:
        await self.db.execute("DELETE FROM agent_channels WHERE user_id = ?", (user_id,))

    async def routing_candidates(
        self, tenant_id: str, queue: str, capacity: int, seen_since_ms: int
    ) -> list[AgentAvailability]:
        rows = await self.db.fetchall(
            """
            SELECT m.user_id, c.state, u.last_offer_ms, COALESCE(a.last_seen_ms, 0),
                   (SELECT COUNT(*) FROM session_parties p
                     WHERE p.user_id = m.user_id AND p.state IN ('Invited', 'Chatting', 'LeftChat'))
              FROM queue_members m
              JOIN agent_channels c ON c.user_id = m.user_id AND c.channel = ?
              JOIN users u ON u.id = m.user_id AND u.enabled = 1
              LEFT JOIN agent_presence a ON a.user_id = m.user_id
             WHERE m.tenant_id = ? AND m.queue = ?
            """,
            (SMS_CHANNEL, tenant_id, queue),
        )
        return [
            AgentAvailability(
                str(uid),
                state == ChannelState.READY.value and int(seen) >= seen_since_ms,
                int(load),
                capacity,
                int(last_offer),
            )
            for uid, state, last_offer, seen, load in rows
        ]

    # ----- presence -----

    async def note_presence(self, seen: Sequence[tuple[str, str]], now_ms: int) -> None:
        await self.db.executemany(
            "INSERT INTO agent_presence (user_id, tenant_id, last_seen_ms) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms "
            "WHERE agent_presence.last_seen_ms < excluded.last_seen_ms",
            # In one order on every node: two nodes' flushes never wait for each other in a cycle.
            [(user_id, tenant_id, now_ms) for tenant_id, user_id in sorted(seen, key=lambda e: e[1])],
        )

    async def last_seen(self, user_id: str) -> int | None:
        row = await self.db.fetchone("SELECT last_seen_ms FROM agent_presence WHERE user_id = ?", (user_id,))
        return int(row[0]) if row else None

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

    async def ready_absent_agents(self, seen_before_ms: int) -> list[tuple[str, str]]:
        rows = await self.db.fetchall(
            """
            SELECT c.tenant_id, c.user_id
              FROM agent_channels c
              LEFT JOIN agent_presence a ON a.user_id = c.user_id
             WHERE c.channel = ? AND c.state = ? AND COALESCE(a.last_seen_ms, 0) < ?
            """,
            (SMS_CHANNEL, ChannelState.READY.value, seen_before_ms),
        )
        return [(str(t), str(u)) for t, u in rows]

    async def note_offer(self, user_id: str, now_ms: int) -> None:
        await self.db.execute("UPDATE users SET last_offer_ms = ? WHERE id = ?", (now_ms, user_id))

    # ----- sessions -----

    async def load_session(self, tenant_id: str, session_id: str) -> SessionRecord | None:
        row = await self.db.fetchone(
            "SELECT body FROM sms_sessions WHERE id = ? AND tenant_id = ?", (session_id, tenant_id)
        )
        return decode_session(row[0]) if row else None

    async def open_session_for(
        self, tenant_id: str, service_number: str, customer_number: str
    ) -> SessionRecord | None:
        row = await self.db.fetchone(
            "SELECT body FROM sms_sessions WHERE tenant_id = ? AND service_number = ? AND customer_number = ? "
            "AND customer_open = 1 AND phase != 'done' ORDER BY received_ms DESC LIMIT 1",
            (tenant_id, service_number, customer_number),
        )
        return decode_session(row[0]) if row else None

    async def save_session(
        self, record: SessionRecord, next_deadline_ms: int | None, parties_changed: bool = True
    ) -> None:
        await self.db.execute(
            """
            INSERT INTO sms_sessions (id, tenant_id, service_number, customer_number, queue, phase, customer_open,
                                      received_ms, offer_deadline, body)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET queue = excluded.queue, phase = excluded.phase,
                customer_open = excluded.customer_open, offer_deadline = excluded.offer_deadline, body = excluded.body
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
            ),
        )
        if not parties_changed:
            return
        await self.db.executemany(
            "INSERT INTO session_parties (session_id, user_id, tenant_id, state) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, session_id) DO UPDATE SET state = excluded.state",
            [(record.id, p.user_id, record.tenant_id, p.state.value) for p in record.parties.values()],
        )

    async def append_messages(self, session_id: str, messages: Sequence[Message]) -> None:
        await self.db.executemany(
            "INSERT INTO messages (session_id, idx, body) VALUES (?, ?, ?)",
            [(session_id, m.index, encode(m)) for m in messages],
        )

    async def messages(self, session_id: str, start_index: int, count: int) -> list[Message]:
        limit = count if count > 0 else _NO_LIMIT
        rows = await self.db.fetchall(
            "SELECT body FROM messages WHERE session_id = ? AND idx >= ? ORDER BY idx LIMIT ?",
            (session_id, start_index, limit),
        )
        return [decode_message(row[0]) for row in rows]

    async def sessions_of_user(self, tenant_id: str, user_id: str) -> list[SessionRecord]:
        rows = await self.db.fetchall(
            "SELECT s.body FROM session_parties p JOIN sms_sessions s ON s.id = p.session_id "
            "WHERE p.user_id = ? AND p.tenant_id = ? AND p.state IN ('Invited', 'Chatting', 'LeftChat') "
            "ORDER BY s.received_ms",
            (user_id, tenant_id),
        )
        return [decode_session(row[0]) for row in rows]

    async def waiting_sessions(self, tenant_id: str, queue: str | None) -> list[str]:
        if queue is None:
            rows = await self.db.fetchall(
                "SELECT id FROM sms_sessions WHERE tenant_id = ? AND phase = ? ORDER BY received_ms",
                (tenant_id, Phase.WAITING.value),
            )
        else:
            rows = await self.db.fetchall(
                "SELECT id FROM sms_sessions WHERE tenant_id = ? AND phase = ? AND queue = ? ORDER BY received_ms",
                (tenant_id, Phase.WAITING.value, queue),
            )
        return [str(row[0]) for row in rows]

    async def unoffered_sessions(self, tenant_id: str) -> list[tuple[str, str]]:
        # offer_deadline is set exactly while an invitation is out (next_deadline_ms), so this
        # leaves out, without reading their bodies, the sessions routing has nothing to do for.
        rows = await self.db.fetchall(
            "SELECT id, queue FROM sms_sessions WHERE tenant_id = ? AND phase = ? AND offer_deadline IS NULL "
            "ORDER BY received_ms",
            (tenant_id, Phase.WAITING.value),
        )
        return [(str(session_id), str(queue)) for session_id, queue in rows]

    async def sessions_with_expired_offers(self, now_ms: int) -> list[tuple[str, str]]:
        rows = await self.db.fetchall(
            "SELECT tenant_id, id FROM sms_sessions WHERE offer_deadline IS NOT NULL AND offer_deadline <= ?",
            (now_ms,),
        )
        return [(str(t), str(i)) for t, i in rows]

    # ----- sign-in throttling -----

    async def lock_signin_pair(self, user_name: str, address: str) -> str | None:
        # An upsert that changes nothing still locks the row (PostgreSQL; SQLite has one writer), so
        # two nodes counting failures of one pair take turns.
        await self.db.execute(
            "INSERT INTO signin_throttles (user_name, address, state, updated_ms) VALUES (?, ?, '', 0) "
            "ON CONFLICT (user_name, address) DO UPDATE SET state = signin_throttles.state",
            (user_name, address),
        )
        return await self.signin_pair(user_name, address)

    async def signin_pair(self, user_name: str, address: str) -> str | None:
        row = await self.db.fetchone(
            "SELECT state FROM signin_throttles WHERE user_name = ? AND address = ?", (user_name, address)
        )
        return str(row[0]) if row and row[0] else None

    async def save_signin_pair(self, user_name: str, address: str, state: str, now_ms: int) -> None:
        await self.db.execute(
            "UPDATE signin_throttles SET state = ?, updated_ms = ? WHERE user_name = ? AND address = ?",
            (state, now_ms, user_name, address),
        )

    async def forget_signin_pair(self, user_name: str, address: str) -> None:
        await self.db.execute(
            "DELETE FROM signin_throttles WHERE user_name = ? AND address = ?", (user_name, address)
        )

    async def prune_signin_pairs(self, updated_before_ms: int) -> None:
        await self.db.execute("DELETE FROM signin_throttles WHERE updated_ms < ?", (updated_before_ms,))

    # ----- HTTP sessions -----

    async def cluster_secret(self, name: str, proposed: str) -> str:
        await self.db.execute(
            "INSERT INTO cluster_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING", (name, proposed)
        )
        row = await self.db.fetchone("SELECT value FROM cluster_secrets WHERE name = ?", (name,))
        assert row is not None
        return str(row[0])

    async def http_session(self, session_id: str) -> StoredHttpSession | None:
        row = await self.db.fetchone(
            "SELECT id, user_id, tenant_id, created_ms, last_seen_ms, ended_ms FROM http_sessions WHERE id = ?",
            (session_id,),
        )
        return StoredHttpSession(*row) if row else None

    async def insert_http_session(self, session: StoredHttpSession, max_per_user: int) -> None:
        """Record a session, then end the user's least recently used ones beyond ``max_per_user``."""
        await self.db.execute(
            "INSERT INTO http_sessions (id, user_id, tenant_id, created_ms, last_seen_ms, ended_ms) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                session.id,
                session.user_id,
                session.tenant_id,
                session.created_ms,
                session.last_seen_ms,
                session.ended_ms,
            ),
        )
        await self.db.execute(
            "UPDATE http_sessions SET ended_ms = ? WHERE user_id = ? AND ended_ms IS NULL AND id NOT IN "
            "(SELECT id FROM http_sessions WHERE user_id = ? AND ended_ms IS NULL "
            "ORDER BY last_seen_ms DESC, id LIMIT ?)",
            (session.last_seen_ms, session.user_id, session.user_id, max_per_user),
        )

    async def touch_http_session(self, session_id: str, now_ms: int) -> None:
        await self.db.execute(
            "UPDATE http_sessions SET last_seen_ms = ? WHERE id = ? AND last_seen_ms < ?",
            (now_ms, session_id, now_ms),
        )

    async def end_http_session(self, session: StoredHttpSession, now_ms: int) -> None:
        await self.db.execute(
            "INSERT INTO http_sessions (id, user_id, tenant_id, created_ms, last_seen_ms, ended_ms) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET ended_ms = excluded.ended_ms",
            (
                session.id,
                session.user_id,
                session.tenant_id,
                session.created_ms,
                session.last_seen_ms,
                now_ms,
            ),
        )

    async def end_http_sessions_of_user(self, user_id: str, now_ms: int) -> None:
        await self.db.execute(
            "UPDATE http_sessions SET ended_ms = ? WHERE user_id = ? AND ended_ms IS NULL", (now_ms, user_id)
        )

    async def prune_http_sessions(self, created_before_ms: int) -> None:
        await self.db.execute("DELETE FROM http_sessions WHERE created_ms < ?", (created_before_ms,))

    # The outbox append is each backend's own (``append_notifications`` on its transaction class):
    # how positions are kept in commit order differs (docs/architecture.md §6).

    # ----- SMS -----

    async def record_inbound_id(self, connector: str, provider_message_id: str) -> bool:
        row = await self.db.fetchone(
            "INSERT INTO sms_inbound_seen (connector, provider_message_id) VALUES (?, ?) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (connector, provider_message_id),
        )
        return row is not None

    async def enqueue_outbound(
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

    async def due_outbound(self, now_ms: int, limit: int) -> list[OutboundRecord]:
        rows = await self.db.fetchall(
            f"SELECT {_OUTBOUND_COLUMNS} FROM sms_outbound "
            "WHERE status = 'pending' AND next_attempt_ms <= ? ORDER BY id LIMIT ?",
            (now_ms, limit),
        )
        return [OutboundRecord(*row) for row in rows]

    async def update_outbound(
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

    async def outbound(self, outbound_id: int) -> OutboundRecord | None:
        row = await self.db.fetchone(
            f"SELECT {_OUTBOUND_COLUMNS} FROM sms_outbound WHERE id = ?", (outbound_id,)
        )
        return OutboundRecord(*row) if row else None

    async def outbound_by_provider_id(
        self, connector: str, provider_message_id: str
    ) -> OutboundRecord | None:
        row = await self.db.fetchone(
            f"SELECT {_OUTBOUND_COLUMNS} FROM sms_outbound WHERE provider_message_id = ? AND connector = ? "
            "ORDER BY id DESC LIMIT 1",
            (provider_message_id, connector),
        )
        return OutboundRecord(*row) if row else None

    async def outbound_of_session(self, session_id: str) -> list[OutboundRecord]:
        rows = await self.db.fetchall(
            f"SELECT {_OUTBOUND_COLUMNS} FROM sms_outbound WHERE session_id = ? ORDER BY message_index",
            (session_id,),
        )
        return [OutboundRecord(*row) for row in rows]

    async def opted_out(self, service_number: str, customer_number: str) -> bool:
        row = await self.db.fetchone(
            "SELECT opted_out FROM sms_consent WHERE service_number = ? AND customer_number = ?",
            (service_number, customer_number),
        )
        return bool(row[0]) if row else False

    async def set_consent(
        self, service_number: str, customer_number: str, *, opted_out: bool, reason: str, now_ms: int
    ) -> None:
        await self.db.execute(
            "INSERT INTO sms_consent (service_number, customer_number, opted_out, reason, updated_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (service_number, customer_number) DO UPDATE SET "
            "opted_out = excluded.opted_out, reason = excluded.reason, updated_ms = excluded.updated_ms",
            (service_number, customer_number, int(opted_out), reason, now_ms),
        )
