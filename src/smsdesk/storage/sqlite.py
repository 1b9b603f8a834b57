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

from smsdesk.domain.clock import now_ms as _now_ms
from smsdesk.operations.availability import DatabaseState
from smsdesk.operations.ports import CommitListener, Notification, OutboxReader, StoredNotification
from smsdesk.storage.connection import Row
from smsdesk.storage.migrations import apply_sqlite, available
from smsdesk.storage.outbox import PRUNE_CANDIDATES, prune_boundary, stored_notifications
from smsdesk.storage.sessions import SessionsSql
from smsdesk.storage.transaction import SqlTransaction


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
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=5000")
        # Deleted content is overwritten with zeros (in the page, and whole freed pages), so that
        # what an erasure or the retention deletes leaves no readable trace in the file once the
        # write-ahead log is checkpointed (docs/reliability.md, "Erasure"). Costs a freed page one
        # more write, as zeros.
        self.db.execute("PRAGMA secure_delete=ON")
        self._lock = asyncio.Lock()
        self._batch: list[asyncio.Future[None]] | None = None
        self.committed_position = self._max_position()
        # The newest position written by the open batch: readers see it once COMMIT returns, with no
        # SELECT MAX after every commit (one writer, so nothing else can have written past it).
        self.appended_position = self.committed_position
        self.appended: list[StoredNotification] = []
        """The rows the open batch appended, handed to the commit listeners with its COMMIT."""
        # Told from the COMMIT itself: the fan-out starts on the new rows in the loop turn the
        # committing operations resume in, not a turn later (docs/architecture.md §3, step 4).
        self.commit_listeners: list[CommitListener] = []
        self.outbox: OutboxReader = SqliteOutboxReader(self)
        self.availability = DatabaseState()  # a file of this process: never away
        # One connection and one transaction at a time: the repositories are made once, not per operation.
        connection = SqliteConnection(self.db)
        self.reference_ids = SqliteReferenceIds(connection)
        self._transaction = SqlTransaction(
            connection, SessionsSql(connection), SqliteOutboxWriter(self.db, self), self.reference_ids
        )

    def migrate(self) -> list[str]:
        applied = [f"{m.version:04d}_{m.name}" for m in apply_sqlite(self.db)]
        self.committed_position = self.appended_position = self._max_position()
        return applied

    async def pending_migrations(self) -> int:
        """How many known migrations this database lacks (readiness: 0 when serving is safe)."""
        try:
            done = {row[0] for row in self.db.execute("SELECT version FROM schema_migrations")}
        except sqlite3.OperationalError:  # never migrated
            done = set()
        return len([m for m in available("sqlite") if m.version not in done])

    def close(self) -> None:
        self.db.close()

    async def aclose(self) -> None:
        self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        """One operation's transaction, committed together with the others of this loop iteration.

        Group commit: every operation runs in its own SAVEPOINT inside a shared transaction, so a
        failing one is undone alone; the shared COMMIT runs once the loop has run every operation
        that was ready, and each operation resumes (and answers its client) only after it. Writing
        the WAL once for many operations is what makes a commit cheap (docs/architecture.md §6).
        """
        async with self._lock:
            if self._batch is None:
                self.db.execute("BEGIN IMMEDIATE")
                self._batch = []
                asyncio.get_running_loop().call_soon(self._commit_batch)
            self.db.execute("SAVEPOINT operation")
            appended_before = self.appended_position
            rows_before = len(self.appended)
            try:
                yield self._transaction
            except BaseException:
                self.db.execute("ROLLBACK TO operation")
                self.db.execute("RELEASE operation")
                # AUTOINCREMENT hands the undone positions out again: never publish them as written.
                self.appended_position = appended_before
                del self.appended[rows_before:]
                self.reference_ids.undone()
                raise
            self.db.execute("RELEASE operation")
            committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._batch.append(committed)
        await committed

    async def checkpoint_truncate(self) -> str:
        """Copy the write-ahead log into the database file and truncate the log to nothing: the old
        frames of pages since rewritten (with deleted rows zeroed) hold the deleted text until then.
        Runs on this store's connection, between group commits; returns what SQLite did."""
        async with self._lock:
            if self._batch is not None:
                self._commit_now()
            busy, log_frames, checkpointed = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            return f"the write-ahead log could not be truncated: another connection is reading ({log_frames} frames)"
        return f"write-ahead log checkpointed ({checkpointed} frames) and truncated"

    def _commit_batch(self) -> None:
        if self._batch is None:
            return
        if self._lock.locked():  # an operation is mid-way: never commit half of it
            asyncio.get_running_loop().call_soon(self._commit_batch)
            return
        self._commit_now()

    def _commit_now(self) -> None:
        batch = self._batch
        assert batch is not None
        self._batch = None
        rows, self.appended = self.appended, []
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            self.appended_position = self.committed_position
            self.reference_ids.undone()
            for waiter in batch:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        self.reference_ids.committed()
        wrote_notifications = self.appended_position > self.committed_position
        self.committed_position = self.appended_position
        for waiter in batch:
            if not waiter.done():
                waiter.set_result(None)
        if wrote_notifications:
            for listener in self.commit_listeners:
                listener.committed(self.committed_position, rows)

    def _max_position(self) -> int:
        try:
            return int(self.db.execute("SELECT COALESCE(MAX(position), 0) FROM outbox").fetchone()[0])
        except sqlite3.OperationalError:  # before the first migration
            return 0

    def integrity_check(self) -> str:
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])


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


