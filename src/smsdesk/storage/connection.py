"""The one thing every repository needs from a database driver: statements inside the current
transaction, in SQL both backends run (``?`` placeholders, ``ON CONFLICT``, ``RETURNING``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeAlias

Row: TypeAlias = Any
"""A result row: a tuple from sqlite3, a Record from asyncpg; both index and unpack alike."""

NO_LIMIT = 2**62
""""All rows" for a LIMIT: SQLite's LIMIT -1 is an error in PostgreSQL."""


class SqlConnection(Protocol):
    """What the shared queries need from a driver, inside the current transaction."""

    async def execute(self, sql: str, params: Sequence[object] = ()) -> None: ...
    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...
    async def fetchone(self, sql: str, params: Sequence[object] = ()) -> Row | None: ...
    async def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...


class SqlRepository:
    """A repository over the transaction's connection (one per aggregate, see the modules beside)."""

    __slots__ = ("db",)

    def __init__(self, db: SqlConnection) -> None:
        self.db = db
