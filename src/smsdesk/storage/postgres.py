"""The PostgreSQL store (asyncpg), for a cluster of nodes on one database.

Every transaction runs on its own pooled connection (``database_pool_size``), so operations of one
node and of every node run concurrently; what SQLite got from its single writer, PostgreSQL gets
from row locks:

- a session is loaded ``FOR UPDATE``, so two operations on one session (an agent's Accept and the
  offer expiry, on two nodes) run one after the other and neither overwrites the other;
- inbound SMS from one customer to one number take a transaction-scoped advisory lock, so two
  messages arriving on two nodes at once find or create one session, not two;
- outbox positions come from the single ``outbox_head`` row, updated by the append, which is the
  last statement of a transaction: its lock is held until commit, so the next writer gets the next
  position only after the previous one is visible. Positions are therefore commit order with no
  holes, and a reader that sees position N has every row below N (docs/architecture.md §6).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from smsdesk.domain.model import SessionRecord
from smsdesk.gws.representation import now_ms as _now_ms
from smsdesk.operations.ports import (
    CommitListener,
    Notification,
    StorageConflict,
    StoredBayeuxClient,
    StoredNotification,
)
from smsdesk.storage.migrations import available
from smsdesk.storage.sql import Row, SqlTransaction, decode_session, prune_boundary, stored_notifications

OUTBOX_CHANNEL = "smsdesk_outbox"
"""LISTEN/NOTIFY channel on which every commit that appended notifications announces its last
position (sent by PostgreSQL at commit, in commit order)."""

NODE_APPLICATION = "smsdesk-node"
"""The application_name of each node's LISTEN connection: counting them counts the live nodes."""
_MIGRATION_LOCK = 0x5D5D_0001  # advisory lock key: nodes starting together migrate one at a time