class SqliteReferenceIds:
    """One node: referenceIds handed out from memory, from a block of numbers reserved in
    ``counters`` (migration 0010). A block is reserved in the transaction of the operation that
    needs it; if that operation or its group commit is undone, so is the reservation, and the block
    is forgotten before anyone else can take a number from it."""

    __slots__ = ("db", "end", "next_value", "reserved")

    BLOCK = 1_000

    def __init__(self, db: SqliteConnection) -> None:
        self.db = db
        self.next_value = 0
        self.end = 0
        self.reserved = False
        """Whether the block was reserved in the group commit still open."""

    async def next(self) -> int:
        if self.next_value >= self.end:
            row = await self.db.fetchone(
                "UPDATE counters SET value = value + ? WHERE name = 'reference_id' RETURNING value - ?",
                (self.BLOCK, self.BLOCK),
            )
            assert row is not None, "no reference_id counter (migration 0010)"
            self.next_value, self.end, self.reserved = int(row[0]), int(row[0]) + self.BLOCK, True
        value = self.next_value
        self.next_value += 1
        return value

    def undone(self) -> None:
        if self.reserved:
            self.next_value = self.end = 0
            self.reserved = False

    def committed(self) -> None:
        self.reserved = False


_APPEND = "INSERT INTO outbox (tenant_id, user_id, channel, payload, created_ms) VALUES (?, ?, ?, ?, ?)"


class SqliteOutboxWriter:
    """Positions are AUTOINCREMENT rowids: one writer at a time (the store's lock), so their order is
    commit order; an undone operation's positions are taken back (``SqliteStore.transaction``)."""

    __slots__ = ("db", "store")

    def __init__(self, db: sqlite3.Connection, store: SqliteStore) -> None:
        self.db = db
        self.store = store

    async def append(self, notifications: Sequence[Notification]) -> None:
        created = _now_ms()
        rows = [(n.tenant_id, n.user_id, n.channel, n.payload, created) for n in notifications]
        if len(rows) == 1:
            last = self.db.execute(_APPEND, rows[0]).lastrowid
        else:
            self.db.executemany(_APPEND, rows)
            last = self.db.execute("SELECT last_insert_rowid()").fetchone()[0]
        assert last is not None
        # One writer: the rows of one append have consecutive positions, ending at the last rowid.
        first = int(last) - len(notifications) + 1
        self.store.appended.extend(
            StoredNotification(first + i, n.user_id, n.channel, n.payload)
            for i, n in enumerate(notifications)
        )
        self.store.appended_position = int(last)


class SqliteOutboxReader:
    """Reads see only what the group commit has committed (``committed_position``), never rows of the
    batch still open on the same connection."""

    __slots__ = ("store",)

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def after(self, position: int, limit: int) -> list[StoredNotification]:
        rows = self.store.db.execute(
            "SELECT position, user_id, channel, payload FROM outbox WHERE position > ? AND position <= ? "
            "ORDER BY position LIMIT ?",
            (position, self.store.committed_position, limit),
        ).fetchall()
        return stored_notifications(rows)

    async def last_position(self) -> int:
        return self.store.committed_position

    async def of_user_after(
        self, user_id: str, position: int, upto: int | None, limit: int
    ) -> list[StoredNotification]:
        rows = self.store.db.execute(
            "SELECT position, user_id, channel, payload FROM outbox "
            "WHERE user_id = ? AND position > ? AND position <= ? ORDER BY position LIMIT ?",
            (
                user_id,
                position,
                min(upto, self.store.committed_position)
                if upto is not None
                else self.store.committed_position,
                limit,
            ),
        ).fetchall()
        return stored_notifications(rows)

    async def oldest_position(self) -> int:
        row = self.store.db.execute("SELECT MIN(position) FROM outbox").fetchone()
        return int(row[0]) if row[0] is not None else 1

    async def prune(self, created_before_ms: int, upto: int, limit: int) -> int:
        # In the group commit like any operation: a batch may still be open (BEGIN IMMEDIATE run,
        # its COMMIT scheduled) when this runs, and a BEGIN of its own would then fail.
        async with self.store.transaction():
            rows = self.store.db.execute(PRUNE_CANDIDATES, (upto, limit)).fetchall()
            boundary = prune_boundary(rows, created_before_ms)
            if boundary is None:
                return 0
            cursor = self.store.db.execute("DELETE FROM outbox WHERE position <= ?", (boundary,))
            deleted = int(cursor.rowcount)
        return deleted
