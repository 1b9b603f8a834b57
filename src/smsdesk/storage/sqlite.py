"""The embedded SQLite store.

SQLite is driven on the event loop's own thread: a WAL commit costs tens of microseconds, far
less than a hop to a worker thread per statement (design.md §4). One connection serves all;
transactions are serialised by an asyncio lock, and no statement ever awaits, so a transaction
is never interleaved with another coroutine's reads or writes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec

from smsdesk.domain.agents import SMS_CHANNEL, ChannelState
from smsdesk.domain.model import Message, Phase, SessionRecord
from smsdesk.domain.routing import AgentAvailability
from smsdesk.gws.representation import now_ms as _now_ms
from smsdesk.operations.ports import (
    AgentChannel,
    Notification,
    OutboundRecord,
    ServiceNumber,
    StoredNotification,
    User,
)
from smsdesk.storage.migrations import apply_sqlite
from smsdesk.storage.supervision_sql import SupervisionSql

_encode = msgspec.json.encode
_decode_session = msgspec.json.Decoder(SessionRecord).decode
_decode_message = msgspec.json.Decoder(Message).decode

_USER_COLUMNS = "id, tenant_id, user_name, first_name, last_name, roles, enabled, password_hash"
_OUTBOUND_COLUMNS = (
    "id, tenant_id, session_id, message_index, service_number, customer_number, text, status, attempts, "
    "next_attempt_ms, provider_message_id, error, encoding, segments, error_code, connector"
)


def _user(row: sqlite3.Row | tuple[object, ...] | None) -> User | None:
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


def sqlite_path(database_url: str) -> str:
    """``sqlite:///relative.db``, ``sqlite:////absolute.db`` or a bare path."""
    if database_url.startswith("sqlite:///"):
        return database_url[len("sqlite:///") :]
    if database_url.startswith("sqlite://"):
        return database_url[len("sqlite://") :]
    return database_url


