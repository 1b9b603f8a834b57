"""The PostgreSQL store (asyncpg), for a cluster of nodes on one database.

Every transaction runs on its own pooled connection (``database_pool_size``), so operations of one
node and of every node run concurrently; what SQLite got from its single writer, PostgreSQL gets
from row locks:

- a session is loaded ``FOR UPDATE``, so two operations on one session (an agent's Accept and the
  offer expiry, on two nodes) run one after the other and neither overwrites the other;
- inbound SMS from one customer to one number take a transaction-scoped advisory lock, so two
  messages arriving on two nodes at once find or create one session, not two;
- outbox rows are numbered inside COMMIT, from the single ``outbox_head`` row, by a deferred
  trigger (migration 0011): the head's lock is held for the commit alone, the next transaction to
  number waits until this one is visible, so positions are commit order with no holes and a reader
  that sees position N has every row below N (docs/architecture.md §6). The same trigger announces
  the positions (and, when they fit, the rows) to every node: :meth:`PostgresStore.announced`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import threading
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from smsdesk.domain.clock import now_ms as _now_ms
from smsdesk.domain.model import SessionRecord
from smsdesk.operations.ports import (
    CommitListener,
    Notification,
    OutboxReader,
    StorageConflict,
    StoredNotification,
)
from smsdesk.storage.connection import Row
from smsdesk.storage.migrations import available
from smsdesk.storage.outbox import PRUNE_CANDIDATES, prune_boundary, stored_notifications
from smsdesk.storage.sessions import OPEN_FOR_CUSTOMER, SessionsSql, session_of
from smsdesk.storage.transaction import SqlTransaction

log = logging.getLogger("smsdesk.storage")

OUTBOX_CHANNEL = "smsdesk_outbox"
"""LISTEN/NOTIFY channel on which every commit that appended notifications announces its positions
(sent by PostgreSQL at commit, in commit order; :class:`Announcement`)."""

CLIENTS_CHANNEL = "smsdesk_clients"
"""LISTEN/NOTIFY channel on which nodes hand Bayeux clients over (``realtime/shared_clients.py``)."""

NODE_APPLICATION = "smsdesk-node"
"""The application_name of each node's LISTEN connection, followed by the node's id: counting them
counts the live nodes, and a node whose connection is gone is dead to the others."""
DELIVERY_POOL_SIZE = 3
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


_APPEND = """
WITH appended AS (
    INSERT INTO outbox (position, tenant_id, user_id, channel, payload, created_ms)
    SELECT -nextval('outbox_pending'), n.tenant_id, n.user_id, n.channel, n.payload, $5
      FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY
           AS n(tenant_id, user_id, channel, payload, ordinal)
     ORDER BY n.ordinal
    RETURNING position
)
SELECT pg_current_xact_id()::text,
       set_config('smsdesk.pending',
                  concat_ws(',', NULLIF(current_setting('smsdesk.pending', true), ''),
                            (SELECT string_agg(position::text, ',' ORDER BY position DESC) FROM appended)),
                  true),
       set_config('smsdesk.announce', $6, true)
"""
"""Rows get a temporary (negative) position, named in ``smsdesk.pending`` in the order they were
appended; the ``outbox_number`` trigger numbers them inside COMMIT (migration 0011) and announces
them, with their rows, when ``$6`` is ``rows`` (other nodes listen);
``off`` when this node serves the database alone: it reads what it committed instead, which
several commits share under load, where an announcement costs every commit a notification.
Returns the transaction's id, which the announcement carries."""


@dataclass(frozen=True, slots=True)
class Announcement:
    """What a commit that appended rows tells every node on ``smsdesk_outbox``: its positions, its
    transaction's id, and the rows themselves when they fit in a notification."""

    first: int
    last: int
    transaction: str
    rows: list[StoredNotification] | None

    @classmethod
    def parse(cls, payload: str) -> Announcement | None:
        head, _, rows_json = payload.partition("\n")
        try:
            first_text, last_text, transaction = head.split(" ")
            first, last = int(first_text), int(last_text)
            rows = None
            if rows_json:
                decoded = _decode_rows(rows_json.encode())
                if len(decoded) != last - first + 1:
                    return None
                rows = [
                    StoredNotification(first + i, user_id, channel, bytes(payload))
                    for i, (user_id, channel, payload) in enumerate(decoded)
                ]
        except (ValueError, msgspec.DecodeError):
            return None
        return cls(first, last, transaction, rows)


_decode_rows = msgspec.json.Decoder(list[tuple[str, str, msgspec.Raw]]).decode


