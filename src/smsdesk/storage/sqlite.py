"""The embedded SQLite store.

SQLite is driven on the event loop's own thread: a WAL commit costs tens of microseconds, far
less than a hop to a worker thread per statement (design.md §4). One connection serves all;
transactions are serialised by an asyncio lock, and no statement ever awaits, so a transaction
is never interleaved with another coroutine's reads or writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from smsdesk.gws.representation import now_ms as _now_ms
from smsdesk.operations.ports import CommitListener, Notification, StoredNotification
from smsdesk.storage.migrations import apply_sqlite, available
from smsdesk.storage.sql import Row, SqlTransaction, prune_boundary, stored_notifications


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
        # The newest position written by the open batch: readers see it once COMMIT returns, with no
        # SELECT MAX after every commit (one writer, so nothing else can have written past it).
        self.appended_position = self._committed_position
        # Told from the COMMIT itself: the fan-out starts on the new rows in the loop turn the
        # committing operations resume in, not a turn later (docs/architecture.md §2, step 4).
        self.commit_listeners: list[CommitListener] = []

    def migrate(self) -> list[str]:
        applied = [f"{m.version:04d}_{m.name}" for m in apply_sqlite(self._db)]
        self._committed_position = self.appended_position = self._max_position()
        return applied

    async def pending_migrations(self) -> int:
        """How many known migrations this database lacks (readiness: 0 when serving is safe)."""
        try:
            done = {row[0] for row in self._db.execute("SELECT version FROM schema_migrations")}
        except sqlite3.OperationalError:  # never migrated
            done = set()
        return len([m for m in available("sqlite") if m.version not in done])

    def close(self) -> None:
        self._db.close()

    async def aclose(self) -> None:
        self.close()

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
            appended_before = self.appended_position
            try:
                yield SqliteTransaction(self._db, self)
            except BaseException:
                self._db.execute("ROLLBACK TO operation")
                self._db.execute("RELEASE operation")
                # AUTOINCREMENT hands the undone positions out again: never publish them as written.
                self.appended_position = appended_before
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
            self.appended_position = self._committed_position
            for waiter in batch:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        wrote_notifications = self.appended_position > self._committed_position
        self._committed_position = self.appended_position
        for waiter in batch:
            if not waiter.done():
                waiter.set_result(None)
        if wrote_notifications:
            for listener in self.commit_listeners:
                listener.committed(self._committed_position)

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
        return stored_notifications(rows)

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
        return stored_notifications(rows)

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
        # In the group commit like any operation: a batch may still be open (BEGIN IMMEDIATE run,
        # its COMMIT scheduled) when this runs, and a BEGIN of its own would then fail.
        async with self.transaction():
            rows = self._db.execute(
                "SELECT position, created_ms FROM outbox WHERE position <= ? "
                "AND position < (SELECT MAX(position) FROM outbox) ORDER BY position LIMIT ?",
                (upto, limit),
            ).fetchall()
            boundary = prune_boundary(rows, created_before_ms)
            if boundary is None:
                return 0
            cursor = self._db.execute("DELETE FROM outbox WHERE position <= ?", (boundary,))
            deleted = int(cursor.rowcount)
        return deleted

    def integrity_check(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


class SqliteConnection:
    """:class:`SqlConnection` over the store's one ``sqlite3`` connection: the calls never await."""

    __slots__ = ("db",)

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    async def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        self.db.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self.db.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        row: Row | None = self.db.execute(sql, params).fetchone()
        return row

    async def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self.db.execute(sql, params).fetchall()


_APPEND = "INSERT INTO outbox (tenant_id, user_id, channel, payload, created_ms) VALUES (?, ?, ?, ?, ?)"


class SqliteTransaction(SqlTransaction):
    def __init__(self, db: sqlite3.Connection, store: SqliteStore) -> None:
        super().__init__(SqliteConnection(db))
        self.raw = db
        self.store = store

    async def append_notifications(self, notifications: Sequence[Notification]) -> int:
        # One writer at a time (the store's lock), so AUTOINCREMENT order is commit order.
        created = _now_ms()
        rows = [(n.tenant_id, n.user_id, n.channel, n.payload, created) for n in notifications]
        if len(rows) == 1:
            position = self.raw.execute(_APPEND, rows[0]).lastrowid
        else:
            self.raw.executemany(_APPEND, rows)
            position = self.raw.execute("SELECT last_insert_rowid()").fetchone()[0]
        assert position is not None
        self.store.appended_position = int(position)
        return int(position)