class SqliteStore:
    def __init__(self, path: str, *, synchronous: str = "NORMAL") -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._lock = asyncio.Lock()
        self._batch: list[asyncio.Future[None]] | None = None
        self._committed_position = self._max_position()

    def migrate(self) -> list[str]:
        applied = [f"{m.version:04d}_{m.name}" for m in apply_sqlite(self._db)]
        self._committed_position = self._max_position()
        return applied

    def close(self) -> None:
        self._db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        """One operation's transaction, committed together with the others of this loop iteration.

        Group commit: every operation runs in its own SAVEPOINT inside a shared transaction, so a
        failing one is undone alone; the shared COMMIT runs once the loop has run every operation
        that was ready, and each operation resumes (and answers its client) only after it. Writing
        the WAL once for many operations is what makes a commit cheap (docs/architecture.md §6).
        """
        async with self._lock:
            if self._batch is None:
                self._db.execute("BEGIN IMMEDIATE")
                self._batch = []
                asyncio.get_running_loop().call_soon(self._commit_batch)
            self._db.execute("SAVEPOINT operation")
            try:
                yield SqliteTransaction(self._db)
            except BaseException:
                self._db.execute("ROLLBACK TO operation")
                self._db.execute("RELEASE operation")
                raise
            self._db.execute("RELEASE operation")
            committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._batch.append(committed)
        await committed

    def _commit_batch(self) -> None:
        batch = self._batch
        if batch is None:
            return
        if self._lock.locked():  # an operation is mid-way: never commit half of it
            asyncio.get_running_loop().call_soon(self._commit_batch)
            return
        self._batch = None
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            for waiter in batch:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        self._committed_position = self._max_position()
        for waiter in batch:
            if not waiter.done():
                waiter.set_result(None)

    def _max_position(self) -> int:
        try:
            return int(self._db.execute("SELECT COALESCE(MAX(position), 0) FROM outbox").fetchone()[0])
        except sqlite3.OperationalError:  # before the first migration
            return 0

    async def notifications_after(self, position: int, limit: int) -> list[StoredNotification]:
        rows = self._db.execute(
            "SELECT position, user_id, channel, payload FROM outbox WHERE position > ? AND position <= ? "
            "ORDER BY position LIMIT ?",
            (position, self._committed_position, limit),
        ).fetchall()
        return [StoredNotification(int(p), str(u), str(c), bytes(b)) for p, u, c, b in rows]

    async def last_position(self) -> int:
        return self._committed_position

    async def notifications_of_user_after(
        self, user_id: str, position: int, upto: int | None, limit: int
    ) -> list[StoredNotification]:
        """One agent's rows with ``position < p <= upto`` (no upper bound when ``upto`` is None), in
        order: what a reconnecting client missed (index ``outbox_user_position``)."""
        rows = self._db.execute(
            "SELECT position, user_id, channel, payload FROM outbox "
            "WHERE user_id = ? AND position > ? AND position <= ? ORDER BY position LIMIT ?",
            (
                user_id,
                position,
                min(upto, self._committed_position) if upto is not None else self._committed_position,
                limit,
            ),
        ).fetchall()
        return [StoredNotification(int(p), str(u), str(c), bytes(b)) for p, u, c, b in rows]

    async def oldest_position(self) -> int:
        """The oldest position still stored: every row from here on is there, nothing before it is
        (pruning removes a prefix and keeps the newest row). 1 when nothing was ever written."""
        row = self._db.execute("SELECT MIN(position) FROM outbox").fetchone()
        return int(row[0]) if row[0] is not None else 1

    async def prune_notifications(self, created_before_ms: int, upto: int, limit: int) -> int:
        """Delete up to ``limit`` of the oldest rows, stopping at the first one created at or after
        ``created_before_ms`` or past ``upto``, and never the newest row (it keeps ``last_position``
        and ``oldest_position`` meaningful). Only a prefix goes, so ``oldest_position() - 1`` is
        exactly the highest pruned position. Returns how many rows were deleted."""
        async with self._lock:
            rows = self._db.execute(
                "SELECT position, created_ms FROM outbox WHERE position <= ? "
                "AND position < (SELECT MAX(position) FROM outbox) ORDER BY position LIMIT ?",
                (upto, limit),
            ).fetchall()
            boundary = None
            for position, created in rows:
                if int(created) >= created_before_ms:
                    break
                boundary = int(position)
            if boundary is None:
                return 0
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute("DELETE FROM outbox WHERE position <= ?", (boundary,))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return int(cursor.rowcount)

    def integrity_check(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


class SqliteTransaction(SupervisionSql):
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db: sqlite3.Connection = db

    # ----- users and tenants -----

    async def user_by_name(self, user_name: str) -> User | None:
        return _user(
            self.db.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE user_name = ?", (user_name,)).fetchone()
        )

    async def user_by_id(self, tenant_id: str, user_id: str) -> User | None:
        return _user(
            self.db.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE id = ? AND tenant_id = ?", (user_id, tenant_id)
            ).fetchone()
        )

    async def users(self, tenant_id: str | None = None) -> list[User]:
        if tenant_id is None:
            rows = self.db.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY user_name").fetchall()
        else:
            rows = self.db.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE tenant_id = ? ORDER BY user_name", (tenant_id,)
            ).fetchall()
        return [u for u in map(_user, rows) if u is not None]

    async def insert_user(self, user: User) -> None:
        self.db.execute(
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
        self.db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    async def ensure_tenant(self, tenant_id: str, name: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO tenants (id, name) VALUES (?, ?)", (tenant_id, name))

    async def tenant_by_name(self, name: str) -> str | None:
        row = self.db.execute("SELECT id FROM tenants WHERE id = ? OR name = ?", (name, name)).fetchone()
        return str(row[0]) if row else None

    async def next_reference_id(self, user_id: str) -> int:
        row = self.db.execute(
            "UPDATE users SET last_reference_id = last_reference_id + 1 WHERE id = ? RETURNING last_reference_id",
            (user_id,),
        ).fetchone()
        return int(row[0])

    # ----- queues and numbers -----

    async def queue_exists(self, tenant_id: str, name: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM queues WHERE tenant_id = ? AND name = ?", (tenant_id, name)
        ).fetchone()
        return row is not None

    async def ensure_queue(self, tenant_id: str, name: str, members: Sequence[str]) -> None:
        self.db.execute("INSERT OR IGNORE INTO queues (tenant_id, name) VALUES (?, ?)", (tenant_id, name))
        self.db.executemany(
            "INSERT OR IGNORE INTO queue_members (tenant_id, queue, user_id) VALUES (?, ?, ?)",
            [(tenant_id, name, member) for member in members],
        )

    async def service_number(self, number: str) -> ServiceNumber | None:
        row = self.db.execute(
            "SELECT tenant_id, number, queue, connector FROM service_numbers WHERE number = ?", (number,)
        ).fetchone()
        return ServiceNumber(*map(str, row)) if row else None

    async def ensure_service_number(self, number: ServiceNumber) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO service_numbers (number, tenant_id, queue, connector) VALUES (?, ?, ?, ?)",
            (number.number, number.tenant_id, number.queue, number.connector),
        )

    # ----- agent channels -----

    async def agent_channels(self, user_id: str) -> list[AgentChannel]:
        rows = self.db.execute(
            "SELECT channel, state FROM agent_channels WHERE user_id = ? ORDER BY channel", (user_id,)
        ).fetchall()
        return [AgentChannel(str(c), ChannelState(str(s))) for c, s in rows]

    async def set_agent_channel(
        self, tenant_id: str, user_id: str, channel: str, state: ChannelState
    ) -> None:
        self.db.execute(
            "INSERT INTO agent_channels (user_id, tenant_id, channel, state) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, channel) DO UPDATE SET state = excluded.state",
            (user_id, tenant_id, channel, state.value),
        )

    async def clear_agent_channels(self, user_id: str) -> None:
        self.db.execute("DELETE FROM agent_channels WHERE user_id = ?", (user_id,))

    async def routing_candidates(self, tenant_id: str, queue: str, capacity: int) -> list[AgentAvailability]:
        rows = self.db.execute(
            """
            SELECT m.user_id, c.state, u.last_offer_ms,
                   (SELECT COUNT(*) FROM session_parties p
                     WHERE p.user_id = m.user_id AND p.state IN ('Invited', 'Chatting', 'LeftChat'))
              FROM queue_members m
              JOIN agent_channels c ON c.user_id = m.user_id AND c.channel = ?
              JOIN users u ON u.id = m.user_id AND u.enabled = 1
             WHERE m.tenant_id = ? AND m.queue = ?
            """,
            (SMS_CHANNEL, tenant_id, queue),
        ).fetchall()
        return [
            AgentAvailability(
                str(uid), state == ChannelState.READY.value, int(load), capacity, int(last_offer)
            )
            for uid, state, last_offer, load in rows
        ]

    async def note_offer(self, user_id: str, now_ms: int) -> None:
        self.db.execute("UPDATE users SET last_offer_ms = ? WHERE id = ?", (now_ms, user_id))

    # ----- sessions -----

    async def load_session(self, tenant_id: str, session_id: str) -> SessionRecord | None:
        row = self.db.execute(
            "SELECT body FROM sms_sessions WHERE id = ? AND tenant_id = ?", (session_id, tenant_id)
        ).fetchone()
        return _decode_session(row[0]) if row else None

    async def open_session_for(
        self, tenant_id: str, service_number: str, customer_number: str
    ) -> SessionRecord | None:
        row = self.db.execute(
            "SELECT body FROM sms_sessions WHERE tenant_id = ? AND service_number = ? AND customer_number = ? "
            "AND customer_open = 1 AND phase != 'done' ORDER BY received_ms DESC LIMIT 1",
            (tenant_id, service_number, customer_number),
        ).fetchone()
        return _decode_session(row[0]) if row else None

    async def save_session(
        self, record: SessionRecord, next_deadline_ms: int | None, parties_changed: bool = True
    ) -> None:
        self.db.execute(
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
                _encode(record),
            ),
        )
        if not parties_changed:
            return
        self.db.executemany(
            "INSERT INTO session_parties (session_id, user_id, tenant_id, state) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, session_id) DO UPDATE SET state = excluded.state",
            [(record.id, p.user_id, record.tenant_id, p.state.value) for p in record.parties.values()],
        )

    async def append_messages(self, session_id: str, messages: Sequence[Message]) -> None:
        self.db.executemany(
            "INSERT INTO messages (session_id, idx, body) VALUES (?, ?, ?)",
            [(session_id, m.index, _encode(m)) for m in messages],
        )

    async def messages(self, session_id: str, start_index: int, count: int) -> list[Message]:
        limit = count if count > 0 else -1
        rows = self.db.execute(
            "SELECT body FROM messages WHERE session_id = ? AND idx >= ? ORDER BY idx LIMIT ?",
            (session_id, start_index, limit),
        ).fetchall()
        return [_decode_message(row[0]) for row in rows]

    async def sessions_of_user(self, tenant_id: str, user_id: str) -> list[SessionRecord]:
        rows = self.db.execute(
            "SELECT s.body FROM session_parties p JOIN sms_sessions s ON s.id = p.session_id "
            "WHERE p.user_id = ? AND p.tenant_id = ? AND p.state IN ('Invited', 'Chatting', 'LeftChat') "
            "ORDER BY s.received_ms",
            (user_id, tenant_id),
        ).fetchall()
        return [_decode_session(row[0]) for row in rows]

    async def waiting_sessions(self, tenant_id: str, queue: str | None) -> list[str]:
        if queue is None:
            rows = self.db.execute(
                "SELECT id FROM sms_sessions WHERE tenant_id = ? AND phase = ? ORDER BY received_ms",
                (tenant_id, Phase.WAITING.value),
            ).fetchall()
        else:
            rows = self.db.execute(
                "SELECT id FROM sms_sessions WHERE tenant_id = ? AND phase = ? AND queue = ? ORDER BY received_ms",
                (tenant_id, Phase.WAITING.value, queue),
            ).fetchall()
        return [str(row[0]) for row in rows]

    async def sessions_with_expired_offers(self, now_ms: int) -> list[tuple[str, str]]:
        rows = self.db.execute(
            "SELECT tenant_id, id FROM sms_sessions WHERE offer_deadline IS NOT NULL AND offer_deadline <= ?",
            (now_ms,),
        ).fetchall()
        return [(str(t), str(i)) for t, i in rows]

    # ----- outbox -----

    async def append_notifications(self, notifications: Sequence[Notification]) -> int:
        created = _now_ms()
        self.db.executemany(
            "INSERT INTO outbox (tenant_id, user_id, channel, payload, created_ms) VALUES (?, ?, ?, ?, ?)",
            [(n.tenant_id, n.user_id, n.channel, n.payload, created) for n in notifications],
        )
        row = self.db.execute("SELECT last_insert_rowid()").fetchone()
        return int(row[0])

    # ----- SMS -----

    async def record_inbound_id(self, connector: str, provider_message_id: str) -> bool:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO sms_inbound_seen (connector, provider_message_id) VALUES (?, ?)",
            (connector, provider_message_id),
        )
        return cursor.rowcount == 1

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
        cursor = self.db.execute(
            "INSERT INTO sms_outbound (tenant_id, session_id, message_index, service_number, customer_number, text, "
            "status, next_attempt_ms, created_ms, updated_ms, encoding, segments) "
            "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
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
        return int(cursor.lastrowid or 0)

    async def due_outbound(self, now_ms: int, limit: int) -> list[OutboundRecord]:
        rows = self.db.execute(
            f"SELECT {_OUTBOUND_COLUMNS} FROM sms_outbound "
            "WHERE status = 'pending' AND next_attempt_ms <= ? ORDER BY id LIMIT ?",
            (now_ms, limit),
        ).fetchall()
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
        self.db.execute(
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
        row = self.db.execute(
            f"SELECT {_OUTBOUND_COLUMNS} FROM sms_outbound WHERE id = ?", (outbound_id,)
        ).fetchone()
        return OutboundRecord(*row) if row else None

    async def outbound_by_provider_id(
        self, connector: str, provider_message_id: str
    ) -> OutboundRecord | None:
        row = self.db.execute(
            f"SELECT {_OUTBOUND_COLUMNS} FROM sms_outbound WHERE provider_message_id = ? AND connector = ? "
            "ORDER BY id DESC LIMIT 1",
            (provider_message_id, connector),
        ).fetchone()
        return OutboundRecord(*row) if row else None

    async def outbound_of_session(self, session_id: str) -> list[OutboundRecord]:
        rows = self.db.execute(
            f"SELECT {_OUTBOUND_COLUMNS} FROM sms_outbound WHERE session_id = ? ORDER BY message_index",
            (session_id,),
        ).fetchall()
        return [OutboundRecord(*row) for row in rows]

    async def opted_out(self, service_number: str, customer_number: str) -> bool:
        row = self.db.execute(
            "SELECT opted_out FROM sms_consent WHERE service_number = ? AND customer_number = ?",
            (service_number, customer_number),
        ).fetchone()
        return bool(row[0]) if row else False

    async def set_consent(
        self, service_number: str, customer_number: str, *, opted_out: bool, reason: str, now_ms: int
    ) -> None:
        self.db.execute(
            "INSERT INTO sms_consent (service_number, customer_number, opted_out, reason, updated_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (service_number, customer_number) DO UPDATE SET "
            "opted_out = excluded.opted_out, reason = excluded.reason, updated_ms = excluded.updated_ms",
            (service_number, customer_number, int(opted_out), reason, now_ms),
        )