class PostgresSessions(SessionsSql):
    """Sessions with PostgreSQL's locks: many transactions run at once here, on many nodes."""

    __slots__ = ("conn", "reference_ids")

    ARRIVAL = "id"  # the same millisecond on several nodes has no order to keep: any stable one

    def __init__(self, conn: Conn, reference_ids: PostgresReferenceIds) -> None:
        super().__init__(PostgresConnection(conn))
        self.conn = conn
        self.reference_ids = reference_ids

    async def load(self, tenant_id: str, session_id: str) -> SessionRecord | None:
        # FOR UPDATE: the session is read to be changed; a concurrent operation on it waits here.
        # The operation's referenceId comes along, a round trip saved (a number never used is lost).
        row = await self.conn.fetchrow(
            "SELECT body, nextval('reference_ids') FROM sms_sessions WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
            session_id,
            tenant_id,
        )
        if row is None:
            return None
        self.reference_ids.drawn = int(row[1])
        return session_of(row)

    async def open_for(
        self, tenant_id: str, service_number: str, customer_number: str
    ) -> SessionRecord | None:
        # Two messages of one customer on two nodes: the second waits, then finds the first's session.
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2 || '/' || $3))",
            tenant_id,
            service_number,
            customer_number,
        )
        return session_of(
            await self.db.fetchone(OPEN_FOR_CUSTOMER, (tenant_id, service_number, customer_number))
        )


class PostgresReferenceIds:
    """A sequence (migration 0010): every node's requests draw from it, in the order they ask. The
    transaction's session load draws one as it goes (``PostgresSessions.load``)."""

    __slots__ = ("conn", "drawn")

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.drawn: int | None = None

    async def next(self) -> int:
        if self.drawn is not None:
            value, self.drawn = self.drawn, None
            return value
        drawn: int = await self.conn.fetchval("SELECT nextval('reference_ids')")
        return drawn


class PostgresOutboxWriter:
    """Appends with temporary positions; the rows are kept by transaction id until the commit's
    announcement gives their positions (:meth:`PostgresStore.announced`)."""

    __slots__ = ("announced", "conn", "store", "transaction")

    def __init__(self, conn: Conn, store: PostgresStore) -> None:
        self.conn = conn
        self.store = store
        self.transaction: str | None = None
        """The transaction's id once it appended (None: it notifies nobody)."""
        self.announced = False
        """Whether its commit is announced (other nodes listen), or this node reads it."""

    async def append(self, notifications: Sequence[Notification]) -> None:
        transaction: str = await self.conn.fetchval(
            _APPEND,
            [n.tenant_id for n in notifications],
            [n.user_id for n in notifications],
            [n.channel for n in notifications],
            [n.payload for n in notifications],
            _now_ms(),
            "rows" if self.store.other_nodes else "off",
        )
        self.transaction = transaction
        self.announced = self.store.other_nodes
        if self.announced:
            # Kept before COMMIT is sent: the announcement may reach this node before COMMIT's reply.
            self.store.appending[transaction] = list(notifications)


async def _nothing_to_reset(conn: Conn) -> None:
    """A pooled connection goes back to the pool as it came: asyncpg's default reset runs four
    statements on every release (``CLOSE ALL``, ``UNLISTEN *``, ``RESET ALL``, unlocking advisory
    locks) for session state smsdesk never sets on pooled connections. LISTEN and session-level
    advisory locks live on connections of their own (``postgres_cluster.py``); an open transaction is
    still ended by asyncpg itself."""