@lru_cache(maxsize=1024)
def _numbered(sql: str) -> str:
    """``?`` placeholders (the shared dialect) to PostgreSQL's ``$1, $2, ...``."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


class PostgresConnection:
    """:class:`SqlConnection` over one asyncpg connection."""

    __slots__ = ("conn",)

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        await self.conn.execute(_numbered(sql), *params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        batch = list(rows)
        if batch:
            await self.conn.executemany(_numbered(sql), batch)

    async def fetchone(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        row: Row | None = await self.conn.fetchrow(_numbered(sql), *params)
        return row

    async def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return list(await self.conn.fetch(_numbered(sql), *params))


_APPEND = f"""
WITH head AS (
    UPDATE outbox_head SET position = position + $1 WHERE id = 1 RETURNING position
), poke AS (
    SELECT pg_notify('{OUTBOX_CHANNEL}', head.position::text) FROM head
), rows AS (
    INSERT INTO outbox (position, tenant_id, user_id, channel, payload, created_ms)
    SELECT head.position - $1 + n.ordinal, n.tenant_id, n.user_id, n.channel, n.payload, $6
      FROM head, poke,
           unnest($2::text[], $3::text[], $4::text[], $5::bytea[])
               WITH ORDINALITY AS n(tenant_id, user_id, channel, payload, ordinal)
)
SELECT position FROM head
"""


class PostgresTransaction(SqlTransaction):
    def __init__(self, conn: Conn) -> None:
        super().__init__(PostgresConnection(conn))
        self.conn = conn
        self.appended = 0
        """The last outbox position this transaction appended (0: none)."""

    async def load_session(self, tenant_id: str, session_id: str) -> SessionRecord | None:
        # FOR UPDATE: the session is read to be changed; a concurrent operation on it waits here.
        row = await self.conn.fetchrow(
            "SELECT body FROM sms_sessions WHERE id = $1 AND tenant_id = $2 FOR UPDATE", session_id, tenant_id
        )
        return decode_session(row[0]) if row else None

    async def open_session_for(
        self, tenant_id: str, service_number: str, customer_number: str
    ) -> SessionRecord | None:
        # Two messages of one customer on two nodes: the second waits, then finds the first's session.
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2 || '/' || $3))",
            tenant_id,
            service_number,
            customer_number,
        )
        return await super().open_session_for(tenant_id, service_number, customer_number)

    async def append_notifications(self, notifications: Sequence[Notification]) -> int:
        position: int = await self.conn.fetchval(
            _APPEND,
            len(notifications),
            [n.tenant_id for n in notifications],
            [n.user_id for n in notifications],
            [n.channel for n in notifications],
            [n.payload for n in notifications],
            _now_ms(),
        )
        self.appended = position
        return position


class PostgresStore:
    def __init__(self, dsn: str, pool_size: int = 10) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = threading.Lock()
        self.commit_listeners: list[CommitListener] = []

    async def pool(self) -> asyncpg.Pool:
        """The connection pool, created on first use in the running event loop."""
        if self._pool is None:
            pool = await asyncpg.create_pool(
                self.dsn,
                min_size=1,
                max_size=self.pool_size,
                server_settings={"application_name": "smsdesk"},
            )
            if self._pool is None:
                self._pool = pool
            else:
                await pool.close()
        return self._pool

    async def connect(self, application_name: str = "smsdesk") -> asyncpg.Connection:
        """A connection of its own (LISTEN, leadership): outside the pool, closed by the caller."""
        return await asyncpg.connect(self.dsn, server_settings={"application_name": application_name})

    async def live_nodes(self) -> int:
        """How many nodes serve this database now: each holds one LISTEN connection named
        ``NODE_APPLICATION`` (``storage/postgres_cluster.py``), which closes when the node dies."""
        pool = await self.pool()
        count: int = await pool.fetchval(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
            NODE_APPLICATION,
        )
        return count

    # ----- lifecycle -----

    def migrate(self) -> list[str]:
        """Apply missing migrations; runs its own event loop in a thread, so it may be called from
        synchronous code whether or not a loop is running."""
        result: list[str] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                result.extend(asyncio.run(self._migrate()))
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)

        thread = threading.Thread(target=run, name="smsdesk-migrate")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]
        return result

    async def _migrate(self) -> list[str]:
        conn = await self.connect()
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT)"
            )
            done = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
            applied = []
            for migration in available("postgres"):
                if migration.version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        migration.version,
                        migration.name,
                    )
                applied.append(f"{migration.version:04d}_{migration.name}")
            return applied
        finally:
            await conn.close()

    async def pending_migrations(self) -> int:
        """How many known migrations this database lacks (readiness: 0 when serving is safe)."""
        pool = await self.pool()
        async with pool.acquire() as conn:
            exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
            done = (
                {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")} if exists else set()
            )
        return len([m for m in available("postgres") if m.version not in done])

    def close(self) -> None:
        """Drop every connection at once (synchronous callers: the CLI, tests)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            # The pool's loop may be gone already (asyncio.run returned): its sockets close with it.
            with contextlib.suppress(RuntimeError):
                pool.terminate()

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    # ----- transactions -----

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        pool = await self.pool()
        try:
            async with pool.acquire() as conn, conn.transaction():
                tx = PostgresTransaction(conn)
                yield tx
        except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError) as error:
            raise StorageConflict(str(error)) from error
        if tx.appended:
            for listener in self.commit_listeners:
                listener.committed(tx.appended)

    # ----- the outbox, read by fan-out -----

    async def notifications_after(self, position: int, limit: int) -> list[StoredNotification]:
        pool = await self.pool()
        rows = await pool.fetch(
            "SELECT position, user_id, channel, payload FROM outbox WHERE position > $1 "
            "ORDER BY position LIMIT $2",
            position,
            limit,
        )
        return stored_notifications(rows)

    async def last_position(self) -> int:
        pool = await self.pool()
        return int(await pool.fetchval("SELECT position FROM outbox_head WHERE id = 1"))

    async def notifications_of_user_after(
        self, user_id: str, position: int, upto: int | None, limit: int
    ) -> list[StoredNotification]:
        pool = await self.pool()
        rows = await pool.fetch(
            "SELECT position, user_id, channel, payload FROM outbox "
            "WHERE user_id = $1 AND position > $2 AND ($3::bigint IS NULL OR position <= $3) "
            "ORDER BY position LIMIT $4",
            user_id,
            position,
            upto,
            limit,
        )
        return stored_notifications(rows)

    async def oldest_position(self) -> int:
        pool = await self.pool()
        value = await pool.fetchval("SELECT MIN(position) FROM outbox")
        return int(value) if value is not None else 1

    async def prune_notifications(self, created_before_ms: int, upto: int, limit: int) -> int:
        """As :meth:`SqliteStore.prune_notifications`: a prefix, never the newest row."""
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT position, created_ms FROM outbox WHERE position <= $1 "
                "AND position < (SELECT MAX(position) FROM outbox) ORDER BY position LIMIT $2",
                upto,
                limit,
            )
            boundary = prune_boundary(rows, created_before_ms)
            if boundary is None:
                return 0
            status = await conn.execute("DELETE FROM outbox WHERE position <= $1", boundary)
            return int(status.split()[-1])

    # ----- Bayeux clients of the cluster (BayeuxClientDirectory) -----

    async def bayeux_client(self, client_id: str) -> StoredBayeuxClient | None:
        pool = await self.pool()
        row = await pool.fetchrow(
            "SELECT id, user_id, tenant_id, ack, subscriptions, version, delivered, connected, last_seen_ms "
            "FROM bayeux_clients WHERE id = $1",
            client_id,
        )
        if row is None:
            return None
        return StoredBayeuxClient(
            row[0],
            row[1],
            row[2],
            bool(row[3]),
            tuple(json.loads(row[4])),
            row[5],
            row[6],
            bool(row[7]),
            row[8],
        )

    async def insert_bayeux_client(self, client: StoredBayeuxClient, now_ms: int, max_per_user: int) -> int:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO bayeux_clients (id, user_id, tenant_id, ack, subscriptions, version, delivered, "
                "connected, created_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                client.id,
                client.user_id,
                client.tenant_id,
                int(client.ack),
                json.dumps(list(client.subscriptions)),
                client.version,
                client.delivered,
                int(client.connected),
                now_ms,
            )
            if max_per_user <= 0:
                return 0
            # The per-user cap over the whole cluster: the user's oldest clients go, wherever they
            # were made; the nodes holding them answer their next message 402 (shared_clients).
            removed: int = await conn.fetchval(
                "WITH gone AS (DELETE FROM bayeux_clients WHERE id IN (SELECT id FROM bayeux_clients "
                "WHERE user_id = $1 ORDER BY created_ms DESC, id DESC OFFSET $2) RETURNING id) "
                "SELECT COUNT(*) FROM gone",
                client.user_id,
                max_per_user,
            )
            return removed

    async def set_bayeux_subscriptions(self, client_id: str, subscriptions: Sequence[str]) -> int | None:
        pool = await self.pool()
        version: int | None = await pool.fetchval(
            "UPDATE bayeux_clients SET subscriptions = $2, version = version + 1 WHERE id = $1 RETURNING version",
            client_id,
            json.dumps(sorted(subscriptions)),
        )
        return version

    async def record_bayeux_delivery(
        self, client_id: str, version: int, expected: int, delivered: int, now_ms: int
    ) -> bool:
        """Move ``delivered`` from ``expected`` to ``delivered``, unless the client changed elsewhere
        (another subscription version, or another node answered it meanwhile)."""
        pool = await self.pool()
        status = await pool.execute(
            "UPDATE bayeux_clients SET delivered = $4, connected = 1, last_seen_ms = $5 "
            "WHERE id = $1 AND version = $2 AND delivered = $3",
            client_id,
            version,
            expected,
            delivered,
            now_ms,
        )
        return status.endswith(" 1")

    async def advance_bayeux_delivery(self, client_id: str, delivered: int, now_ms: int) -> None:
        pool = await self.pool()
        await pool.execute(
            "UPDATE bayeux_clients SET delivered = GREATEST(delivered, $2), connected = 1, last_seen_ms = $3 "
            "WHERE id = $1",
            client_id,
            delivered,
            now_ms,
        )

    async def touch_bayeux_client(self, client_id: str, now_ms: int) -> None:
        pool = await self.pool()
        await pool.execute(
            "UPDATE bayeux_clients SET last_seen_ms = $2, connected = 1 WHERE id = $1", client_id, now_ms
        )

    async def delete_bayeux_client(self, client_id: str) -> None:
        pool = await self.pool()
        await pool.execute("DELETE FROM bayeux_clients WHERE id = $1", client_id)

    async def expire_bayeux_clients(self, seen_before_ms: int) -> int:
        pool = await self.pool()
        status = await pool.execute("DELETE FROM bayeux_clients WHERE last_seen_ms < $1", seen_before_ms)
        return int(status.split()[-1])