class PostgresStore:
    def __init__(self, dsn: str, pool_size: int = 10) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._delivery_pool: asyncpg.Pool | None = None
        self._pool_lock = threading.Lock()
        self.commit_listeners: list[CommitListener] = []
        self.outbox: OutboxReader = PostgresOutboxReader(self)
        self.other_nodes = True
        """Whether other nodes serve this database (told by the cluster's count of them): only then do
        announcements carry the rows."""
        self.node = secrets.token_hex(6)
        """This process's id in the cluster (its LISTEN connection's application_name says it)."""
        self.appending: dict[str, list[Notification]] = {}
        """Rows this node appended, by transaction id, until their commit's announcement numbers them."""

    async def pool(self) -> asyncpg.Pool:
        """The operations' connection pool, created on first use in the running event loop."""
        if self._pool is None:
            pool = await self._create_pool(self.pool_size, "smsdesk")
            if self._pool is None:
                self._pool = pool
            else:
                await pool.close()
        return self._pool

    async def delivery_pool(self) -> asyncpg.Pool:
        """A few connections for delivering notifications (the fan-out's reads, replays, Bayeux
        clients changing hands), so that a desktop's notifications never queue behind operations
        waiting for the operations' pool."""
        if self._delivery_pool is None:
            pool = await self._create_pool(DELIVERY_POOL_SIZE, "smsdesk-delivery")
            if self._delivery_pool is None:
                self._delivery_pool = pool
            else:
                await pool.close()
        return self._delivery_pool

    async def _create_pool(self, size: int, application_name: str) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=size,
            server_settings={"application_name": application_name},
            reset=_nothing_to_reset,
        )

    async def connect(self, application_name: str = "smsdesk") -> asyncpg.Connection:
        """A connection of its own (LISTEN, leadership): outside the pool, closed by the caller."""
        return await asyncpg.connect(self.dsn, server_settings={"application_name": application_name})

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
        pools = [p for p in (self._pool, self._delivery_pool) if p is not None]
        self._pool = self._delivery_pool = None
        for pool in pools:
            # The pool's loop may be gone already (asyncio.run returned): its sockets close with it.
            with contextlib.suppress(RuntimeError):
                pool.terminate()

    async def aclose(self) -> None:
        pools = [p for p in (self._pool, self._delivery_pool) if p is not None]
        self._pool = self._delivery_pool = None
        for pool in pools:
            await pool.close()

    # ----- transactions -----

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        pool = await self.pool()
        outbox: PostgresOutboxWriter | None = None
        try:
            async with pool.acquire() as conn, conn.transaction():
                outbox = PostgresOutboxWriter(conn, self)
                reference_ids = PostgresReferenceIds(conn)
                yield SqlTransaction(
                    PostgresConnection(conn), PostgresSessions(conn, reference_ids), outbox, reference_ids
                )
        except BaseException as error:
            if outbox is not None and outbox.transaction is not None:
                # Rolled back, or its outcome unknown: either way no announcement will use the rows
                # (one that does arrive carries them, or the fan-out reads them).
                self.appending.pop(outbox.transaction, None)
            # A unique violation here is a concurrent transaction that committed the same key first
            # (each write checks for its key before it inserts): run again, the check sees it.
            if isinstance(
                error,
                (asyncpg.DeadlockDetectedError, asyncpg.SerializationError, asyncpg.UniqueViolationError),
            ):
                raise StorageConflict(str(error)) from error
            raise
        if outbox.transaction is not None and not outbox.announced:
            for listener in self.commit_listeners:
                listener.committed(None, None)  # unannounced: the fan-out reads what it committed

    def announced(self, payload: str) -> None:
        """A commit's announcement reached this node (``postgres_cluster.PostgresListener``): tell
        the commit listeners, with the rows when this node appended them or the announcement carries
        them."""
        announcement = Announcement.parse(payload)
        if announcement is None:  # never sent by smsdesk: the fan-out's catch-up reads what it was about
            log.warning("ignored an unreadable outbox announcement %r", payload[:80])
            return
        rows = announcement.rows
        mine = self.appending.pop(announcement.transaction, None)
        if mine is not None and len(mine) == announcement.last - announcement.first + 1:
            rows = [
                StoredNotification(announcement.first + i, n.user_id, n.channel, n.payload)
                for i, n in enumerate(mine)
            ]
        for listener in self.commit_listeners:
            listener.committed(announcement.last, rows)

    def forget_appending(self) -> None:
        """The announcements of commits made while nobody listened are lost: the fan-out reads the
        outbox instead (the listener reconnected), so their rows need not be kept."""
        self.appending.clear()


class PostgresOutboxReader:
    """Reads on pooled connections, outside any operation's transaction."""

    __slots__ = ("store",)

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def after(self, position: int, limit: int) -> list[StoredNotification]:
        pool = await self.store.delivery_pool()
        rows = await pool.fetch(
            "SELECT position, user_id, channel, payload FROM outbox WHERE position > $1 "
            "ORDER BY position LIMIT $2",
            position,
            limit,
        )
        return stored_notifications(rows)

    async def last_position(self) -> int:
        pool = await self.store.delivery_pool()
        return int(await pool.fetchval("SELECT position FROM outbox_head WHERE id = 1"))

    async def of_user_after(
        self, user_id: str, position: int, upto: int | None, limit: int
    ) -> list[StoredNotification]:
        pool = await self.store.delivery_pool()
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
        pool = await self.store.delivery_pool()
        # Positions start at 1; below 0 lie the temporary positions of rows numbered since, whose
        # dead index entries an unbounded MIN would walk one by one until vacuum clears them.
        value = await pool.fetchval("SELECT MIN(position) FROM outbox WHERE position > 0")
        return int(value) if value is not None else 1

    async def prune(self, created_before_ms: int, upto: int, limit: int) -> int:
        pool = await self.store.delivery_pool()
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_numbered(PRUNE_CANDIDATES), upto, limit)
            boundary = prune_boundary(rows, created_before_ms)
            if boundary is None:
                return 0
            status = await conn.execute("DELETE FROM outbox WHERE position > 0 AND position <= $1", boundary)
            return int(status.split()[-1])
